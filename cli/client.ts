/**
 * A small OpenFaaS gateway client for the faas-ts client commands (list,
 * deploy, invoke, ...): the same routes and bodies faas-cli uses
 * (spec/cli-and-certifier.md §3). Non-success answers become CLI_ERR_GATEWAY
 * errors carrying the status and the gateway's text.
 */
import type { FunctionDeployment, FunctionStatus, LogMessage, Secret } from '../provider/index.js';
import { CliError } from './errors.js';

export interface GatewayClientOptions {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash needed). */
  url: string;
  credentials?: { user: string; password: string };
  /** Per request, for management calls. Default 60 s (faas-cli's deploy timeout). */
  timeoutMs?: number;
}

export interface InvokeOptions {
  method?: string;
  body?: Uint8Array;
  headers?: Record<string, string>;
  query?: URLSearchParams;
  async?: boolean;
  namespace?: string;
}

export interface GatewayClient {
  readonly url: string;
  list(namespace?: string): Promise<FunctionStatus[]>;
  /** GET /system/namespaces (faas-cli `namespace list`); an empty body reads as []. */
  namespaces(): Promise<string[]>;
  /** undefined on 404. */
  describe(name: string, namespace?: string): Promise<FunctionStatus | undefined>;
  /** faas-cli's deploy: PUT, and POST when the PUT answers 404. Returns the final status. */
  deploy(spec: FunctionDeployment): Promise<{ status: number; created: boolean }>;
  remove(name: string, namespace?: string): Promise<void>;
  invoke(name: string, opts?: InvokeOptions): Promise<Response>;
  logs(params: { name: string; namespace?: string; follow?: boolean; tail?: number; since?: string }, signal?: AbortSignal): AsyncIterable<LogMessage>;
  listSecrets(namespace?: string): Promise<Secret[]>;
  createSecret(secret: Secret): Promise<void>;
  updateSecret(secret: Secret): Promise<void>;
  removeSecret(name: string, namespace?: string): Promise<void>;
  /** Status of GET /system/functions with the given credentials (login's check). */
  checkCredentials(): Promise<number>;
}

async function errorFor(res: Response, what: string): Promise<CliError> {
  const text = (await res.text().catch(() => '')).trim();
  const hint = res.status === 401 ? ' (unauthorized: run `faas-ts login`, or start the gateway with `faas-ts up` on this machine)' : '';
  return new CliError('CLI_ERR_GATEWAY', `${what}: ${res.status}${text ? ` ${text}` : ''}${hint}`);
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const base = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const auth = opts.credentials
    ? `Basic ${Buffer.from(`${opts.credentials.user}:${opts.credentials.password}`).toString('base64')}`
    : undefined;

  async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ?? AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
    } catch (err) {
      throw new CliError('CLI_ERR_GATEWAY', `cannot reach the gateway at ${base}: ${(err as Error).message}`, { cause: err });
    }
  }

  const ns = (namespace?: string) => (namespace ? `?namespace=${encodeURIComponent(namespace)}` : '');

  return {
    url: base,
    async list(namespace) {
      const res = await call('GET', `/system/functions${ns(namespace)}`);
      if (res.status !== 200) throw await errorFor(res, 'list functions');
      return ((await res.json()) as FunctionStatus[] | null) ?? [];
    },
    async namespaces() {
      const res = await call('GET', '/system/namespaces');
      if (res.status !== 200) throw await errorFor(res, 'list namespaces');
      const text = await res.text();
      return text.trim() === '' ? [] : ((JSON.parse(text) as string[] | null) ?? []);
    },
    async describe(name, namespace) {
      const res = await call('GET', `/system/function/${encodeURIComponent(name)}${ns(namespace)}`);
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (res.status !== 200) throw await errorFor(res, `describe ${name}`);
      return (await res.json()) as FunctionStatus;
    },
    async deploy(spec) {
      let res = await call('PUT', '/system/functions', spec);
      let created = false;
      if (res.status === 404) {
        await res.body?.cancel();
        res = await call('POST', '/system/functions', spec);
        created = true;
      }
      if (res.status !== 200 && res.status !== 202) throw await errorFor(res, `deploy ${spec.service}`);
      await res.body?.cancel();
      return { status: res.status, created };
    },
    async remove(name, namespace) {
      const res = await call('DELETE', '/system/functions', namespace ? { functionName: name, namespace } : { functionName: name });
      if (res.status === 404) throw new CliError('CLI_ERR_GATEWAY', `no function ${name} to remove`);
      if (res.status < 200 || res.status > 202) throw await errorFor(res, `remove ${name}`);
      await res.body?.cancel();
    },
    async invoke(name, o = {}) {
      const target = o.namespace ? `${name}.${o.namespace}` : name;
      const query = o.query && [...o.query].length > 0 ? `?${o.query.toString()}` : '';
      try {
        return await fetch(`${base}/${o.async ? 'async-function' : 'function'}/${target}${query}`, {
          method: o.method ?? 'POST',
          headers: o.headers,
          body: o.body && o.method !== 'GET' && o.method !== 'HEAD' ? o.body : undefined,
          redirect: 'follow',
        });
      } catch (err) {
        throw new CliError('CLI_ERR_GATEWAY', `cannot reach the gateway at ${base}: ${(err as Error).message}`, { cause: err });
      }
    },
    async *logs(p, signal) {
      const q = new URLSearchParams({ name: p.name, follow: String(Boolean(p.follow)) });
      if (p.namespace) q.set('namespace', p.namespace);
      if (p.tail !== undefined) q.set('tail', String(p.tail));
      if (p.since) q.set('since', p.since);
      const res = await call('GET', `/system/logs?${q.toString()}`, undefined, signal ?? new AbortController().signal);
      if (res.status !== 200) throw await errorFor(res, `logs of ${p.name}`);
      let buffered = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) yield JSON.parse(line) as LogMessage;
        }
      }
      if (buffered.trim()) yield JSON.parse(buffered) as LogMessage;
    },
    async listSecrets(namespace) {
      const res = await call('GET', `/system/secrets${ns(namespace)}`);
      if (res.status !== 200 && res.status !== 202) throw await errorFor(res, 'list secrets');
      return ((await res.json()) as Secret[] | null) ?? [];
    },
    async createSecret(secret) {
      const res = await call('POST', '/system/secrets', secret);
      if (res.status === 409) throw new CliError('CLI_ERR_GATEWAY', `secret ${secret.name} already exists (use \`secret update\`)`);
      if (res.status < 200 || res.status > 202) throw await errorFor(res, `create secret ${secret.name}`);
      await res.body?.cancel();
    },
    async updateSecret(secret) {
      const res = await call('PUT', '/system/secrets', secret);
      if (res.status === 404) throw new CliError('CLI_ERR_GATEWAY', `no secret ${secret.name} to update`);
      if (res.status < 200 || res.status > 202) throw await errorFor(res, `update secret ${secret.name}`);
      await res.body?.cancel();
    },
    async removeSecret(name, namespace) {
      const res = await call('DELETE', '/system/secrets', namespace ? { name, namespace } : { name });
      if (res.status === 404) throw new CliError('CLI_ERR_GATEWAY', `no secret ${name} to remove`);
      if (res.status < 200 || res.status > 202) throw await errorFor(res, `remove secret ${name}`);
      await res.body?.cancel();
    },
    async checkCredentials() {
      const res = await call('GET', '/system/functions');
      await res.body?.cancel();
      return res.status;
    },
  };
}
