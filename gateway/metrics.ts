/**
 * Gateway metrics (spec §6) on the gateway's own prom-client Registry.
 * `function_name` is always `fn.ns`. Invocation counts for GET
 * /system/functions come from the same numbers, so no Prometheus query is needed.
 *
 * The three invocation families are recorded as plain numbers on the hot path
 * and turned into samples only when scraped (custom collectors on the
 * registry): prom-client's own Counter/Histogram hash the label set on every
 * update, which cost several µs per proxied request.
 */
import { Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Logger } from 'pino';
import type { Provider } from '../provider/index.js';

export const INVOCATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How long a scrape waits for the provider when refreshing gateway_service_count. */
const SERVICE_COUNT_TIMEOUT_MS = 5_000;

/** One (function, status code) pair. `buckets[i]` counts observations in (le[i-1], le[i]]; the last slot is +Inf. */
interface Series {
  fn: string;
  code: string;
  count: number;
  sum: number;
  buckets: number[];
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

type MetricType = 'counter' | 'histogram';

/** A metric family computed at scrape time, in the shape prom-client's Registry reads. */
function family(name: string, help: string, type: MetricType, samples: () => Sample[], reset: () => void): Metric {
  const collector = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, values: samples(), aggregator: 'sum' };
    },
    reset,
  };
  return collector as unknown as Metric;
}

export class GatewayMetrics {
  readonly registry: Registry;
  private readonly series = new Map<string, Series>();
  private readonly started = new Map<string, number>();
  /** Per fn.ns total of completed invocations (feeds invocationCount). */
  private readonly counts = new Map<string, number>();
  /** Offload (gateway/offload/): per `fn.ns reason`, calls answered by a parent, with durations. */
  private readonly offloads = new Map<string, Series>();
  /** Offload attempts that got no answer from the parent, and calls refused at the hop limit. */
  private readonly offloadFailures = new Map<string, { fn: string; reason: string; outcome: string; count: number }>();

  constructor(registry: Registry, provider: Provider, logger?: Logger) {
    this.registry = registry;
    // The registry may be shared (e.g. with the queue worker): default metrics once per registry.
    if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });

    const resetInvocations = () => {
      this.series.clear();
      this.counts.clear();
    };
    registry.registerMetric(
      family(
        'gateway_function_invocation_total',
        'Completed synchronous function invocations',
        'counter',
        () => [...this.series.values()].map((s) => ({ labels: { function_name: s.fn, code: s.code }, value: s.count })),
        resetInvocations,
      ),
    );
    registry.registerMetric(
      family(
        'gateway_functions_seconds',
        'Duration of synchronous function invocations in seconds',
        'histogram',
        () => [...this.series.values()].flatMap((s) => histogramSamples(s)),
        resetInvocations,
      ),
    );
    registry.registerMetric(
      family(
        'gateway_function_invocation_started',
        'Synchronous function invocations started',
        'counter',
        () => [...this.started].map(([fn, value]) => ({ labels: { function_name: fn }, value })),
        () => this.started.clear(),
      ),
    );
    registry.registerMetric(
      family(
        'gateway_offload_total',
        'Synchronous invocations answered by a parent gateway, by offload reason',
        'counter',
        () => [...this.offloads.values()].map((s) => ({ labels: { function_name: s.fn, reason: s.code }, value: s.count })),
        () => this.offloads.clear(),
      ),
    );
    registry.registerMetric(
      family(
        'gateway_offload_seconds',
        'Duration of invocations answered by a parent gateway in seconds',
        'histogram',
        () => [...this.offloads.values()].flatMap((s) => histogramSamples(s, 'gateway_offload_seconds', 'reason')),
        () => this.offloads.clear(),
      ),
    );
    registry.registerMetric(
      family(
        'gateway_offload_failures_total',
        'Offloads that did not happen: parent did not answer (outcome=parent-unavailable) or hop limit reached (outcome=hop-limit)',
        'counter',
        () => [...this.offloadFailures.values()].map((f) => ({ labels: { function_name: f.fn, reason: f.reason, outcome: f.outcome }, value: f.count })),
        () => this.offloadFailures.clear(),
      ),
    );
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
    this.started.set(fn, (this.started.get(fn) ?? 0) + 1);
  }

  invocationCompleted(fn: string, statusCode: number, seconds: number): void {
    observe(this.series, fn, String(statusCode), seconds);
    this.counts.set(fn, (this.counts.get(fn) ?? 0) + 1);
  }

  /** A call (sync or async) of `fn.ns` answered by a parent gateway after `seconds`. */
  offloaded(fn: string, reason: string, seconds: number): void {
    observe(this.offloads, fn, reason, seconds);
  }

  /** An offload attempt of `fn.ns` that got no answer from the parent. */
  offloadFailed(fn: string, reason: string): void {
    this.countFailure(fn, reason, 'parent-unavailable');
  }

  /** A call of `fn.ns` that would have gone up but had no hop left. */
  offloadRefused(fn: string, reason: string): void {
    this.countFailure(fn, reason, 'hop-limit');
  }

  private countFailure(fn: string, reason: string, outcome: string): void {
    const key = `${fn} ${reason} ${outcome}`;
    const f = this.offloadFailures.get(key);
    if (f) f.count++;
    else this.offloadFailures.set(key, { fn, reason, outcome, count: 1 });
  }

  /** Invocations of `fn.ns` started and not yet completed (the idler never scales these down). */
  inFlight(fn: string): number {
    return Math.max(0, (this.started.get(fn) ?? 0) - (this.counts.get(fn) ?? 0));
  }

  /** In-flight invocations per `fn.ns` (functions with none are left out). */
  inFlightAll(): Map<string, number> {
    const out = new Map<string, number>();
    for (const fn of this.started.keys()) {
      const n = this.inFlight(fn);
      if (n > 0) out.set(fn, n);
    }
    return out;
  }

  /** Completed invocations of `fn.ns` since the gateway started. */
  invocationCount(fn: string): number {
    return this.counts.get(fn) ?? 0;
  }
}

/** Count one observation of `seconds` in the (fn, code) series of `map`. */
function observe(map: Map<string, Series>, fn: string, code: string, seconds: number): void {
  const key = `${fn} ${code}`;
  let s = map.get(key);
  if (!s) {
    s = { fn, code, count: 0, sum: 0, buckets: new Array<number>(INVOCATION_BUCKETS.length + 1).fill(0) };
    map.set(key, s);
  }
  s.count++;
  s.sum += seconds;
  let i = 0;
  while (i < INVOCATION_BUCKETS.length && seconds > INVOCATION_BUCKETS[i]!) i++;
  s.buckets[i]!++;
}

/**
 * Cumulative `_bucket` samples plus `_sum` and `_count`, as prom-client's
 * Histogram exports them; the series' second label is named `codeLabel`.
 */
function histogramSamples(s: Series, name = 'gateway_functions_seconds', codeLabel = 'code'): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  INVOCATION_BUCKETS.forEach((le, i) => {
    cumulative += s.buckets[i]!;
    out.push({ labels: { le, function_name: s.fn, [codeLabel]: s.code }, value: cumulative, metricName: `${name}_bucket` });
  });
  out.push({ labels: { le: '+Inf', function_name: s.fn, [codeLabel]: s.code }, value: s.count, metricName: `${name}_bucket` });
  out.push({ labels: { function_name: s.fn, [codeLabel]: s.code }, value: s.sum, metricName: `${name}_sum` });
  out.push({ labels: { function_name: s.fn, [codeLabel]: s.code }, value: s.count, metricName: `${name}_count` });
  return out;
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
