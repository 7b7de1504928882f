/**
 * The connectors' only way into faas-ts: the gateway's HTTP API. Lists
 * functions (basic auth, every namespace) and invokes them over
 * /function/NAME.NS or /async-function/NAME.NS.
 */
import { Agent, request } from 'undici';
import type { FunctionStatus } from '../provider/index.js';
import { ConnectorError, ConnectorErrorCodes } from './errors.js';

export interface GatewayClientOptions {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Basic-auth credentials for /system/*; omit when the gateway runs without auth. */
  credentials?: { user: string; password: string } | undefined;
  /** Per-request timeout for invocations (ms). */
  invokeTimeoutMs?: number;
  /** Connections kept per gateway origin. */
  connections?: number;
}

export interface InvokeRequest {
  /** NAME or NAME.NS */
  fn: string;
  async?: boolean;
  method?: string;
  /** Extra path after the function name, starting with '/' (or empty). */
  path?: string;
  /** Raw query string without '?'. */
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer | undefined;
}

export interface InvokeResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface GatewayClient {
  /** Every function in every namespace the gateway lists. */
  listFunctions(): Promise<FunctionStatus[]>;
  invoke(req: InvokeRequest): Promise<InvokeResult>;
  close(): Promise<void>;
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const base = opts.url.replace(/\/+$/, '');
  const agent = new Agent({ connections: opts.connections ?? 64, keepAliveTimeout: 30_000 });
  const auth = opts.credentials
    ? `Basic ${Buffer.from(`${opts.credentials.user}:${opts.credentials.password}`).toString('base64')}`
    : undefined;
  const invokeTimeoutMs = opts.invokeTimeoutMs ?? 60_000;

  async function systemGet(path: string): Promise<{ status: number; text: string }> {
    try {
      const res = await request(base + path, {
        dispatcher: agent,
        headers: auth ? { authorization: auth } : {},
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      throw new ConnectorError(ConnectorErrorCodes.GATEWAY_UNREACHABLE, `GET ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    async listFunctions() {
      let namespaces: string[] = [''];
      const ns = await systemGet('/system/namespaces');
      if (ns.status === 200) {
        const parsed = JSON.parse(ns.text) as unknown;
        if (Array.isArray(parsed) && parsed.length > 0) namespaces = parsed.map(String);
      } else if (ns.status !== 404 && ns.status !== 501) {
        throw new ConnectorError(ConnectorErrorCodes.GATEWAY_STATUS, `GET /system/namespaces answered ${ns.status}: ${ns.text.slice(0, 200)}`);
      }
      const all: FunctionStatus[] = [];
      for (const n of namespaces) {
        const path = n ? `/system/functions?namespace=${encodeURIComponent(n)}` : '/system/functions';
        const res = await systemGet(path);
        if (res.status !== 200) {
          throw new ConnectorError(ConnectorErrorCodes.GATEWAY_STATUS, `GET ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
        }
        const list = JSON.parse(res.text) as FunctionStatus[];
        for (const f of list) all.push(n && !f.namespace ? { ...f, namespace: n } : f);
      }
      return all;
    },

    async invoke(req) {
      const route = req.async ? 'async-function' : 'function';
      const url = `${base}/${route}/${req.fn}${req.path ?? ''}${req.query ? `?${req.query}` : ''}`;
      try {
        const res = await request(url, {
          dispatcher: agent,
          method: (req.method ?? 'POST') as 'POST',
          headers: req.headers ?? {},
          body: req.body && req.body.length > 0 ? req.body : req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.alloc(0),
          headersTimeout: invokeTimeoutMs,
          bodyTimeout: invokeTimeoutMs,
        });
        const body = Buffer.from(await res.body.arrayBuffer());
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        return { status: res.statusCode, headers, body };
      } catch (err) {
        throw new ConnectorError(ConnectorErrorCodes.GATEWAY_UNREACHABLE, `${req.method ?? 'POST'} /${route}/${req.fn}: ${(err as Error).message}`, { cause: err });
      }
    },

    async close() {
      await agent.close();
    },
  };
}
