/**
 * Alert handling shared by POST /system/alert and the embedded rule engine
 * (spec gateway-api.md §7.1). For each alert: split `function_name` at its
 * last dot, read the function from the provider (missing → skipped), compute
 * the new count (labels.ts), scale when it differs, log and count the decision.
 *
 * Idempotence: alerts for one function are handled one at a time, and a
 * firing alert steps a function at most once per `cooldownMs` (Alertmanager
 * re-sends a whole group when any alert in it changes; those duplicates must
 * not add replicas). Resolved alerts are naturally idempotent.
 */
import type { Logger } from 'pino';
import { splitFunctionName, type Provider } from '../../provider/index.js';
import type { DecisionLog } from './decisions.js';
import { alertReplicas, scaleLimits } from './labels.js';

/** The keys of an Alertmanager v4 webhook payload that are read (spec §2.7). */
export interface AlertPayload {
  status?: string;
  receiver?: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

export class AlertFormatError extends Error {
  readonly code = 'GW_ERR_ALERT_FORMAT';
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A string field as Go decodes it: absent or null = unset; any other non-string is a format error. */
function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AlertFormatError(`${what} is not a string`);
  return v;
}

/**
 * Validate a parsed JSON body; throws AlertFormatError for anything that is
 * not an alert payload. The keys that are read must have their Go types (a
 * wrong type fails upstream's json.Unmarshal too): status and receiver
 * strings, alerts an array of objects, each with a string status and labels
 * an object of strings. null counts as absent, as in Go; other keys are ignored.
 */
export function parseAlertPayload(body: unknown): AlertPayload {
  if (!isObject(body)) throw new AlertFormatError('not an object');
  const alerts = body.alerts;
  if (alerts !== undefined && alerts !== null && !Array.isArray(alerts)) throw new AlertFormatError('alerts is not an array');
  const out: AlertPayload['alerts'] = [];
  for (const [i, a] of ((alerts as unknown[] | null | undefined) ?? []).entries()) {
    if (!isObject(a)) throw new AlertFormatError(`alerts[${i}] is not an object`);
    const lbls: Record<string, string> = {};
    if (a.labels !== undefined && a.labels !== null) {
      if (!isObject(a.labels)) throw new AlertFormatError(`alerts[${i}].labels is not an object`);
      for (const [k, v] of Object.entries(a.labels)) {
        const value = optionalString(v, `alerts[${i}].labels.${k}`);
        if (value !== undefined) lbls[k] = value;
      }
    }
    out.push({ status: optionalString(a.status, `alerts[${i}].status`) ?? '', labels: lbls });
  }
  return {
    status: optionalString(body.status, 'status'),
    receiver: optionalString(body.receiver, 'receiver'),
    alerts: out,
  };
}

export interface AlertHandlerOptions {
  provider: Provider;
  /** Gateway `function_namespace` for names without a dot ('' = provider default). */
  functionNamespace: string;
  decisions: DecisionLog;
  logger?: Logger;
  /** Minimum time between two firing steps of one function. Default 5 s. */
  cooldownMs?: number;
  /** Called after a scale, with `fn.ns` (the gateway drops its endpoint cache). */
  onScaled?: (label: string) => void;
  /** Clock (ms). */
  now?: () => number;
}

export interface AlertHandler {
  /**
   * Handle every alert; resolves to one `[i] error` message per failed scale
   * call (empty = all fine). `source` prefixes decision reasons: 'alert'
   * (webhook, the default) or 'rule' (embedded engine).
   */
  handle(payload: AlertPayload, source?: string): Promise<string[]>;
}

export const DEFAULT_ALERT_COOLDOWN_MS = 5_000;

export function createAlertHandler(opts: AlertHandlerOptions): AlertHandler {
  const { provider, decisions } = opts;
  const cooldownMs = opts.cooldownMs ?? DEFAULT_ALERT_COOLDOWN_MS;
  const now = opts.now ?? Date.now;
  const lastStep = new Map<string, number>();
  const locks = new Map<string, Promise<unknown>>();

  function serial<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    const next = prev.then(job, job);
    const tail = next.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return next;
  }

  async function one(alert: AlertPayload['alerts'][number], source: string): Promise<void> {
    const { name, namespace } = splitFunctionName(alert.labels.function_name ?? '', opts.functionNamespace);
    if (!name) return;
    const label = `${name}.${namespace || provider.defaultNamespace}`;
    await serial(label, async () => {
      let fn;
      try {
        fn = await provider.get(name, namespace || undefined);
      } catch (err) {
        opts.logger?.debug({ fn: label, err: (err as Error).message }, 'alert for an unreadable function skipped');
        return;
      }
      if (!fn) return;
      const current = fn.replicas ?? 0;
      const limits = scaleLimits(fn.labels);
      const firing = alert.status === 'firing';
      const alertname = alert.labels.alertname ?? 'alert';
      if (firing && current > 0 && now() - (lastStep.get(label) ?? -Infinity) < cooldownMs) {
        opts.logger?.debug({ fn: label, alertname }, 'firing alert within the cooldown: no step');
        return;
      }
      const d = alertReplicas(alert.status, current, limits);
      const why = [`${source} ${alertname}`, d.reason, ...limits.notes].join('; ');
      const reason = `${source}_${firing ? 'firing' : 'resolved'}`;
      if (d.replicas === current) {
        decisions.record({ fn: label, from: current, to: current, reason, why });
        return;
      }
      await provider.scale(name, d.replicas, namespace || undefined);
      if (firing) lastStep.set(label, now());
      else lastStep.delete(label);
      opts.onScaled?.(label);
      decisions.record({ fn: label, from: current, to: d.replicas, reason, why });
    });
  }

  return {
    async handle(payload, source = 'alert') {
      const errors: string[] = [];
      for (const [i, alert] of payload.alerts.entries()) {
        try {
          await one(alert, source);
        } catch (err) {
          errors.push(`[${i}] ${(err as Error).message}`);
          opts.logger?.error({ fn: alert.labels.function_name, err: (err as Error).message }, 'alert scale failed');
        }
      }
      return errors;
    },
  };
}
