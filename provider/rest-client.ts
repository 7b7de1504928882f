/**
 * createRestProvider(): a Provider backed by any faas-provider over HTTP
 * (faasd, faas-netes, or our own serveProvider), per shared/spec/gateway-api.md §8.
 * Status codes are mapped back onto ProviderError codes so callers cannot tell
 * a remote provider from a local one, and invocations go through the remote
 * provider's own /function route (one endpoint, the provider load-balances).
 */
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as PoolType } from 'undici';
import type { Provider } from './provider.js';
import type {
  FunctionDeployment,
  FunctionNamespace,
  FunctionStatus,
  InvokeEndpoint,
  LogMessage,
  LogRequest,
  ProviderInfo,
  Secret,
} from './types.js';
import { ProviderError, type ProviderErrorCode } from './errors.js';
import { DEFAULT_NAMESPACE } from './names.js';

/**
 * undici's Pool and its request() alone, as provider/proxy.ts does for Agent:
 * the package index also loads fetch, WebSocket, the cache and mocks. The
 * index only attaches api-request to Dispatcher.prototype, so calling it with
 * the pool as `this` is the same call. Paths are stable within undici 7.
 */
const undiciRequire = createRequire(import.meta.url);
const Pool = undiciRequire('undici/lib/dispatcher/pool.js') as typeof PoolType;
const poolRequest = undiciRequire('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

export interface RestProviderOptions {
  /** e.g. `http://127.0.0.1:8081` or `http://faas-netes:8080/` (a path prefix is kept). */
  baseUrl: string;
  /** Basic auth sent on every request. */
  credentials?: { user: string; password: string };
  /** Deadline for response headers and between body chunks (not for followed logs). Default 30 s. */
  timeoutMs?: number;
  /** Otherwise the first entry of the remote's /system/namespaces, else `openfaas-fn`. */
  defaultNamespace?: string;
}

export const DEFAULT_REST_TIMEOUT_MS = 30_000;

/** Remote status → our error code. */
export function errorCodeForStatus(status: number): ProviderErrorCode {
  if (status === 400 || status === 422) return 'INVALID';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'ALREADY_EXISTS';
  if (status === 405 || status === 501) return 'UNSUPPORTED';
  if (status === 502 || status === 503 || status === 504) return 'UNAVAILABLE';
  return 'BACKEND';
}

interface Call {
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** 0 disables the body timeout (followed log streams). */
  bodyTimeout?: number;
}

type Response = Dispatcher.ResponseData;

export function createRestProvider(opts: RestProviderOptions): Provider {
  return new RestProvider(opts);
}

class RestProvider implements Provider {
  readonly #pool: PoolType;
  readonly #basePath: string;
  readonly #baseUrl: string;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  #defaultNamespace: string;
  #discovered: boolean;
  #discovery: Promise<void> | undefined;

  constructor(opts: RestProviderOptions) {
    const url = new URL(opts.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw ProviderError.invalid(`baseUrl ${JSON.stringify(opts.baseUrl)} must be an http(s) URL`);
    }
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#baseUrl = url.origin + this.#basePath;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS;
    this.#pool = new Pool(url.origin, {
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connectTimeout: this.#timeoutMs,
    });
    this.#auth = opts.credentials
      ? 'Basic ' + Buffer.from(`${opts.credentials.user}:${opts.credentials.password}`).toString('base64')
      : undefined;
    this.#defaultNamespace = opts.defaultNamespace || DEFAULT_NAMESPACE;
    this.#discovered = Boolean(opts.defaultNamespace);
  }

  get defaultNamespace(): string {
    return this.#defaultNamespace;
  }

  // --- transport -------------------------------------------------------------

  async #send(call: Call): Promise<Response> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined && v !== '') qs.set(k, v);
    const search = qs.toString();
    const headers: Record<string, string> = { 'User-Agent': 'faas-ts-rest-provider' };
    if (this.#auth) headers.authorization = this.#auth;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await poolRequest.call(this.#pool, {
        method: call.method,
        path: this.#basePath + call.path + (search ? `?${search}` : ''),
        headers,
        body,
        signal: call.signal,
        ...(call.bodyTimeout !== undefined ? { bodyTimeout: call.bodyTimeout } : {}),
      });
    } catch (err) {
      if (call.signal?.aborted) throw err;
      throw new ProviderError('UNAVAILABLE', `${call.method} ${call.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads the body as text; on a non-2xx status throws the mapped ProviderError. */
  async #call(call: Call): Promise<{ status: number; text: string }> {
    const res = await this.#send(call);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      // The head arrived but the body stalled (body timeout) or was cut: the
      // provider is as unavailable as when the head never came.
      if (call.signal?.aborted) throw err;
      throw new ProviderError('UNAVAILABLE', `${call.method} ${call.path}: ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, text };
    throw httpError(call, res.statusCode, text);
  }

  async #json<T>(call: Call): Promise<T> {
    const { text } = await this.#call(call);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ProviderError('BACKEND', `${call.method} ${call.path}: response is not JSON`, { cause: err });
    }
  }

  /** Learn the remote default namespace once; transport failures leave it to a later call. */
  async #discover(): Promise<void> {
    if (this.#discovered) return;
    this.#discovery ??= (async () => {
      try {
        const res = await this.#send({ method: 'GET', path: '/system/namespaces' });
        const text = await res.body.text();
        this.#discovered = true;
        if (res.statusCode !== 200) return;
        const list = text.trim() ? (JSON.parse(text) as unknown) : [];
        if (Array.isArray(list) && typeof list[0] === 'string' && list[0]) this.#defaultNamespace = list[0];
      } catch {
        // unreachable (ask again next call) or not JSON (keep the fallback)
      } finally {
        this.#discovery = undefined;
      }
    })();
    await this.#discovery;
  }

  // --- functions -------------------------------------------------------------

  async deploy(spec: FunctionDeployment): Promise<void> {
    await this.#discover();
    try {
      await this.#call({ method: 'POST', path: '/system/functions', body: spec });
    } catch (err) {
      // Upstream providers refuse POST over an existing function; our contract updates it.
      if (!ProviderError.is(err, 'ALREADY_EXISTS')) throw err;
      await this.update(spec);
    }
  }

  async update(spec: FunctionDeployment): Promise<void> {
    await this.#discover();
    await this.#call({ method: 'PUT', path: '/system/functions', body: spec });
  }

  async remove(name: string, namespace?: string): Promise<void> {
    await this.#discover();
    const body: { functionName: string; namespace?: string } = { functionName: name };
    if (namespace) body.namespace = namespace;
    await this.#call({ method: 'DELETE', path: '/system/functions', query: { namespace }, body });
  }

  async list(namespace?: string): Promise<FunctionStatus[]> {
    await this.#discover();
    const list = await this.#json<FunctionStatus[] | null>({
      method: 'GET',
      path: '/system/functions',
      query: { namespace },
    });
    return list ?? [];
  }

  async get(name: string, namespace?: string): Promise<FunctionStatus | undefined> {
    await this.#discover();
    try {
      return await this.#json<FunctionStatus>({
        method: 'GET',
        path: `/system/function/${encodeURIComponent(name)}`,
        query: { namespace, usage: 'false' },
      });
    } catch (err) {
      if (ProviderError.is(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    await this.#discover();
    const body: { serviceName: string; replicas: number; namespace?: string } = { serviceName: name, replicas };
    if (namespace) body.namespace = namespace;
    await this.#call({
      method: 'POST',
      path: `/system/scale-function/${encodeURIComponent(name)}`,
      query: { namespace },
      body,
    });
  }

  /**
   * The remote provider's own invocation route, which picks the replica itself.
   * One entry per ready replica (all the same route, ids `provider-1..N`) so the
   * count still reads as "ready replicas"; empty while none is ready.
   */
  async endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]> {
    const status = await this.get(name, namespace);
    if (!status) throw ProviderError.notFound(`function ${name}`);
    const ready = status.availableReplicas ?? 0;
    const ns = status.namespace || namespace || this.#defaultNamespace;
    const pathPrefix = `/function/${name}.${ns}`;
    return Array.from({ length: ready }, (_, i) => ({ id: `provider-${i + 1}`, baseUrl: this.#baseUrl, pathPrefix }));
  }

  // --- secrets ---------------------------------------------------------------

  async listSecrets(namespace?: string): Promise<Secret[]> {
    await this.#discover();
    const list = await this.#json<Secret[] | null>({ method: 'GET', path: '/system/secrets', query: { namespace } });
    return (list ?? []).map((s) => (s.namespace ? { name: s.name, namespace: s.namespace } : { name: s.name }));
  }

  async createSecret(secret: Secret): Promise<void> {
    await this.#discover();
    await this.#call({ method: 'POST', path: '/system/secrets', query: { namespace: secret.namespace }, body: secret });
  }

  async updateSecret(secret: Secret): Promise<void> {
    await this.#discover();
    await this.#call({ method: 'PUT', path: '/system/secrets', query: { namespace: secret.namespace }, body: secret });
  }

  async deleteSecret(name: string, namespace?: string): Promise<void> {
    await this.#discover();
    const body: Secret = namespace ? { name, namespace } : { name };
    await this.#call({ method: 'DELETE', path: '/system/secrets', query: { namespace }, body });
  }

  // --- namespaces ------------------------------------------------------------

  async namespaces(): Promise<string[]> {
    await this.#discover();
    try {
      const text = (await this.#call({ method: 'GET', path: '/system/namespaces' })).text;
      const list = text.trim() ? (JSON.parse(text) as unknown) : [];
      if (!Array.isArray(list)) throw new ProviderError('BACKEND', '/system/namespaces did not return an array');
      const names = list.filter((n): n is string => typeof n === 'string' && n !== '');
      return names.length ? names : [this.#defaultNamespace];
    } catch (err) {
      // A provider without namespace support answers 404 (§1.10).
      if (ProviderError.is(err, 'NOT_FOUND')) return [this.#defaultNamespace];
      if (err instanceof SyntaxError) throw new ProviderError('BACKEND', '/system/namespaces: response is not JSON');
      throw err;
    }
  }

  async getNamespace(name: string): Promise<FunctionNamespace | undefined> {
    try {
      return await this.#json<FunctionNamespace>({
        method: 'GET',
        path: `/system/namespace/${encodeURIComponent(name)}`,
      });
    } catch (err) {
      if (ProviderError.is(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async createNamespace(ns: FunctionNamespace): Promise<void> {
    // faas-cli's form: the name travels in the body, the path ends in '/'.
    await this.#call({ method: 'POST', path: '/system/namespace/', body: ns });
  }

  async updateNamespace(ns: FunctionNamespace): Promise<void> {
    await this.#call({ method: 'PUT', path: `/system/namespace/${encodeURIComponent(ns.name)}`, body: ns });
  }

  async deleteNamespace(name: string): Promise<void> {
    await this.#call({ method: 'DELETE', path: `/system/namespace/${encodeURIComponent(name)}` });
  }

  // --- logs, info, health ----------------------------------------------------

  logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    return this.#logs(req, signal);
  }

  async *#logs(req: LogRequest, signal: AbortSignal): AsyncGenerator<LogMessage> {
    if (signal.aborted) return;
    const call: Call = {
      method: 'GET',
      path: '/system/logs',
      query: {
        name: req.name,
        namespace: req.namespace,
        instance: req.instance,
        tail: req.tail !== undefined && req.tail !== 0 ? String(req.tail) : undefined,
        since: req.since ? req.since.toISOString() : undefined,
        follow: req.follow ? 'true' : 'false',
      },
      signal,
      bodyTimeout: req.follow ? 0 : this.#timeoutMs,
    };
    let res: Response;
    try {
      res = await this.#send(call);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw httpError(call, res.statusCode, text);
    }
    try {
      yield* parseNdjson(res.body);
    } catch (err) {
      if (signal.aborted) return;
      if (ProviderError.is(err)) throw err;
      throw new ProviderError('UNAVAILABLE', `log stream failed: ${(err as Error).message}`, { cause: err });
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  async info(): Promise<ProviderInfo> {
    return this.#json<ProviderInfo>({ method: 'GET', path: '/system/info' });
  }

  async health(): Promise<void> {
    const res = await this.#send({ method: 'GET', path: '/healthz' });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new ProviderError('UNAVAILABLE', `healthz answered ${res.statusCode}: ${text.trim()}`);
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

function httpError(call: Call, status: number, text: string): ProviderError {
  const body = text.trim();
  const message = body || `${call.method} ${call.path} answered ${status}`;
  return new ProviderError(errorCodeForStatus(status), message);
}

function toLogMessage(line: string): LogMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new ProviderError('BACKEND', `log stream line is not JSON: ${line.slice(0, 200)}`, { cause: err });
  }
  const o = (v ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
  return {
    name: str('name'),
    namespace: str('namespace'),
    instance: str('instance'),
    timestamp: str('timestamp'),
    text: str('text'),
  };
}

/** Incremental NDJSON: yields each message as soon as its newline arrives. */
export async function* parseNdjson(body: AsyncIterable<Buffer | string>): AsyncGenerator<LogMessage> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield toLogMessage(line);
    }
  }
  buf += decoder.decode();
  if (buf.trim()) yield toLogMessage(buf.trim());
}
