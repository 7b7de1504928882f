/**
 * Scaling labels and the alert arithmetic (spec gateway-api.md §7.2-7.3,
 * async-scaling-providers.md §2.4), with our deliberate differences:
 *
 * - Default max is 20 and default factor 20 (upstream "classic"); no CE cap at 5.
 * - Non-integer or negative values fall back to the default (as upstream).
 * - min > max: max is raised to min (upstream would oscillate between them).
 * - factor 0: alert scaling is disabled for the function (no change at all;
 *   upstream CE skips the alert, classic resets to min on every webhook).
 * - factor > 100: the default factor is used (upstream classic).
 * - A resolved alert lowers replicas to min but never raises them: a function
 *   the idler put to 0 stays at 0 (upstream would wake it).
 */
export const LABEL_MIN = 'com.openfaas.scale.min';
export const LABEL_MAX = 'com.openfaas.scale.max';
export const LABEL_FACTOR = 'com.openfaas.scale.factor';
export const LABEL_ZERO = 'com.openfaas.scale.zero';
export const LABEL_ZERO_DURATION = 'com.openfaas.scale.zero-duration';

export const DEFAULT_MIN = 1;
export const DEFAULT_MAX = 20;
export const DEFAULT_FACTOR = 20;

export interface ScaleLimits {
  min: number;
  max: number;
  /** Percentage of max added per firing alert; 0 = alert scaling disabled. */
  factor: number;
  /** Notes on labels that were ignored or adjusted (for decision logs). */
  notes: string[];
}

function intLabel(labels: Record<string, string> | null | undefined, key: string): number | undefined | 'bad' {
  const raw = labels?.[key];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return /^\d+$/.test(v) ? Number(v) : 'bad';
}

export function scaleLimits(labels: Record<string, string> | null | undefined): ScaleLimits {
  const notes: string[] = [];
  const read = (key: string, fallback: number, ok: (n: number) => boolean): number => {
    const v = intLabel(labels, key);
    if (v === undefined) return fallback;
    if (v === 'bad' || !ok(v)) {
      notes.push(`${key}=${JSON.stringify(labels?.[key])} ignored, using ${fallback}`);
      return fallback;
    }
    return v;
  };
  const min = read(LABEL_MIN, DEFAULT_MIN, () => true);
  let max = read(LABEL_MAX, DEFAULT_MAX, (n) => n >= 1);
  const factor = read(LABEL_FACTOR, DEFAULT_FACTOR, (n) => n <= 100);
  if (min > max) {
    notes.push(`${LABEL_MIN} ${min} > ${LABEL_MAX} ${max}: max raised to ${min}`);
    max = min;
  }
  return { min, max, factor, notes };
}

/** Replicas added by one firing alert: ceil(max / 100 * factor), upstream's evaluation order. */
export function scaleStep(limits: ScaleLimits): number {
  return Math.ceil((limits.max / 100) * limits.factor);
}

export type AlertStatus = 'firing' | 'resolved';

export interface ReplicaDecision {
  replicas: number;
  reason: string;
}

/** New replica count for one alert on a function currently at `current` desired replicas. */
export function alertReplicas(status: string, current: number, limits: ScaleLimits): ReplicaDecision {
  if (limits.factor === 0) return { replicas: current, reason: `${LABEL_FACTOR}=0: alert scaling disabled` };
  if (status === 'firing') {
    const step = scaleStep(limits);
    const next = Math.max(limits.min, Math.min(current + step, limits.max));
    return { replicas: next, reason: `alert firing: +${step} within [${limits.min}, ${limits.max}]` };
  }
  if (current > limits.min) return { replicas: limits.min, reason: `alert ${status}: back to min ${limits.min}` };
  return { replicas: current, reason: `alert ${status}: already at or below min ${limits.min}` };
}
