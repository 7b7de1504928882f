/**
 * Invocation proxy shared by the gateway and the faas-provider REST server.
 *
 * It forwards one client request (node's IncomingMessage/ServerResponse, so
 * any framework that exposes the raw objects can use it) to one ready replica
 * of a function, streaming the body both ways without buffering:
 *
 *   const proxy = createInvocationProxy({ upstreamTimeoutMs: 60_000 });
 *   const result = await proxy.forward(req, res, { endpoints, path: '/a/b?q=1' });
 *
 * The replica is chosen by least in-flight requests (ties rotate). Connections
 * are kept alive in an undici pool per replica. When a replica refuses the
 * connection before any of the request body was read, another ready replica is
 * tried. Failures before response headers answer 502 with an empty body;
 * failures after headers truncate the response (the socket is destroyed).
 *
 * Full duplex: undici writes a request's head only together with its first
 * body chunk, so a client that sends headers and then waits for the function
 * to speak first (a streaming-mode function printing a prompt) would never
 * reach the replica. Requests whose body has not started arriving when they
 * are forwarded therefore go through node:http (head flushed at once, body
 * piped as it comes); everything else, the hot path, uses undici.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Agent as AgentType, Dispatcher } from 'undici';
import type { InvokeEndpoint } from './types.js';
import { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';

export interface InvocationProxyOptions {
  /** Deadline for connect + response headers + response body, in ms. */
  upstreamTimeoutMs: number;
  /** Maximum sockets per replica (upstream `max_idle_conns_per_host`). Default 1024. */
  maxConnectionsPerEndpoint?: number;
  /** Idle keep-alive time of pooled sockets, in ms (upstream 90 s). Replica hints may shorten it. */
  keepAliveTimeoutMs?: number;
  /**
   * When set, add the gateway's call headers (spec §3.1): `X-Call-Id` (generated
   * when absent, then echoed in the response), `X-Start-Time` (Unix ns) on the
   * request and response, and `X-Served-By` on the response.
   */
  callHeaders?: { servedBy: string };
  /** `User-Agent` sent upstream when the client sent none. */
  userAgent?: string;
}

export interface ForwardOptions {
  /** Ready replicas of the function; one is picked per request. */
  endpoints: readonly InvokeEndpoint[];
  /** Function-relative path plus query, starting with `/` (e.g. `/a/b?q=1`). */
  path: string;
  /** Request arrival as Unix nanoseconds (decimal string); default now. */
  startTime?: string;
}

export interface ForwardResult {
  /** Status the client received: the function's, or 502/503 when no replica answered. */
  statusCode: number;
  /** The replica that answered (or the last one tried). */
  endpoint?: InvokeEndpoint;
  /** Transport error, when one happened (also when the response was truncated). */
  error?: Error;
}

export interface InvocationProxy {
  /** Forward and stream the response into `res`. Never rejects; resolves when the exchange ends. */
  forward(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): Promise<ForwardResult>;
  /** Requests currently in flight to a replica (by its baseUrl). */
  inFlight(endpoint: InvokeEndpoint): number;
  close(): Promise<void>;
}

/**
 * undici's Agent alone: the package index also loads fetch, WebSocket, the
 * cache and mocks (about 8 MB of RSS) that the proxy never uses. The path is
 * stable within undici 7 (the version is pinned by the lockfile).
 */
const Agent = createRequire(import.meta.url)('undici/lib/dispatcher/agent.js') as typeof AgentType;

/** Errors that mean the replica never saw the request, so another one may be tried. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

class UpstreamTimeoutError extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
  constructor(ms: number) {
    super(`upstream did not complete within ${ms}ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

class ClientGoneError extends Error {
  readonly code = 'CLIENT_CLOSED';
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** Split `http://h:p/base` into origin and path base once per call (cheap string ops). */
function splitBaseUrl(baseUrl: string): { origin: string; base: string } {
  const schemeEnd = baseUrl.indexOf('://');
  const slash = baseUrl.indexOf('/', schemeEnd < 0 ? 0 : schemeEnd + 3);
  if (slash < 0) return { origin: baseUrl, base: '' };
  let base = baseUrl.slice(slash);
  if (base.endsWith('/')) base = base.slice(0, -1);
  return { origin: baseUrl.slice(0, slash), base };
}

function hasRequestBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const len = h['content-length'];
  return len !== undefined && len !== '0';
}

/**
 * True when the request has a body none of which has arrived yet: undici
 * would hold the request head back until it does.
 */
function bodyNotStarted(req: IncomingMessage): boolean {
  return !req.complete && req.readableLength === 0 && !req.readableDidRead;
}

function forwardedFor(req: IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  const port = req.socket.remotePort ?? 0;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

interface Prepared {
  headers: string[];
  callId: string | undefined; // set only when generated here
  startTime: string;
  hasBody: boolean;
}

export function createInvocationProxy(options: InvocationProxyOptions): InvocationProxy {
  const timeoutMs = options.upstreamTimeoutMs;
  const agent = new Agent({
    connections: options.maxConnectionsPerEndpoint ?? 1024,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 90_000,
    keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs ?? 90_000, 1_000),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
  // Only for requests whose body has not started (see the header comment); created on first use.
  let httpAgent: HttpAgent | undefined;
  const duplexAgent = (): HttpAgent =>
    (httpAgent ??= new HttpAgent({
      keepAlive: true,
      maxSockets: options.maxConnectionsPerEndpoint ?? 1024,
      timeout: options.keepAliveTimeoutMs ?? 90_000,
    }));
  const inflight = new Map<string, number>();
  let rotation = 0;
  let closed = false;
  let closing: Promise<void> | undefined;

  function pick(endpoints: readonly InvokeEndpoint[], tried: Set<string> | undefined): InvokeEndpoint | undefined {
    const n = endpoints.length;
    if (n === 1) return tried?.has(endpoints[0]!.baseUrl) ? undefined : endpoints[0];
    const start = rotation++ % n;
    if (rotation > 1e9) rotation = 0;
    let best: InvokeEndpoint | undefined;
    let bestLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const e = endpoints[(start + i) % n]!;
      if (tried?.has(e.baseUrl)) continue;
      const load = inflight.get(e.baseUrl) ?? 0;
      if (load < bestLoad) {
        best = e;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  function acquire(key: string): void {
    inflight.set(key, (inflight.get(key) ?? 0) + 1);
  }

  function release(key: string): void {
    const n = (inflight.get(key) ?? 1) - 1;
    if (n <= 0) inflight.delete(key);
    else inflight.set(key, n);
  }

  function prepare(req: IncomingMessage, startTime: string | undefined): Prepared {
    const raw = req.rawHeaders;
    const headers: string[] = [];
    let connectionTokens: string[] | undefined;
    const conn = req.headers.connection;
    if (conn && conn.includes(',')) connectionTokens = conn.toLowerCase().split(',').map((s) => s.trim());
    else if (conn) connectionTokens = [conn.toLowerCase().trim()];
    let sawHost = false;
    let sawFor = false;
    let sawUa = false;
    let sawCallId = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP_HEADERS.has(lower) || lower === 'host' || lower === 'expect') continue;
      if (connectionTokens && connectionTokens.includes(lower)) continue;
      if (lower === 'x-forwarded-host') sawHost = true;
      else if (lower === 'x-forwarded-for') sawFor = true;
      else if (lower === 'user-agent') sawUa = true;
      else if (lower === 'x-call-id') sawCallId = true;
      headers.push(name, raw[i + 1]!);
    }
    if (!sawHost && req.headers.host) headers.push('X-Forwarded-Host', req.headers.host);
    if (!sawFor) headers.push('X-Forwarded-For', forwardedFor(req));
    if (!sawUa && options.userAgent) headers.push('User-Agent', options.userAgent);
    let callId: string | undefined;
    const start = startTime ?? `${Date.now()}000000`;
    if (options.callHeaders) {
      if (!sawCallId) {
        callId = randomUUID();
        headers.push('X-Call-Id', callId);
      }
      headers.push('X-Start-Time', start);
    }
    return { headers, callId, startTime: start, hasBody: hasRequestBody(req) };
  }

  /** Headers the gateway adds to the client response; the function's own values win. */
  function callResponseHeaders(p: Prepared, into: OutgoingHttpHeaders): OutgoingHttpHeaders {
    if (!options.callHeaders) return into;
    if (p.callId !== undefined && into['x-call-id'] === undefined) into['x-call-id'] = p.callId;
    if (into['x-start-time'] === undefined) into['x-start-time'] = p.startTime;
    if (into['x-served-by'] === undefined) into['x-served-by'] = options.callHeaders.servedBy;
    return into;
  }

  function writeEmpty(res: ServerResponse, p: Prepared, status: number): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(status, callResponseHeaders(p, { 'content-length': '0' }));
    res.end();
  }

  function forward(req: IncomingMessage, res: ServerResponse, fo: ForwardOptions): Promise<ForwardResult> {
    const p = prepare(req, fo.startTime);
    return new Promise<ForwardResult>((resolve) => {
      if (closed || fo.endpoints.length === 0) {
        writeEmpty(res, p, closed ? 502 : 503);
        resolve({ statusCode: closed ? 502 : 503 });
        return;
      }
      let tried: Set<string> | undefined;
      const attempt = (endpoint: InvokeEndpoint): void => {
        const { origin, base } = splitBaseUrl(endpoint.baseUrl);
        acquire(endpoint.baseUrl);
        const done = (result: AttemptResult, retryable: boolean): void => {
          release(endpoint.baseUrl);
          if (retryable && result.error && !res.headersSent && !res.destroyed) {
            (tried ??= new Set()).add(endpoint.baseUrl);
            const next = pick(fo.endpoints, tried);
            if (next) {
              attempt(next);
              return;
            }
          }
          if (!res.headersSent && !result.streamed) {
            writeEmpty(res, p, 502);
            resolve({ statusCode: 502, endpoint, error: result.error });
            return;
          }
          resolve({ statusCode: result.statusCode, endpoint, error: result.error });
        };
        if (p.hasBody && bodyNotStarted(req)) {
          forwardDuplex(req, res, p, timeoutMs, callResponseHeaders, done, {
            url: origin + base + endpoint.pathPrefix + fo.path,
            agent: duplexAgent(),
          });
          return;
        }
        const handler = new ProxyHandler(req, res, p, timeoutMs, callResponseHeaders, done);
        try {
          agent.dispatch(
            {
              origin,
              path: base + endpoint.pathPrefix + fo.path,
              method: req.method ?? 'GET',
              headers: p.headers,
              body: p.hasBody ? req : null,
            },
            handler,
          );
        } catch (err) {
          handler.fail(err as Error);
        }
      };
      attempt(pick(fo.endpoints, undefined)!);
    });
  }

  return {
    forward,
    inFlight: (endpoint) => inflight.get(endpoint.baseUrl) ?? 0,
    close() {
      closed = true;
      httpAgent?.destroy();
      closing ??= agent.close();
      return closing;
    },
  };
}

interface AttemptResult {
  statusCode: number;
  error?: Error;
  /** True once response headers were written to the client. */
  streamed: boolean;
}

/**
 * undici dispatch handler for one attempt. Copies status and headers, then
 * writes body chunks with backpressure (pauses upstream while `res` drains).
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private statusCode = 0;
  private streamed = false;
  private readonly onClientClose: () => void;
  private readonly onDrain: () => void;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly prepared: Prepared,
    timeoutMs: number,
    private readonly addCallHeaders: (p: Prepared, h: OutgoingHttpHeaders) => OutgoingHttpHeaders,
    private readonly finish: (r: AttemptResult, retryable: boolean) => void,
  ) {
    this.onClientClose = () => {
      if (!this.done) this.abort(new ClientGoneError());
    };
    this.onDrain = () => this.controller?.resume();
    res.once('close', this.onClientClose);
    this.timer = setTimeout(() => this.abort(new UpstreamTimeoutError(timeoutMs)), timeoutMs);
  }

  /** Abort the attempt; before undici started it (still queued), fail right away. */
  private abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done || this.res.destroyed) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[]>,
  ): void {
    if (this.done || statusCode < 200) return; // 1xx informational: wait for the final response
    this.statusCode = statusCode;
    const out = headers as OutgoingHttpHeaders;
    for (const h of HOP_BY_HOP_HEADERS) if (out[h] !== undefined) delete out[h];
    if (this.res.destroyed) return;
    try {
      this.res.writeHead(statusCode, this.addCallHeaders(this.prepared, out));
    } catch (err) {
      // A header node refuses to send (invalid characters): answer 502 rather than throw into undici.
      this.res.removeHeader('content-length');
      _controller.abort(err as Error);
      return;
    }
    this.streamed = true;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done || this.res.destroyed) return;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.done) return;
    this.res.end();
    this.settle({ statusCode: this.statusCode, streamed: this.streamed }, false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: Error): void {
    if (this.done) return;
    if (this.streamed) this.res.destroy(); // truncated: the client must see an incomplete response
    const code = (error as { code?: string }).code;
    const bodyUntouched = !this.req.readableDidRead;
    const retryable = !this.streamed && code !== undefined && CONNECT_ERRORS.has(code) && bodyUntouched;
    this.settle({ statusCode: this.streamed ? this.statusCode : 502, error, streamed: this.streamed }, retryable);
  }

  private settle(result: AttemptResult, retryable: boolean): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.res.removeListener('close', this.onClientClose);
    this.res.removeListener('drain', this.onDrain);
    this.finish(result, retryable);
  }
}

/**
 * Flat name/value list → object for node:http (node 20 frames a body sent with
 * an array of headers without chunked encoding). Repeated names become arrays.
 */
function headerObject(flat: readonly string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  const seen = new Map<string, string>(); // lower-case → the first spelling
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    const lower = name.toLowerCase();
    const key = seen.get(lower);
    if (key === undefined) {
      seen.set(lower, name);
      out[name] = value;
    } else {
      const prev = out[key]!;
      out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  return out;
}

/**
 * One attempt over node:http for a request whose body has not started: the
 * head goes out at once, the body is piped as it arrives and the response is
 * relayed chunk by chunk with backpressure, both directions at the same time.
 * Same outcomes as ProxyHandler (502 before headers, truncation after).
 */
function forwardDuplex(
  req: IncomingMessage,
  res: ServerResponse,
  prepared: Prepared,
  timeoutMs: number,
  addCallHeaders: (p: Prepared, h: OutgoingHttpHeaders) => OutgoingHttpHeaders,
  finish: (r: AttemptResult, retryable: boolean) => void,
  target: { url: string; agent: HttpAgent },
): void {
  let done = false;
  let streamed = false;
  let statusCode = 0;
  let upstream: ClientRequest;
  let upstreamRes: IncomingMessage | undefined;

  const settle = (result: AttemptResult, retryable: boolean): void => {
    done = true;
    clearTimeout(timer);
    res.removeListener('close', onClientClose);
    res.removeListener('drain', onDrain);
    req.unpipe(upstream);
    req.removeListener('error', fail);
    finish(result, retryable);
  };
  const fail = (error: Error): void => {
    if (done) return;
    upstream.destroy();
    if (streamed) res.destroy();
    const code = (error as { code?: string }).code;
    const retryable = !streamed && code !== undefined && CONNECT_ERRORS.has(code) && !req.readableDidRead;
    settle({ statusCode: streamed ? statusCode : 502, error, streamed }, retryable);
  };
  const onClientClose = (): void => {
    if (!done) fail(new ClientGoneError());
  };
  const onDrain = (): void => {
    upstreamRes?.resume();
  };
  const timer = setTimeout(() => fail(new UpstreamTimeoutError(timeoutMs)), timeoutMs);

  try {
    upstream = httpRequest(target.url, {
      method: req.method ?? 'POST',
      headers: headerObject(prepared.headers),
      agent: target.agent,
    });
  } catch (err) {
    upstream = undefined as unknown as ClientRequest;
    clearTimeout(timer);
    finish({ statusCode: 502, error: err as Error, streamed: false }, false);
    return;
  }
  res.once('close', onClientClose);
  upstream.on('error', fail);
  upstream.on('response', (r) => {
    upstreamRes = r;
    if (done) {
      r.destroy();
      return;
    }
    statusCode = r.statusCode ?? 502;
    const out: OutgoingHttpHeaders = { ...r.headers };
    for (const h of HOP_BY_HOP_HEADERS) if (out[h] !== undefined) delete out[h];
    try {
      res.writeHead(statusCode, addCallHeaders(prepared, out));
    } catch (err) {
      res.removeHeader('content-length');
      fail(err as Error);
      return;
    }
    streamed = true;
    r.on('data', (chunk: Buffer) => {
      if (done || res.destroyed) return;
      if (!res.write(chunk)) {
        r.pause();
        res.once('drain', onDrain);
      }
    });
    r.on('end', () => {
      if (done) return;
      // Answered before the upload ended: that socket cannot be reused.
      if (!upstream.writableFinished) upstream.destroy();
      res.end();
      settle({ statusCode, streamed }, false);
    });
    r.on('error', fail);
    r.on('close', () => {
      if (!r.complete) fail(new Error('upstream closed the response early'));
    });
  });
  // The head goes out now, before any body byte exists.
  upstream.flushHeaders();
  req.pipe(upstream);
  req.on('error', fail);
}
