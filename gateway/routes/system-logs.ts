/**
 * GET /system/logs (spec §1.9, §8.4): NDJSON stream from provider.logs().
 * Headers are flushed at once, each message is written (and so flushed) as
 * one line. The stream ends when the provider's iterable ends, the client
 * disconnects, or write_timeout passes; each of those aborts the provider
 * through the AbortSignal. Closing the gateway ends open streams too.
 */
import type { FastifyInstance } from 'fastify';
import type { LogMessage, LogRequest } from '../../provider/index.js';
import { assertDns1123Label } from '../../provider/index.js';
import type { GatewayContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { sendText } from '../http-errors.js';
import { optionalNamespace, queryParam } from './util.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Go's strconv.ParseBool; anything else is false (upstream: invalid follow → false). */
function parseBool(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

/** Parse the log request from the query; unparsable tail/since → 422 (upstream). */
export function parseLogRequest(get: (key: string) => string | undefined): LogRequest {
  const name = get('name');
  if (!name) throw new GatewayError('GW_ERR_INVALID_NAME', 'name is required');
  const req: LogRequest = { name, follow: parseBool(get('follow')) };
  const namespace = optionalNamespace(get('namespace'));
  if (namespace) req.namespace = namespace;
  const instance = get('instance');
  if (instance) req.instance = instance;
  const tail = get('tail');
  if (tail !== undefined && tail !== '') {
    if (!/^[-+]?\d+$/.test(tail.trim())) throw new GatewayError('GW_ERR_INVALID_LOG_REQUEST', 'could not parse the log request');
    req.tail = Number(tail.trim());
  }
  const since = get('since');
  if (since !== undefined && since !== '') {
    const t = RFC3339.test(since) ? new Date(since) : undefined;
    if (!t || Number.isNaN(t.getTime())) throw new GatewayError('GW_ERR_INVALID_LOG_REQUEST', 'could not parse the log request');
    req.since = t;
  }
  return req;
}

/** One NDJSON line, keys in upstream order. */
function line(m: LogMessage): string {
  return `${JSON.stringify({ name: m.name, namespace: m.namespace, instance: m.instance, timestamp: m.timestamp, text: m.text })}\n`;
}

export async function systemLogRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { provider, config } = ctx;

  app.get('/system/logs', async (request, reply) => {
    if (!provider.logs) return reply.code(501).send();
    const logReq = parseLogRequest((k) => queryParam(request, k));
    assertDns1123Label('function name', logReq.name);
    // Check existence first so a missing function is a clean 404 rather than a broken stream.
    const fn = await provider.get(logReq.name, logReq.namespace);
    if (!fn) return sendText(reply, 404, `function ${logReq.name} not found`);

    const abort = new AbortController();
    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();

    const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    const timer = setTimeout(() => abort.abort(new Error('write_timeout reached')), config.writeTimeoutMs);
    const onClose = () => abort.abort(new Error('client disconnected'));
    const onShutdown = () => abort.abort(new Error('gateway closing'));
    res.once('close', onClose);
    ctx.shutdown.addEventListener('abort', onShutdown, { once: true });
    if (ctx.shutdown.aborted) onShutdown();

    const iterator = provider.logs(logReq, abort.signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped.then(() => undefined)]);
        if (!next || next.done) break;
        if (!res.write(line(next.value))) {
          await Promise.race([new Promise((r) => res.once('drain', r)), stopped]);
        }
        if (abort.signal.aborted) break;
      }
    } catch (err) {
      if (!abort.signal.aborted) ctx.logger?.warn({ err: (err as Error).message, fn: logReq.name }, 'log stream failed');
    } finally {
      clearTimeout(timer);
      res.removeListener('close', onClose);
      ctx.shutdown.removeEventListener('abort', onShutdown);
      if (!abort.signal.aborted) abort.abort(new Error('log stream finished'));
      // Let the provider release its resources; do not wait on an iterator stuck in next().
      void iterator.return?.().catch(() => undefined);
      if (!res.writableEnded && !res.destroyed) res.end();
    }
  });
}
