/**
 * /async-function/:name[/...]: accept an invocation for later execution
 * (gateway-api.md §1.2, async-scaling-providers.md §1.1). POST only; the
 * request is turned into a QueueRequest (§2.8), handed to the RequestQueuer,
 * and answered 202 with an empty body once the queue has stored it durably.
 *
 * Self-contained Fastify plugin: its own raw-body parser (any content type,
 * kept byte for byte), its own body limit with a clear 413, and its own
 * error handler, so nothing leaks into or from the rest of the gateway.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GoURL, QueueRequest, RequestQueuer } from '../../provider/index.js';
import type { AsyncOffload } from '../offload/async.js';

export interface AsyncFunctionRoutesOptions {
  queue: RequestQueuer;
  /** Largest request body accepted; bigger ones get 413. */
  maxBodyBytes: number;
  /**
   * Accepted for symmetry with the sync route. As upstream, `Function` is
   * queued exactly as written (`fn` or `fn.ns`); the provider applies its
   * default namespace when the worker invokes /function/fn.
   */
  functionNamespace?: string;
  /** Build version for `X-Served-By: openfaas-ce/<version>`. */
  version?: string;
  /** Offload (gateway/offload/async.ts): functions not deployed here go to the parent instead of the queue. */
  offload?: AsyncOffload;
}

const NAME = /^[-a-zA-Z_0-9.]+$/;
const PATH = /^\/?(?:async-)?function\/([^/?]+)([^?]*)/;
const TEXT = 'text/plain; charset=utf-8';

function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', TEXT).header('x-content-type-options', 'nosniff').send(`${message}\n`);
}

/** Go's textproto.CanonicalMIMEHeaderKey: `x-call-id` → `X-Call-Id`. */
export function canonicalHeaderName(name: string): string {
  // Go leaves names with characters outside the token set untouched.
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** Parse a callback URL into Go's url.URL struct form; throws with the parser's message. */
export function toGoUrl(raw: string): GoURL {
  const u = new URL(raw);
  let path = u.pathname;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    // keep the escaped form
  }
  let fragment = u.hash.replace(/^#/, '');
  try {
    fragment = decodeURIComponent(fragment);
  } catch {
    // keep the escaped form
  }
  const opaque = !u.host && !raw.slice(u.protocol.length).startsWith('//');
  return {
    Scheme: u.protocol.replace(/:$/, ''),
    Opaque: opaque ? u.pathname : '',
    User: null,
    Host: u.host,
    Path: opaque ? '' : path,
    RawPath: !opaque && path !== u.pathname ? u.pathname : '',
    OmitHost: false,
    ForceQuery: u.search === '' && raw.includes('?') && !raw.includes('#') ? raw.endsWith('?') : false,
    RawQuery: u.search.replace(/^\?/, ''),
    Fragment: fragment,
    RawFragment: fragment !== u.hash.replace(/^#/, '') ? u.hash.replace(/^#/, '') : '',
  };
}

/** Request headers as Go sees them: canonical names, every value, Host excluded. */
function queuedHeaders(rawHeaders: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = canonicalHeaderName(rawHeaders[i]!);
    if (name === 'Host') continue;
    (out[name] ??= []).push(rawHeaders[i + 1]!);
  }
  return out;
}

export function asyncFunctionRoutes(opts: AsyncFunctionRoutesOptions) {
  const { queue, maxBodyBytes } = opts;
  const servedBy = `openfaas-ce/${opts.version ?? ''}`;

  return async function plugin(app: FastifyInstance): Promise<void> {
    // Bodies are opaque bytes for the function, whatever their content type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err: FastifyError, _request, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
        return sendText(reply, 413, `Request body too large: the limit for async invocations is ${maxBodyBytes} bytes`);
      }
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return sendText(reply, 400, err.message);
      }
      return sendText(reply, 500, `Error queuing request: ${err.message}`);
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const rawUrl = request.raw.url ?? request.url;
      const q = rawUrl.indexOf('?');
      const pathOnly = q < 0 ? rawUrl : rawUrl.slice(0, q);
      const m = PATH.exec(pathOnly);
      const name = m?.[1];
      if (!m || !name || !NAME.test(name)) return sendText(reply, 404, '404 page not found');
      if (opts.offload && (await opts.offload.wantsParent(name))) {
        reply.hijack();
        await opts.offload.forward(request.raw, reply.raw, name, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
        return;
      }

      // Call-ID middleware (§3.1): ids go both into the queued headers and the response.
      const headers = queuedHeaders(request.raw.rawHeaders);
      let callId = headers['X-Call-Id']?.[0];
      if (!callId) {
        callId = randomUUID();
        headers['X-Call-Id'] = [callId];
        reply.header('X-Call-Id', callId);
      }
      const startTime = String(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n);
      (headers['X-Start-Time'] ??= []).push(startTime);
      reply.header('X-Start-Time', startTime);
      reply.header('X-Served-By', servedBy);

      let callbackUrl: GoURL | undefined;
      const cb = headers['X-Callback-Url']?.[0];
      if (cb) {
        try {
          callbackUrl = toGoUrl(cb);
        } catch (err) {
          return sendText(reply, 400, `invalid X-Callback-Url ${JSON.stringify(cb)}: ${(err as Error).message}`);
        }
      }

      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const req: QueueRequest = {
        Header: headers,
        ...(request.headers.host ? { Host: request.headers.host } : {}),
        ...(body.length > 0 ? { Body: body.toString('base64') } : {}),
        Method: request.method,
        ...(m[2] ? { Path: m[2] } : {}),
        ...(q >= 0 && q < rawUrl.length - 1 ? { QueryString: rawUrl.slice(q + 1) } : {}),
        Function: name,
        ...(callbackUrl ? { CallbackUrl: callbackUrl } : {}),
      };
      try {
        await queue.enqueue(req);
      } catch (err) {
        const e = err as { code?: unknown; message?: string };
        if (e?.code === 'QW_ERR_TOO_LARGE') return sendText(reply, 413, `Request body too large for the queue: ${e.message}`);
        request.log.error({ err, fn: name }, 'enqueue failed');
        return sendText(reply, 500, `Error queuing request: ${e?.message ?? String(err)}`);
      }
      return reply.code(202).send();
    };

    const others = app.supportedMethods.filter((x) => x !== 'POST');
    for (const url of ['/async-function/:name', '/async-function/:name/', '/async-function/:name/*']) {
      app.route({ method: 'POST', url, bodyLimit: maxBodyBytes, handler });
      app.route({ method: others, url, handler: async (_request, reply) => reply.code(405).send() });
    }
  };
}

/** What the dead-letter admin routes need (queue-worker's DeadLetterStore has this shape). */
export interface DeadLetterAdmin {
  list(opts?: { limit?: number }): Promise<unknown[]>;
  replay(ids?: string[]): Promise<number>;
  discard(ids: string[]): Promise<number>;
}

function idsFrom(body: unknown): string[] | undefined | Error {
  if (body === undefined || body === null || body === '') return undefined;
  const ids = (body as { ids?: unknown }).ids;
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return new Error('"ids" must be an array of dead-letter ids');
  }
  return ids.map(String);
}

/**
 * Dead-letter admin (ours, not upstream): register inside the gateway's
 * authenticated /system context.
 *   GET    /system/async-dead-letters?limit=N      → JSON array of dead letters
 *   POST   /system/async-dead-letters/replay       {"ids":[...]} (absent = all) → {"replayed":n}
 *   DELETE /system/async-dead-letters              {"ids":[...]} → {"discarded":n}
 */
export function asyncDeadLetterRoutes(opts: { deadLetters: DeadLetterAdmin }) {
  const { deadLetters } = opts;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/system/async-dead-letters', async (request, reply) => {
      const raw = (request.query as Record<string, string | undefined>).limit;
      const limit = raw === undefined ? 100 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1) return sendText(reply, 400, 'limit must be a positive integer');
      return reply.send(await deadLetters.list({ limit }));
    });
    app.post('/system/async-dead-letters/replay', async (request, reply) => {
      const ids = idsFrom(request.body);
      if (ids instanceof Error) return sendText(reply, 400, ids.message);
      try {
        return reply.send({ replayed: await deadLetters.replay(ids) });
      } catch (err) {
        if ((err as { code?: unknown }).code === 'QW_ERR_NOT_FOUND') return sendText(reply, 404, (err as Error).message);
        throw err;
      }
    });
    app.delete('/system/async-dead-letters', async (request, reply) => {
      const ids = idsFrom(request.body);
      if (ids instanceof Error || ids === undefined) return sendText(reply, 400, '"ids" (an array of dead-letter ids) is required');
      return reply.send({ discarded: await deadLetters.discard(ids) });
    });
  };
}
