/**
 * Client for parent gateways: forwards one call (`/function/...` or
 * `/async-function/...`) to a parent and streams the answer into the
 * client's response. One undici Agent for every parent, with a short connect
 * deadline so a parent that is down fails fast instead of hanging the call.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rootCertificates } from 'node:tls';
import { createRequire } from 'node:module';
import type { Agent } from 'undici';
import { HOP_BY_HOP_HEADERS } from '../../provider/index.js';
import type { OffloadConfig } from './config.js';
import { HOPS_HEADER, OFFLOAD_HEADER, PATH_HEADER, outgoingHops, type Hops } from './hops.js';

/** Request headers never copied upward: hop-by-hop ones, and the hop headers (rewritten by each layer). */
const REQUEST_DROP = new Set([...HOP_BY_HOP_HEADERS, 'host', 'expect', HOPS_HEADER, PATH_HEADER]);

export interface ParentCall {
  /** Parent base URL, no trailing slash. */
  readonly baseUrl: string;
  /** Path + query on the parent, e.g. `/function/fn.ns/a?b=1`. */
  readonly path: string;
  /** The client's request (method and headers; also the body unless `body` is given). */
  readonly req: IncomingMessage;
  /** Buffered body to send instead of streaming `req`; null = no body. */
  readonly body?: Buffer | null;
  readonly hops: Hops;
  /** `layer=reason` added in front of the parent's X-Faas-Ts-Offload. */
  readonly offloadEntry: string;
}

export type ParentResult =
  /** The parent answered; its status was sent to the client (`error` if the body broke off). */
  | { readonly answered: true; readonly statusCode: number; readonly error?: Error }
  /** No answer; nothing was written to `res`. `resendable` is false when the request body was (partly) consumed. */
  | { readonly answered: false; readonly error: Error; readonly resendable: boolean };

export interface ParentClient {
  forward(call: ParentCall, res: ServerResponse): Promise<ParentResult>;
  /** The connection pool (also used for the buffered local attempt of retry-safe calls). */
  readonly agent: Agent;
  close(): Promise<void>;
}

/**
 * End-to-end request headers for an upstream call: hop-by-hop headers and our
 * hop headers dropped, X-Forwarded-* added, `content-length` set for a
 * buffered body, Authorization replaced when credentials are given, and the
 * hop headers of the next layer when `hop` is given.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  body: Buffer | null | undefined,
  authorization: string | undefined,
  hop: { count: string; path: string } | undefined,
): Record<string, string | string[]> {
  const call = { req, body };
  const conn = req.headers.connection;
  const tokens = conn ? conn.toLowerCase().split(',').map((s) => s.trim()) : [];
  const out: Record<string, string | string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (REQUEST_DROP.has(lower) || tokens.includes(lower)) continue;
    if (authorization !== undefined && lower === 'authorization') continue;
    if (call.body !== undefined && lower === 'content-length') continue;
    const prev = out[lower];
    out[lower] = prev === undefined ? raw[i + 1]! : [...[prev].flat(), raw[i + 1]!];
  }
  if (out['x-forwarded-host'] === undefined && req.headers.host) out['x-forwarded-host'] = req.headers.host;
  const addr = req.socket.remoteAddress;
  if (addr) {
    const prev = out['x-forwarded-for'];
    out['x-forwarded-for'] = prev === undefined ? addr : `${[prev].flat().join(', ')}, ${addr}`;
  }
  if (authorization !== undefined) out.authorization = authorization;
  if (call.body) out['content-length'] = String(call.body.length);
  if (hop) {
    out[HOPS_HEADER] = hop.count;
    out[PATH_HEADER] = hop.path;
  }
  return out;
}

/** Response headers to relay: hop-by-hop dropped; `entry` (when given) put in front of X-Faas-Ts-Offload. */
export function relayHeaders(headers: Record<string, string | string[] | undefined>, entry?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP_HEADERS.has(k)) continue;
    out[k] = v;
  }
  if (entry !== undefined) {
    const prev = out[OFFLOAD_HEADER];
    out[OFFLOAD_HEADER] = prev === undefined ? entry : `${entry}, ${[prev].flat().join(', ')}`;
  }
  return out;
}

/**
 * The client's body as a stream that starts reading `req` only when undici
 * pulls from it (after the connection is up), and that undici may destroy on
 * failure without destroying `req` (undici destroys a failed request's body
 * stream, which would take the client's socket with it). So a parent that
 * cannot be reached leaves the body untouched for the local fallback.
 */
function lazyBody(req: IncomingMessage): Readable {
  let attached = false;
  const onData = (chunk: Buffer) => {
    if (!body.push(chunk)) req.pause();
  };
  const onEnd = () => body.push(null);
  const onError = (err: Error) => body.destroy(err);
  const body = new Readable({
    read() {
      if (!attached) {
        attached = true;
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', onError);
      }
      req.resume();
    },
    destroy(err, callback) {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      callback(err);
    },
  });
  return body;
}

export function createParentClient(config: OffloadConfig): ParentClient {
  const ca = config.caFile ? readFileSync(config.caFile, 'utf8') : undefined;
  let authorization: string | undefined;
  if (config.user !== undefined && config.passwordFile !== undefined) {
    const password = readFileSync(config.passwordFile, 'utf8').trim();
    authorization = `Basic ${Buffer.from(`${config.user}:${password}`).toString('base64')}`;
  }
  // Loaded here, not by an import: a bundler would hoist a static import of the
  // whole undici package (about 8 MB of RSS) into gateways without a parent.
  const { Agent: UndiciAgent } = createRequire(import.meta.url)('undici') as typeof import('undici');
  const agent: Agent = new UndiciAgent({
    // A custom `ca` replaces node's bundled roots: the CA file adds to them instead.
    connect: { timeout: config.connectTimeoutMs, ...(ca ? { ca: [...rootCertificates, ca] } : {}) },
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    keepAliveTimeout: 30_000,
  });

  async function forward(call: ParentCall, res: ServerResponse): Promise<ParentResult> {
    const { req } = call;
    const method = req.method ?? 'GET';
    const hasStreamBody = call.body === undefined && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new Error('client closed the connection'));
    };
    res.once('close', onClose);
    try {
      let upstream;
      try {
        upstream = await agent.request({
          origin: call.baseUrl,
          path: new URL(call.baseUrl).pathname.replace(/\/+$/, '') + call.path,
          method: method as 'GET',
          headers: upstreamHeaders(req, call.body, authorization, outgoingHops(call.hops, config.layer)),
          body: call.body !== undefined ? call.body : hasStreamBody ? lazyBody(req) : null,
          signal: ac.signal,
        });
      } catch (err) {
        const resendable = call.body !== undefined || !hasStreamBody || !req.readableDidRead;
        return { answered: false, error: err as Error, resendable };
      }
      if (res.destroyed) {
        upstream.body.destroy();
        return { answered: true, statusCode: upstream.statusCode, error: new Error('client closed the connection') };
      }
      res.writeHead(upstream.statusCode, relayHeaders(upstream.headers, call.offloadEntry));
      try {
        await pipeline(upstream.body, res);
        return { answered: true, statusCode: upstream.statusCode };
      } catch (err) {
        res.destroy();
        return { answered: true, statusCode: upstream.statusCode, error: err as Error };
      }
    } finally {
      res.removeListener('close', onClose);
    }
  }

  return {
    forward,
    agent,
    close: () => agent.close(),
  };
}
