/**
 * mode=inproc: the Node template's handler module (`module.exports = async
 * (event, context) => ...`, spec §6.3) loaded into the watchdog itself, so a
 * call costs no second process and no extra hop. Body parsing and the context
 * object follow the node templates; exec_timeout answers 504.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { RequestTarget } from '../cgi-env.js';
import type { WatchdogConfig } from '../config.js';
import { WatchdogError } from '../errors.js';
import { logRequest, since } from '../request-log.js';
import type { Executor, ExecutorContext } from './types.js';

export interface FunctionEvent {
  body: unknown;
  headers: IncomingMessage['headers'];
  method: string;
  query: Record<string, string | string[]>;
  path: string;
}

export type Handler = (event: FunctionEvent, context: FunctionContext) => unknown;

type Done = (err: unknown, value?: unknown) => void;

/** The `context` argument of the node templates: chainable status/headers, succeed/fail. */
export class FunctionContext {
  statusCode = 200;
  headerValues: Record<string, string | number | readonly string[]> = {};
  cbCalled = 0;
  readonly #done: Done;
  constructor(done: Done) {
    this.#done = done;
  }
  status(code?: number): any {
    if (!code) return this.statusCode;
    this.statusCode = code;
    return this;
  }
  headers(value?: Record<string, string | number | readonly string[]>): any {
    if (!value) return this.headerValues;
    this.headerValues = value;
    return this;
  }
  succeed(value?: unknown): void {
    this.cbCalled++;
    this.#done(undefined, value);
  }
  fail(value?: unknown): void {
    let message: unknown;
    if (this.statusCode === 200) {
      this.statusCode = 500;
      message = value;
    }
    this.cbCalled++;
    this.#done(value, message);
  }
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      reject(new BodyError(413, 'request entity too large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyError(413, 'request entity too large'));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Body as the node templates see it: raw Buffer with RAW_BODY=true; JSON for
 * application/json; text for text/* (a missing Content-Type counts as
 * text/plain); urlencoded forms as an object; anything else `{}`.
 */
export async function parseBody(req: IncomingMessage, config: WatchdogConfig): Promise<unknown> {
  const type = (req.headers['content-type'] ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (config.rawBody) return hasBody(req) ? readLimited(req, config.maxRawSizeBytes) : {};
  if (!hasBody(req)) return type.startsWith('text/') ? '' : {};
  if (type === 'application/json' || type.endsWith('+json')) {
    const buf = await readLimited(req, config.maxJsonSizeBytes);
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch (err) {
      throw new BodyError(400, (err as Error).message);
    }
  }
  if (type.startsWith('text/')) return (await readLimited(req, 100 * 1024)).toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    return queryObject((await readLimited(req, 100 * 1024)).toString('utf8'));
  }
  req.resume();
  return {};
}

function queryObject(qs: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(qs)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Load a handler module: CommonJS `module.exports = fn`, or an ESM default / `handler` export. */
export async function loadHandler(file: string): Promise<Handler> {
  let mod: any;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw new WatchdogError('WD_ERR_HANDLER_LOAD', `cannot load inproc handler ${file}: ${(err as Error).message}`, { cause: err });
  }
  const candidates = [mod?.default, mod?.default?.default, mod?.handler, mod?.default?.handler, mod?.handle];
  const fn = candidates.find((c) => typeof c === 'function');
  if (!fn) throw new WatchdogError('WD_ERR_HANDLER_LOAD', `inproc handler ${file} exports no function`);
  return fn as Handler;
}

function isObjectLike(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Buffer.isBuffer(v);
}

export function createInprocExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  let handler: Handler | undefined;

  function send(res: ServerResponse, status: number, headers: Record<string, unknown>, body: unknown): number {
    if (res.headersSent || res.destroyed) return 0;
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v as string);
    let payload: Buffer | string;
    if (body === undefined || body === null) payload = '';
    else if (Buffer.isBuffer(body)) {
      payload = body;
      if (!res.hasHeader('content-type')) res.setHeader('Content-Type', 'application/octet-stream');
    } else {
      payload = typeof body === 'string' ? body : String(body);
      if (!res.hasHeader('content-type') && payload !== '') res.setHeader('Content-Type', 'text/html; charset=utf-8');
    }
    const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    res.setHeader('Content-Length', len);
    res.statusCode = status;
    res.end(payload);
    return len;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const start = process.hrtime.bigint();
    let timer: NodeJS.Timeout | undefined;
    let status = 0;
    let bytes = 0;
    let logged = false;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      if (logged) return;
      logged = true;
      logRequest(logger, req, { method: target.method, url: target.url, status: String(status), bytes, seconds: since(start), callId: config.logCallId });
    };
    if (config.execTimeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        logger.log(`Function exceeded exec_timeout: ${config.execTimeoutMs}ms`);
        status = 504;
        bytes = send(res, 504, { 'X-OpenFaaS-Internal': 'of-watchdog' }, undefined);
        done();
      }, config.execTimeoutMs);
    }
    let body: unknown;
    try {
      body = await parseBody(req, config);
    } catch (err) {
      const e = err as BodyError;
      status = e.status ?? 400;
      bytes = send(res, status, {}, e.message);
      done();
      return;
    }
    const q = target.url.indexOf('?');
    let path = q < 0 ? target.url : target.url.slice(0, q);
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    const event: FunctionEvent = {
      body,
      headers: req.headers,
      method: target.method,
      query: q < 0 ? {} : queryObject(target.url.slice(q + 1)),
      path,
    };
    let answered = false;
    const context = new FunctionContext((err, value) => {
      if (answered) return;
      answered = true;
      if (res.headersSent) return;
      if (err !== undefined && err !== null) {
        ctx.sinks.stderr.write(`${err instanceof Error ? err.stack ?? String(err) : String(err)}\n`);
        status = context.statusCode;
        const text = typeof (err as { toString?: unknown }).toString === 'function' ? String(err) : err;
        bytes = send(res, status, {}, text);
      } else {
        status = context.statusCode;
        bytes = send(res, status, context.headerValues, isObjectLike(value) ? JSON.stringify(value) : value);
      }
      done();
    });
    try {
      const result = await handler!(event, context);
      if (!context.cbCalled) context.succeed(result);
    } catch (err) {
      // Upstream's node template keeps 200 here (a quirk); a thrown error is a
      // failure, and retries, metrics and autoscaling rely on seeing a 5xx.
      if (context.statusCode === 200) context.statusCode = 500;
      if (!answered) {
        answered = true;
        ctx.sinks.stderr.write(`${err instanceof Error ? err.stack ?? String(err) : String(err)}\n`);
        status = context.statusCode;
        bytes = send(res, status, {}, String(err));
        done();
      }
    }
  }

  return {
    async start() {
      handler = await loadHandler(config.inprocHandler);
      logger.log(`Loaded inproc handler: ${config.inprocHandler}`);
    },
    handle(req, res, target) {
      serve(req, res, target).catch((err: Error) => {
        logger.log(`inproc error: ${err.message}`);
        if (!res.headersSent) send(res, 500, {}, err.message);
      });
    },
    isReady: () => handler !== undefined,
    shutdown() {},
    async close() {},
  };
}
