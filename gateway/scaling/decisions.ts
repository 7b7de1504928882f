/**
 * Scaling decisions: one log line and one counter increment per decision
 * (function, old → new, why), whoever made it (alert, embedded rule, idler).
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';

export type Direction = 'up' | 'down' | 'none';

export interface Decision {
  /** `fn.ns` */
  fn: string;
  from: number;
  to: number;
  /** Short, stable metric label: alert_firing, alert_resolved, idle, ... */
  reason: string;
  /** Human explanation for the log line. */
  why: string;
}

export class DecisionLog {
  private readonly counter: Counter<'function_name' | 'direction' | 'reason'>;

  constructor(
    registry: Registry,
    private readonly logger: Logger | undefined,
  ) {
    const existing = registry.getSingleMetric('gateway_scaling_decisions_total');
    this.counter =
      (existing as Counter<'function_name' | 'direction' | 'reason'> | undefined) ??
      new Counter({
        name: 'gateway_scaling_decisions_total',
        help: 'Autoscaling decisions by function, direction (up, down, none) and reason',
        labelNames: ['function_name', 'direction', 'reason'],
        registers: [registry],
      });
  }

  record(d: Decision): void {
    const direction: Direction = d.to > d.from ? 'up' : d.to < d.from ? 'down' : 'none';
    this.counter.inc({ function_name: d.fn, direction, reason: d.reason });
    this.logger?.info(
      { fn: d.fn, from: d.from, to: d.to, reason: d.reason, why: d.why },
      `scaling ${d.fn}: ${d.from} -> ${d.to} (${d.why})`,
    );
  }
}
