/**
 * Basic-auth check (spec §5.2) shared by the gateway and the faas-provider REST
 * server. Comparison is constant-time over SHA-256 digests so neither the
 * content nor the length of the secrets leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicAuthCredentials {
  user: string;
  password: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** A checker for `Authorization` header values: true only for `Basic base64(user:password)`. */
export function createBasicAuthCheck(creds: BasicAuthCredentials): (header: string | undefined) => boolean {
  const user = digest(creds.user);
  const password = digest(creds.password);
  return (header) => {
    if (!header || !/^basic /i.test(header)) return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), user);
    const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), password);
    return userOk && passwordOk;
  };
}
