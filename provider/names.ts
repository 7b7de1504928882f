import { ProviderError } from './errors.js';

/** Upstream's default function namespace. */
export const DEFAULT_NAMESPACE = 'openfaas-fn';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True for a Kubernetes-style DNS-1123 label (lower-case, digits, '-', at most 63 chars). */
export function isDns1123Label(value: string): boolean {
  return value.length > 0 && value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Throws INVALID naming the field unless `value` is a DNS-1123 label. */
export function assertDns1123Label(field: string, value: string): void {
  if (!isDns1123Label(value)) {
    throw ProviderError.invalid(
      `${field} ${JSON.stringify(value)} is invalid: must be a DNS-1123 label ` +
        `(lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    );
  }
}

/**
 * Split `fn.ns` at the last dot (upstream rule). Without a dot the namespace is
 * `fallbackNamespace` (which may be undefined, meaning "provider default").
 */
export function splitFunctionName(
  qualified: string,
  fallbackNamespace?: string,
): { name: string; namespace: string | undefined } {
  const dot = qualified.lastIndexOf('.');
  if (dot < 0) return { name: qualified, namespace: fallbackNamespace || undefined };
  return { name: qualified.slice(0, dot), namespace: qualified.slice(dot + 1) || fallbackNamespace || undefined };
}
