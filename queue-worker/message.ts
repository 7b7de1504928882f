/**
 * Reading queued messages: decode and validate a QueueRequest (both the
 * classic "every key, nulls" form and the omit-empty form, spec §1.2), turn
 * the Go url.URL struct back into a string, and build the invocation path.
 */
import type { GoURL, QueueRequest } from '../provider/index.js';
import { QueueWorkerError } from './errors.js';

/** A validated message, with the body decoded and the callback as a string. */
export interface DecodedRequest {
  request: QueueRequest;
  body: Buffer;
  /** Header name → values, names as stored (Go canonical form). */
  headers: Record<string, string[]>;
  callbackUrl: string | undefined;
  /** Why a CallbackUrl was present but unusable (the function still runs, without a callback). */
  callbackProblem: string | undefined;
  callId: string | undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function malformed(why: string, cause?: unknown): QueueWorkerError {
  return new QueueWorkerError('QW_ERR_MALFORMED', `malformed queue message: ${why}`, { cause });
}

function optString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed(`${key} must be a string`);
  return v;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decode one message payload; throws QW_ERR_MALFORMED with the reason. */
export function decodeQueueRequest(data: Uint8Array): DecodedRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw malformed('not valid UTF-8 JSON', err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed('not a JSON object');
  const obj = parsed as Record<string, unknown>;
  const fn = optString(obj, 'Function');
  if (!fn || fn.replace(/^\/+|\/+$/g, '') === '') throw malformed('Function is missing or empty');
  if (/[\s?#]/.test(fn)) throw malformed(`Function ${JSON.stringify(fn)} is not a valid name`);
  const method = optString(obj, 'Method') ?? 'POST';
  const path = optString(obj, 'Path') ?? '';
  if (path !== '' && !path.startsWith('/')) throw malformed('Path must start with /');
  const query = (optString(obj, 'QueryString') ?? '').replace(/^\?/, '');

  const headers: Record<string, string[]> = {};
  const rawHeader = obj.Header;
  if (rawHeader !== undefined && rawHeader !== null) {
    if (typeof rawHeader !== 'object' || Array.isArray(rawHeader)) throw malformed('Header must be an object');
    for (const [name, values] of Object.entries(rawHeader as Record<string, unknown>)) {
      if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
        throw malformed(`Header ${name} must be an array of strings`);
      }
      headers[name] = values as string[];
    }
  }

  const bodyText = optString(obj, 'Body') ?? '';
  if (!BASE64.test(bodyText)) throw malformed('Body is not base64');
  const body = Buffer.from(bodyText, 'base64');

  let callbackUrl: string | undefined;
  let callbackProblem: string | undefined;
  const cb = obj.CallbackUrl;
  if (cb !== undefined && cb !== null) {
    if (typeof cb === 'string') callbackUrl = cb === '' ? undefined : cb;
    else if (typeof cb === 'object' && !Array.isArray(cb)) callbackUrl = goUrlToString(cb as Partial<GoURL>);
    else throw malformed('CallbackUrl must be an object or a string');
    if (callbackUrl !== undefined) {
      try {
        const u = new URL(callbackUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported scheme ${u.protocol}`);
      } catch (err) {
        // Go's parser accepts relative URLs; the work itself is still valid.
        callbackProblem = `CallbackUrl ${JSON.stringify(callbackUrl)} is not an absolute http(s) URL: ${(err as Error).message}`;
        callbackUrl = undefined;
      }
    }
  }

  const request: QueueRequest = {
    ...(obj as unknown as QueueRequest),
    Function: fn,
    Method: method,
    Path: path,
    QueryString: query,
  };
  return { request, body, headers, callbackUrl, callbackProblem, callId: headerValue(headers, 'x-call-id') };
}

/** First value of a header, matched case-insensitively. */
export function headerValue(headers: Record<string, string[]>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower && v.length > 0) return v[0];
  return undefined;
}

/** Rebuild a URL string from Go's url.URL struct (the parts the worker needs). */
export function goUrlToString(u: Partial<GoURL>): string {
  const scheme = u.Scheme ?? '';
  let out = scheme ? `${scheme}:` : '';
  if (u.Opaque) {
    out += u.Opaque;
  } else {
    if (scheme || u.Host) out += `//${u.Host ?? ''}`;
    const p = u.RawPath || u.Path || '';
    if (p && !p.startsWith('/') && u.Host) out += '/';
    out += p;
  }
  if (u.RawQuery || u.ForceQuery) out += `?${u.RawQuery ?? ''}`;
  if (u.Fragment) out += `#${u.RawFragment || u.Fragment}`;
  return out;
}

/** `/function/<Function without surrounding slashes><Path>[?<QueryString>]`. */
export function invocationPath(req: Pick<QueueRequest, 'Function' | 'Path' | 'QueryString'>): string {
  const fn = req.Function.replace(/^\/+|\/+$/g, '');
  const qs = (req.QueryString ?? '').replace(/^\?/, '');
  return `/function/${fn}${req.Path ?? ''}${qs ? `?${qs}` : ''}`;
}
