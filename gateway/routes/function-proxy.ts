/**
 * ANY /function/:name[/...] (spec §1.1): resolve ready replicas (waking a
 * function scaled to zero), then stream the request through the shared
 * invocation proxy. Bodies are never parsed or buffered here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { splitFunctionName, type InvokeEndpoint } from '../../provider/index.js';
import { qualifiedName, type GatewayContext } from '../context.js';
import { GatewayErrorCodes } from '../errors.js';
import { mapError, writePlainText } from '../http-errors.js';
import type { OffloadInvoker } from '../offload/invoke.js';
import { limitRequestBody } from '../body-limit.js';
import { canonicalPath } from '../router.js';

const PREFIX = '/function/';

/** The function-relative path + query of a raw `/function/NAME...` URL: `/a/b?q=1`, `/` or `/?q=1`. */
export function functionSubPath(url: string): string {
  let end = PREFIX.length;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
    end++;
  }
  const rest = url.slice(end);
  if (rest === '') return '/';
  return rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
}

/** Name segment of a raw `/function/NAME...` URL (percent-decoded). */
function nameFromUrl(url: string): string {
  const rest = url.slice(PREFIX.length);
  let end = 0;
  while (end < rest.length && rest[end] !== '/' && rest[end] !== '?') end++;
  const seg = rest.slice(0, end);
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/**
 * Handle one invocation on raw node objects. Used by the Fastify route and
 * reusable by a raw-server fast path. Never rejects.
 */
export function createInvokeHandler(ctx: GatewayContext, offload?: OffloadInvoker) {
  const { config, resolver, proxy, metrics } = ctx;
  const maxBody = config.maxFunctionBodyBytes;

  function failResolve(res: ServerResponse, label: string, err: unknown): void {
    const mapped = mapError(err);
    if (!mapped.expected) ctx.logger?.error({ err, fn: label }, 'resolving function failed');
    // Upstream writes these scaler errors without a trailing newline.
    if (!res.headersSent && !res.destroyed) writePlainText(res, mapped.status, mapped.message);
  }

  async function runLocal(
    req: IncomingMessage,
    res: ServerResponse,
    label: string,
    endpoints: InvokeEndpoint[],
    path: string,
    startTime: string,
    t0: number,
  ): Promise<void> {
    metrics.invocationStarted(label);
    const result = await proxy.forward(req, res, { endpoints, path, startTime });
    metrics.invocationCompleted(label, result.statusCode, (performance.now() - t0) / 1000);
    if (result.error && result.statusCode >= 500) {
      ctx.logger?.warn({ fn: label, status: result.statusCode, err: result.error.message }, 'invocation failed');
    }
  }

  return async function invoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startTime = `${Date.now()}000000`;
    const t0 = performance.now();
    const url = req.url ?? '/';
    const { name, namespace } = splitFunctionName(nameFromUrl(url), config.functionNamespace);
    const label = qualifiedName(ctx, name, namespace);

    const tooLarge = () => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // The rest of the body is never read: close the connection once the answer is out.
      res.setHeader('connection', 'close');
      res.once('finish', () => req.socket.destroy());
      writePlainText(res, GatewayErrorCodes.GW_ERR_BODY_TOO_LARGE, 'request body is too large\n');
    };
    if (!limitRequestBody(req, maxBody, tooLarge)) {
      tooLarge();
      return;
    }

    if (offload !== undefined) {
      const path = functionSubPath(url);
      try {
        await offload(req, res, { name, namespace, label, subPath: path }, {
          run: (endpoints) => runLocal(req, res, label, endpoints, path, startTime, t0),
          fail: (err) => failResolve(res, label, err),
        });
      } catch (err) {
        ctx.logger?.error({ err, fn: label }, 'offload failed');
        if (!res.headersSent && !res.destroyed) writePlainText(res, 500, 'internal error\n');
        else res.destroy();
      }
      return;
    }

    let endpoints;
    try {
      endpoints = await resolver.resolve(name, namespace, label);
    } catch (err) {
      failResolve(res, label, err);
      return;
    }
    await runLocal(req, res, label, endpoints, functionSubPath(url), startTime, t0);
  };
}

/**
 * True for a canonical `/function/NAME[/...]` URL with a non-empty name: the
 * raw-server fast path may handle it without Fastify. Non-canonical paths go
 * through Fastify so they get their 301.
 */
export function isInvocationUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(PREFIX) || url.length === PREFIX.length) return false;
  const c = url.charCodeAt(PREFIX.length);
  if (c === 47 /* / */ || c === 63 /* ? */) return false;
  const q = url.indexOf('?');
  return canonicalPath(q < 0 ? url : url.slice(0, q)) === undefined;
}

export async function functionProxyRoutes(
  app: FastifyInstance,
  invoke: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<void> {
  // Leave request bodies unread: the proxy streams them to the replica.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const handler = async (request: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
    reply.hijack();
    await invoke(request.raw, reply.raw);
  };
  app.all('/function/:name', handler);
  app.all('/function/:name/*', handler);
}
