/**
 * Gateway metrics (spec §6) on the gateway's own prom-client Registry.
 * `function_name` is always `fn.ns`. Invocation counts for GET
 * /system/functions come from the same counter, so no Prometheus query is needed.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { Provider } from '../provider/index.js';

export const INVOCATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How long a scrape waits for the provider when refreshing gateway_service_count. */
const SERVICE_COUNT_TIMEOUT_MS = 5_000;

interface CompletedChild {
  inc(): void;
}
interface ObserveChild {
  observe(v: number): void;
}

export class GatewayMetrics {
  readonly registry: Registry;
  private readonly total: Counter<'function_name' | 'code'>;
  private readonly seconds: Histogram<'function_name' | 'code'>;
  private readonly started: Counter<'function_name'>;
  /** Per fn.ns total of completed invocations (feeds invocationCount). */
  private readonly counts = new Map<string, number>();
  /** Cached label children: the hot path avoids re-hashing label sets. */
  private readonly children = new Map<string, { total: CompletedChild; seconds: ObserveChild }>();
  private readonly startedChildren = new Map<string, CompletedChild>();

  constructor(registry: Registry, provider: Provider, logger?: Logger) {
    this.registry = registry;
    // The registry may be shared (e.g. with the queue worker): default metrics once per registry.
    if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
    this.total = new Counter({
      name: 'gateway_function_invocation_total',
      help: 'Completed synchronous function invocations',
      labelNames: ['function_name', 'code'],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: 'gateway_functions_seconds',
      help: 'Duration of synchronous function invocations in seconds',
      labelNames: ['function_name', 'code'],
      buckets: INVOCATION_BUCKETS,
      registers: [registry],
    });
    this.started = new Counter({
      name: 'gateway_function_invocation_started',
      help: 'Synchronous function invocations started',
      labelNames: ['function_name'],
      registers: [registry],
    });
    new Gauge({
      name: 'gateway_service_count',
      help: 'Desired replicas per function',
      labelNames: ['function_name'],
      registers: [registry],
      // Refreshed from the provider on every scrape; deleted functions disappear.
      async collect() {
        try {
          const values = await withTimeout(desiredReplicas(provider), SERVICE_COUNT_TIMEOUT_MS);
          this.reset();
          for (const [fn, replicas] of values) this.set({ function_name: fn }, replicas);
        } catch (err) {
          logger?.warn({ err: (err as Error).message }, 'gateway_service_count refresh failed');
        }
      },
    });
  }

  invocationStarted(fn: string): void {
    let c = this.startedChildren.get(fn);
    if (!c) {
      c = this.started.labels(fn);
      this.startedChildren.set(fn, c);
    }
    c.inc();
  }

  invocationCompleted(fn: string, statusCode: number, seconds: number): void {
    const key = `${fn} ${statusCode}`;
    let c = this.children.get(key);
    if (!c) {
      const code = String(statusCode);
      c = { total: this.total.labels(fn, code), seconds: this.seconds.labels(fn, code) };
      this.children.set(key, c);
    }
    c.total.inc();
    c.seconds.observe(seconds);
    this.counts.set(fn, (this.counts.get(fn) ?? 0) + 1);
  }

  /** Completed invocations of `fn.ns` since the gateway started. */
  invocationCount(fn: string): number {
    return this.counts.get(fn) ?? 0;
  }
}

async function desiredReplicas(provider: Provider): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const namespaces = await provider.namespaces();
  const lists = await Promise.all(namespaces.map((ns) => provider.list(ns)));
  lists.forEach((list, i) => {
    for (const fn of list) out.set(`${fn.name}.${fn.namespace || namespaces[i]}`, fn.replicas ?? 0);
  });
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
