/**
 * Basic auth (spec §5.2): credentials read once from
 * `{secret_mount_path}/basic-auth-user` and `basic-auth-password` (trimmed).
 * Comparison is constant-time over SHA-256 digests so neither the content
 * nor the length of the secrets leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** A checker for `Authorization` header values. */
export function createBasicAuthCheck(creds: Credentials): (header: string | undefined) => boolean {
  const user = digest(creds.user);
  const password = digest(creds.password);
  return (header) => {
    if (!header || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), user);
    const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), password);
    return userOk && passwordOk;
  };
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
