/**
 * Basic auth (spec §5.2): credentials read once from
 * `{secret_mount_path}/basic-auth-user` and `basic-auth-password` (trimmed).
 * The constant-time check itself is provider/basic-auth.ts (shared with the
 * faas-provider REST server).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, GatewayErrorCodes } from './errors.js';

export interface Credentials {
  user: string;
  password: string;
}

/** Read both credential files; a missing or empty file is a startup error. */
export function readCredentials(secretMountPath: string): Credentials {
  const read = (file: string): string => {
    const path = join(secretMountPath, file);
    let value: string;
    try {
      value = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new GatewayError('GW_ERR_CREDENTIALS', `basic_auth=true but ${path} cannot be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (value === '') throw new GatewayError('GW_ERR_CREDENTIALS', `basic_auth=true but ${path} is empty`);
    return value;
  };
  return { user: read('basic-auth-user'), password: read('basic-auth-password') };
}

/** Fastify onRequest hook answering 401 the upstream way when the check fails. */
export function basicAuthHook(check: (header: string | undefined) => boolean) {
  return async function requireBasicAuth(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    if (check(request.headers.authorization)) return;
    return reply
      .code(GatewayErrorCodes.GW_ERR_UNAUTHORIZED)
      .header('www-authenticate', 'Basic realm="Restricted"')
      .header('content-type', 'text/plain; charset=utf-8')
      .send('invalid credentials');
  };
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Fastify onRequest hook refusing (403) state-changing /system requests that a
 * browser sent on behalf of another site. A browser that has the admin's basic
 * auth cached attaches it to a cross-site form post, and /system/* reads any
 * body as JSON, so without this a page the admin visits could deploy a
 * function. Browsers say where a request comes from (`Sec-Fetch-Site`, else
 * `Origin`); CLI clients (faas-cli, curl) send neither and are not affected.
 */
export function crossSiteHook() {
  return async function rejectCrossSite(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    if (!UNSAFE_METHODS.has(request.method)) return;
    const site = request.headers['sec-fetch-site'];
    let foreign = site === 'cross-site' || site === 'same-site';
    if (site === undefined && request.headers.origin !== undefined) {
      const host = (request.headers['x-forwarded-host'] ?? request.headers.host ?? '').toString().split(',')[0]!.trim().toLowerCase();
      let originHost: string | undefined;
      try {
        originHost = new URL(request.headers.origin).host.toLowerCase();
      } catch {
        originHost = undefined; // `null` or junk: an opaque origin is foreign
      }
      foreign = originHost !== host;
    }
    if (!foreign) return;
    return reply
      .code(403)
      .header('content-type', 'text/plain; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .send('cross-site requests to /system are not allowed\n');
  };
}
