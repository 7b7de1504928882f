/** HTTP status ↔ CoAP response code (RFC 7252 §5.9, RFC 8516 for 4.29, RFC 7959 for 4.13). */

const EXACT: Readonly<Record<number, string>> = {
  201: '2.01',
  400: '4.00',
  401: '4.01',
  402: '4.02',
  403: '4.03',
  404: '4.04',
  405: '4.05',
  406: '4.06',
  408: '4.08',
  412: '4.12',
  413: '4.13',
  415: '4.15',
  429: '4.29',
  500: '5.00',
  501: '5.01',
  502: '5.02',
  503: '5.03',
  504: '5.04',
};

/**
 * The CoAP code answering a function's HTTP status. Success keeps the
 * payload readable: 2.05 Content whenever there is a body; a bodiless 204
 * becomes 2.02 Deleted for DELETE and 2.04 Changed otherwise.
 */
export function coapCodeFor(status: number, method: string, hasBody: boolean): string {
  const exact = EXACT[status];
  if (exact) return exact;
  if (status >= 200 && status < 300) {
    if (status === 204 || !hasBody) {
      if (method === 'DELETE') return '2.02';
      if (method === 'GET') return '2.05';
      return '2.04';
    }
    return '2.05';
  }
  if (status >= 400 && status < 500) return '4.00';
  // 1xx/3xx from a function and any other 5xx: the upstream misbehaved.
  return status >= 500 ? '5.00' : '5.02';
}
