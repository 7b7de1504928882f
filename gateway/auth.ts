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
