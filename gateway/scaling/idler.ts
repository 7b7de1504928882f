/**
 * Scale to zero (spec async-scaling-providers.md §2.5, in-process): every
 * intervalMs, each function labelled `com.openfaas.scale.zero=true` with
 * replicas > 0 that has had no invocation for its idle duration (label
 * `com.openfaas.scale.zero-duration`, a Go duration, else the configured
 * default) and has none in flight is scaled to 0. Activity is read from the
 * gateway's own counters (no Prometheus query); the idle clock of a function
 * starts when the idler first sees it, so a restart never idles at once.
 */
import type { Logger } from 'pino';
import type { Provider } from '../../provider/index.js';
import type { DecisionLog } from './decisions.js';
import { LABEL_ZERO, LABEL_ZERO_DURATION } from './labels.js';

export interface IdlerOptions {
  provider: Provider;
  decisions: DecisionLog;
  /** Completed + in-flight invocation numbers per `fn.ns` (GatewayMetrics). */
  activity: { invocationCount(fn: string): number; inFlight(fn: string): number };
  defaultIdleMs: number;
  intervalMs: number;
  parseDurationMs: (v: string | undefined) => number | undefined;
  onScaled?: (label: string) => void;
  logger?: Logger;
  now?: () => number;
}

export interface Idler {
  /** One reconcile pass (the timer calls this too). */
  reconcile(): Promise<void>;
  close(): Promise<void>;
}

export function createIdler(opts: IdlerOptions): Idler {
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { count: number; since: number }>();
  let running: Promise<void> | undefined;
  let closed = false;

  async function reconcile(): Promise<void> {
    const t = now();
    const namespaces = await opts.provider.namespaces();
    const alive = new Set<string>();
    for (const ns of namespaces) {
      for (const fn of await opts.provider.list(ns)) {
        if (fn.labels?.[LABEL_ZERO] !== 'true') continue;
        const label = `${fn.name}.${fn.namespace || ns}`;
        alive.add(label);
        const count = opts.activity.invocationCount(label);
        const inFlight = opts.activity.inFlight(label);
        const prev = seen.get(label);
        if (!prev || prev.count !== count || inFlight > 0 || !fn.replicas) {
          seen.set(label, { count, since: t });
          continue;
        }
        const idleMs = opts.parseDurationMs(fn.labels[LABEL_ZERO_DURATION]) ?? opts.defaultIdleMs;
        if (t - prev.since < idleMs) continue;
        // Re-check right before scaling: a request may have started meanwhile.
        if (opts.activity.inFlight(label) > 0 || opts.activity.invocationCount(label) !== count) continue;
        const from = fn.replicas;
        await opts.provider.scale(fn.name, 0, fn.namespace || ns);
        opts.onScaled?.(label);
        seen.set(label, { count, since: t });
        opts.decisions.record({
          fn: label,
          from,
          to: 0,
          reason: 'idle',
          why: `no invocation for ${Math.round((t - prev.since) / 1000)}s (idle limit ${idleMs / 1000}s, ${LABEL_ZERO}=true)`,
        });
      }
    }
    for (const label of seen.keys()) if (!alive.has(label)) seen.delete(label);
  }

  const timer = setInterval(() => {
    if (running || closed) return;
    running = reconcile()
      .catch((err) => opts.logger?.warn({ err: (err as Error).message }, 'idler pass failed'))
      .finally(() => {
        running = undefined;
      });
  }, opts.intervalMs);
  timer.unref();

  return {
    reconcile,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
