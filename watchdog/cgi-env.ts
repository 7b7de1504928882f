/** Request → child environment mapping ("CGI headers", spec §1.0 and §1.6). */
import type { IncomingMessage } from 'node:http';

/** Go's canonical header form with `-` → `_`: `x-custom-header` → `X_Custom_Header`. */
export function canonicalEnvName(header: string): string {
  let out = '';
  let upper = true;
  for (const ch of header) {
    if (ch === '-') {
      out += '_';
      upper = true;
    } else {
      out += upper ? ch.toUpperCase() : ch.toLowerCase();
      upper = false;
    }
  }
  return out;
}

export interface RequestTarget {
  method: string;
  /** Raw request-URI: path plus `?query`. */
  url: string;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    // keep the raw path when it is not valid percent-encoding
  }
  // An environment value cannot hold NUL (spawn would throw): `%00` stays encoded.
  if (path.includes('\0')) path = rawPath;
  return { path, query: q < 0 ? '' : url.slice(q + 1) };
}

/** Http_* entries of of-watchdog fork modes (first value of each header; no Host). */
export function cgiEnv(req: IncomingMessage, target: RequestTarget): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = req.rawHeaders;
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'host' || lower === 'transfer-encoding' || seen.has(lower)) continue;
    seen.add(lower);
    env[`Http_${canonicalEnvName(lower)}`] = raw[i + 1]!;
  }
  env.Http_Method = target.method;
  const { path, query } = splitUrl(target.url);
  if (query !== '') env.Http_Query = query;
  if (path !== '') env.Http_Path = path;
  const te = req.headers['transfer-encoding'];
  if (te) env.Http_Transfer_Encoding = te.split(',')[0]!.trim();
  return env;
}

/** Classic watchdog additions: content length (`-1` unknown), Host. */
export function classicCgiEnv(req: IncomingMessage, target: RequestTarget): Record<string, string> {
  const env = cgiEnv(req, target);
  const cl = req.headers['content-length'];
  const te = req.headers['transfer-encoding'];
  const len = cl !== undefined ? cl : te ? '-1' : '0';
  env.Http_ContentLength = len;
  env.Http_Content_Length = len;
  if (req.headers.host) env.Http_Host = req.headers.host;
  return env;
}
