/**
 * Endpoint lookup for invocations, with scale from zero (spec §4.5).
 *
 * 1. Ask the provider for ready replicas; non-empty → done.
 * 2. Otherwise (and only when enabled) wake the function once per `fn.ns`
 *    (single-flight: concurrent callers share one wake-up):
 *    a. read its status; desired replicas 0 → scale to max(1, com.openfaas.scale.min);
 *    b. poll endpoints() until one is ready or the deadline passes.
 * Non-empty answers are cached for ENDPOINT_CACHE_MS (upstream caches ready
 * replicas for 250 ms as well): a remote provider would otherwise be asked on
 * every invocation. A replica leaving the list keeps serving for the
 * provider's drain delay, and the gateway drops the cache entry itself when
 * it removes, updates or scales a function.
 * Errors carry GatewayError codes; the 404/500 bodies follow upstream's
 * `error finding function fn.ns: <reason>` form (no trailing newline).
 */
import type { InvokeEndpoint, Provider } from '../provider/index.js';
import { ProviderError } from '../provider/index.js';
import { GatewayError } from './errors.js';

export interface EndpointResolverOptions {
  provider: Provider;
  scaleFromZero: boolean;
  /** Bound on the wait for a ready replica, in ms. */
  timeoutMs: number;
  /** Poll interval while waiting, in ms. */
  pollIntervalMs?: number;
}

export interface EndpointResolver {
  /** Ready replicas of `name` in `namespace` (undefined = provider default); `label` = `fn.ns`. */
  resolve(name: string, namespace: string | undefined, label: string): Promise<InvokeEndpoint[]>;
  /** Forget cached replicas of `label` (`fn.ns`) after a change made through the gateway. */
  invalidate(label: string): void;
}

/** How long a non-empty endpoint list is reused. */
export const ENDPOINT_CACHE_MS = 250;

const SCALE_MIN_LABEL = 'com.openfaas.scale.min';

/** Replicas to start when waking a function: max(1, label com.openfaas.scale.min). */
export function wakeReplicas(labels: Record<string, string> | null | undefined): number {
  const raw = labels?.[SCALE_MIN_LABEL];
  const min = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : 1;
  return Math.max(1, min);
}

function notFound(label: string, err: unknown): GatewayError {
  const reason = err instanceof Error ? err.message : String(err);
  return new GatewayError('GW_ERR_FUNCTION_NOT_FOUND', `error finding function ${label}: ${reason}`, { cause: err });
}

export function createEndpointResolver(opts: EndpointResolverOptions): EndpointResolver {
  const { provider } = opts;
  const pollMs = opts.pollIntervalMs ?? 50;
  const waking = new Map<string, Promise<InvokeEndpoint[]>>();
  const cache = new Map<string, { endpoints: InvokeEndpoint[]; expires: number }>();

  async function lookup(name: string, namespace: string | undefined, label: string): Promise<InvokeEndpoint[]> {
    try {
      return await provider.endpoints(name, namespace);
    } catch (err) {
      if (ProviderError.is(err, 'NOT_FOUND') || ProviderError.is(err, 'INVALID')) throw notFound(label, err);
      throw err;
    }
  }

  async function wake(name: string, namespace: string | undefined, label: string): Promise<InvokeEndpoint[]> {
    const deadline = Date.now() + opts.timeoutMs;
    let status;
    try {
      status = await provider.get(name, namespace);
    } catch (err) {
      throw notFound(label, err);
    }
    if (!status) throw notFound(label, ProviderError.notFound(`function ${label}`));
    if (!status.replicas) {
      try {
        await provider.scale(name, wakeReplicas(status.labels), namespace);
      } catch (err) {
        if (ProviderError.is(err, 'NOT_FOUND')) throw notFound(label, err);
        throw new GatewayError('GW_ERR_SCALE_FROM_ZERO', `error finding function ${label}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    for (;;) {
      const endpoints = await lookup(name, namespace, label);
      if (endpoints.length > 0) return endpoints;
      if (Date.now() >= deadline) {
        throw new GatewayError('GW_ERR_NO_ENDPOINTS', `No endpoints available for: ${label}.`);
      }
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
    }
  }

  return {
    async resolve(name, namespace, label) {
      const now = Date.now();
      const hit = cache.get(label);
      if (hit && hit.expires > now) return hit.endpoints;
      const endpoints = await lookup(name, namespace, label);
      if (endpoints.length > 0) {
        cache.set(label, { endpoints, expires: now + ENDPOINT_CACHE_MS });
        return endpoints;
      }
      cache.delete(label);
      if (!opts.scaleFromZero) throw new GatewayError('GW_ERR_NO_ENDPOINTS', `No endpoints available for: ${label}.`);
      let pending = waking.get(label);
      if (!pending) {
        pending = wake(name, namespace, label).finally(() => waking.delete(label));
        waking.set(label, pending);
      }
      return pending;
    },
    invalidate(label) {
      cache.delete(label);
    },
  };
}
