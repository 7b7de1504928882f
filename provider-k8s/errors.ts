/**
 * Kubernetes API failures → ProviderError. The API server answers errors as
 * `Status` objects; client-node wraps them in ApiException { code, body }.
 *
 *   404 NotFound       → NOT_FOUND
 *   409 AlreadyExists  → ALREADY_EXISTS (Conflict on update is retried by callers)
 *   400 / 422 Invalid  → INVALID (the Status message names the fields)
 *   403 Forbidden      → BACKEND, message starting `forbidden:` (RBAC or a namespace we may not use;
 *                        the shared contract has no 403 code)
 *   connection errors  → UNAVAILABLE
 *   anything else      → BACKEND
 */
import { ProviderError } from '../provider/index.js';

export interface K8sStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** HTTP code of a client-node failure, or undefined for transport errors. */
export function k8sCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

export function k8sStatus(err: unknown): K8sStatus {
  let body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return { code: k8sCode(err), message: body as string };
    }
  }
  if (body && typeof body === 'object') return body as K8sStatus;
  return { code: k8sCode(err) };
}

export function isNotFound(err: unknown): boolean {
  return k8sCode(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return k8sCode(err) === 409;
}

/** Translate `err` from an API call described by `what` (e.g. `deployment fn.ns`). */
export function toProviderError(err: unknown, what: string): ProviderError {
  if (ProviderError.is(err)) return err;
  const code = k8sCode(err);
  const st = k8sStatus(err);
  const msg = st.message ?? (err instanceof Error ? err.message : String(err));
  switch (code) {
    case 404:
      return ProviderError.notFound(what, { cause: err });
    case 409:
      return new ProviderError('ALREADY_EXISTS', `${what} already exists`, { cause: err });
    case 400:
    case 422:
      return new ProviderError('INVALID', `${what}: ${msg}`, { cause: err });
    case 403:
      return new ProviderError('BACKEND', `forbidden: ${msg}`, { cause: err });
    case undefined:
      return new ProviderError('UNAVAILABLE', `Kubernetes API unreachable (${what}): ${msg}`, { cause: err });
    default:
      return new ProviderError('BACKEND', `Kubernetes API error ${code} (${what}): ${msg}`, { cause: err });
  }
}
