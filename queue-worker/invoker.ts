/**
 * HTTP side of the worker: invoke a function through the gateway's
 * /function route and post the result to X-Callback-Url (spec §1.4, §3.4).
 */
import { Agent, Pool, request, type Dispatcher } from 'undici';
import { HOP_BY_HOP_HEADERS } from '../provider/index.js';

export interface InvokeRequest {
  function: string;
  /** `/function/NAME/rest?query` (see invocationPath). */
  path: string;
  headers: Record<string, string[]>;
  body: Buffer;
  signal: AbortSignal;
}

export interface InvokeResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Throws on transport errors (no response); resolves with any HTTP status. */
export type Invoke = (req: InvokeRequest) => Promise<InvokeResult>;

export interface HttpInvoker {
  invoke: Invoke;
  close(): Promise<void>;
}

// Never forwarded: connection-level headers, and lengths the client recomputes.
const DROP: ReadonlySet<string> = new Set([...HOP_BY_HOP_HEADERS, 'host', 'content-length', 'expect']);

export const WORKER_USER_AGENT = 'faas-ts/queue-worker';

function flatHeaders(headers: Record<string, string | string[] | undefined>, extra: Record<string, string>): string[] {
  const out: string[] = [];
  const overridden = new Set(Object.keys(extra).map((k) => k.toLowerCase()));
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (DROP.has(lower) || overridden.has(lower) || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  for (const [name, v] of Object.entries(extra)) out.push(name, v);
  return out;
}

/** Invoke through `POST {gatewayUrl}{path}` with the stored headers and body. */
export function createGatewayInvoker(
  gatewayUrl: string,
  opts: { connections?: number; /** TLS options for an https gateway (e.g. a pinned certificate). */ connect?: Pool.Options['connect'] } = {},
): HttpInvoker {
  const origin = new URL(gatewayUrl).origin;
  const pool = new Pool(origin, { connections: opts.connections ?? 64, pipelining: 1, ...(opts.connect ? { connect: opts.connect } : {}) });
  return {
    async invoke(req) {
      const res = await request(origin + req.path, {
        dispatcher: pool,
        method: 'POST',
        headers: flatHeaders(req.headers, { 'User-Agent': WORKER_USER_AGENT }),
        body: req.body,
        signal: req.signal,
        // A function's own timeout governs; the worker bounds it with its signal.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body };
    },
    close: () => pool.close(),
  };
}

export interface CallbackPayload {
  url: string;
  functionName: string;
  callId: string | undefined;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  durationSeconds: number;
}

export interface Callbacks {
  /** Post once (plus `attempts - 1` quick retries on connection errors or 5xx); never throws. */
  post(payload: CallbackPayload): Promise<{ ok: boolean; status?: number; error?: string }>;
  close(): Promise<void>;
}

export function createCallbacks(opts: { timeoutMs: number; attempts?: number; retryDelayMs?: number }): Callbacks {
  const agent: Dispatcher = new Agent({ connections: 64, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 200;
  return {
    async post(p) {
      const extra: Record<string, string> = {
        'X-Duration-Seconds': p.durationSeconds.toFixed(6),
        'X-Function-Status': String(p.status),
        'X-Function-Name': p.functionName,
      };
      if (p.callId !== undefined) extra['X-Call-Id'] = p.callId;
      let last: { ok: boolean; status?: number; error?: string } = { ok: false };
      for (let i = 0; i < attempts; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (i - 1)));
        try {
          const res = await request(p.url, {
            dispatcher: agent,
            method: 'POST',
            headers: flatHeaders(p.headers, extra),
            body: p.body,
            signal: AbortSignal.timeout(opts.timeoutMs),
          });
          await res.body.dump();
          last = { ok: res.statusCode < 400, status: res.statusCode };
          if (res.statusCode < 500) return last;
        } catch (err) {
          last = { ok: false, error: (err as Error).message };
        }
      }
      return last;
    },
    close: () => agent.close(),
  };
}
