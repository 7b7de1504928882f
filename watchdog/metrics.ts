/** Function-route metrics with upstream names and labels (spec §4), on an own Registry. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const STANDARD_METHODS = new Set([
  'get', 'put', 'head', 'post', 'delete', 'connect', 'options', 'notify', 'trace', 'patch',
]);

/** Upstream label rule: lower-case standard methods, anything else `unknown`. */
export function methodLabel(method: string): string {
  const m = method.toLowerCase();
  return STANDARD_METHODS.has(m) ? m : 'unknown';
}

export interface WatchdogMetrics {
  readonly registry: Registry;
  /** Mark a function request started; call the returned function with the final status. */
  begin(method: string): (status: number) => void;
  /** Prometheus text exposition. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(): WatchdogMetrics {
  const registry = new Registry();
  const total = new Counter({
    name: 'http_requests_total',
    help: 'total HTTP requests processed',
    labelNames: ['code', 'method'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Seconds spent serving HTTP requests.',
    labelNames: ['code', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'The number of requests currently being served.',
    registers: [registry],
  });
  inflight.set(0);

  // Label children cached per (code, method): the label hashing is the costly part.
  const children = new Map<string, { c: { inc(): void }; h: { observe(v: number): void } }>();
  const child = (code: string, method: string) => {
    const key = `${code} ${method}`;
    let ch = children.get(key);
    if (!ch) {
      ch = { c: total.labels(code, method), h: duration.labels(code, method) };
      children.set(key, ch);
    }
    return ch;
  };

  return {
    registry,
    contentType: registry.contentType,
    begin(method) {
      const start = process.hrtime.bigint();
      inflight.inc();
      return (status) => {
        inflight.dec();
        const ch = child(String(status || 200), methodLabel(method));
        ch.c.inc();
        ch.h.observe(Number(process.hrtime.bigint() - start) / 1e9);
      };
    },
    scrape: () => registry.metrics(),
  };
}
