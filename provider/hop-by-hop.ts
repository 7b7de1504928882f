/**
 * Connection-level headers (RFC 9110 §7.6.1 plus the legacy proxy ones): they
 * describe one hop, so a proxy or a re-sender must never pass them on.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
