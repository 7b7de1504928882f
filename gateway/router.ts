/**
 * Router behaviour reproduced from upstream (gorilla/mux): unknown paths get
 * `404 page not found`, known paths with another method get an empty 405,
 * non-canonical paths (`//`, `/./`, `/../`) are redirected with 301 to
 * the cleaned path before routing, and an empty path variable (`/function/`)
 * is an unknown path.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { posix } from 'node:path';
import { sendText } from './http-errors.js';

/** Cleaned path (Go path.Clean, keeping a trailing slash), or undefined when `path` is canonical. */
export function canonicalPath(path: string): string | undefined {
  if (!path.includes('//') && !path.includes('/.')) return undefined;
  let cleaned = posix.normalize(path);
  if (!cleaned.startsWith('/')) cleaned = `/${cleaned}`;
  // posix.normalize keeps `..` above the root and a trailing slash; Go drops the former.
  while (cleaned.startsWith('/../')) cleaned = cleaned.slice(3);
  if (cleaned === '/..') cleaned = '/';
  if (path.endsWith('/') && !cleaned.endsWith('/')) cleaned += '/';
  if (!path.endsWith('/') && cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  return cleaned === path ? undefined : cleaned;
}

export function installRouterBehaviour(app: FastifyInstance): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const target = canonicalPath(path);
    if (target !== undefined) return reply.code(301).header('location', q < 0 ? target : target + url.slice(q)).send();
    // A gorilla/mux path variable matches one or more characters: `/function/` has no route.
    const params = request.params as Record<string, string> | undefined;
    if (params && Object.entries(params).some(([key, value]) => key !== '*' && value === '')) {
      return sendText(reply, 404, '404 page not found');
    }
  });

  app.setNotFoundHandler((_request, reply) => sendText(reply, 404, '404 page not found'));
}

/** Register an empty 405 for every supported method a known path does not accept. */
export function methodNotAllowed(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const others = app.supportedMethods.filter((m) => !allowed.includes(m));
  if (others.length === 0) return;
  app.route({ method: others, url, handler: async (_request, reply) => reply.code(405).send() });
}
