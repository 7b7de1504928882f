/**
 * Function-route metrics with upstream names and labels (spec §4), on an own
 * prom-client Registry. prom-client (~3 MB RSS) is loaded on the first function
 * request or scrape, so an idle watchdog that never served stays small; the
 * few observations made while it loads are replayed.
 */
import type { Counter, Histogram, Registry } from 'prom-client';

const STANDARD_METHODS = new Set([
  'get', 'put', 'head', 'post', 'delete', 'connect', 'options', 'notify', 'trace', 'patch',
]);

/** Upstream label rule: lower-case standard methods, anything else `unknown`. */
export function methodLabel(method: string): string {
  const m = method.toLowerCase();
  return STANDARD_METHODS.has(m) ? m : 'unknown';
}

export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface WatchdogMetrics {
  /** Mark a function request started; call the returned function with the final status. */
  begin(method: string): (status: number) => void;
  /** Prometheus text exposition. */
  scrape(): Promise<{ contentType: string; text: string }>;
}

interface Loaded {
  registry: Registry;
  observe(code: string, method: string, seconds: number): void;
}

function build(prom: typeof import('prom-client'), inflight: () => number): Loaded {
  const registry = new prom.Registry();
  const total: Counter<'code' | 'method'> = new prom.Counter({
    name: 'http_requests_total',
    help: 'total HTTP requests processed',
    labelNames: ['code', 'method'],
    registers: [registry],
  });
  const duration: Histogram<'code' | 'method'> = new prom.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Seconds spent serving HTTP requests.',
    labelNames: ['code', 'method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  new prom.Gauge({
    name: 'http_requests_in_flight',
    help: 'The number of requests currently being served.',
    registers: [registry],
    collect() {
      this.set(inflight());
    },
  });
  // Label children cached per (code, method): label hashing is the costly part.
  const children = new Map<string, { c: { inc(): void }; h: { observe(v: number): void } }>();
  return {
    registry,
    observe(code, method, seconds) {
      const key = `${code} ${method}`;
      let ch = children.get(key);
      if (!ch) {
        ch = { c: total.labels(code, method), h: duration.labels(code, method) };
        children.set(key, ch);
      }
      ch.c.inc();
      ch.h.observe(seconds);
    },
  };
}

export function createMetrics(): WatchdogMetrics {
  let inflight = 0;
  let loaded: Loaded | undefined;
  let loading: Promise<Loaded> | undefined;
  let pending: Array<[string, string, number]> = [];
  const load = (): Promise<Loaded> =>
    (loading ??= import('prom-client').then((mod) => {
      // CJS interop: the namespace may carry the exports on `default`.
      const prom = ((mod as { default?: unknown }).default ?? mod) as typeof import('prom-client');
      loaded = build(prom, () => inflight);
      for (const [c, m, s] of pending) loaded.observe(c, m, s);
      pending = [];
      return loaded;
    }));

  return {
    begin(method) {
      const start = process.hrtime.bigint();
      inflight++;
      if (!loaded) void load();
      return (status) => {
        inflight--;
        const code = String(status || 200);
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (loaded) loaded.observe(code, methodLabel(method), seconds);
        else pending.push([code, methodLabel(method), seconds]);
      };
    },
    async scrape() {
      const { registry } = await load();
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
