/**
 * The offload decision, as pure functions of what the gateway already knows:
 * the function's labels and env, its ready replicas and their in-flight
 * counts, and the last host load sample. Nothing here does I/O.
 */
import type { InvokeEndpoint } from '../../provider/index.js';
import { OFFLOAD_LABELS, parseMethods, type OffloadConfig } from './config.js';
import type { HostLoad } from './load.js';

/** Why a call went up (the `reason` label of gateway_offload_total). */
export const OFFLOAD_REASONS = ['not-deployed', 'no-ready-replica', 'saturated', 'timeout', 'host-cpu', 'host-memory'] as const;
export type OffloadReason = (typeof OFFLOAD_REASONS)[number];

/** Per-function offload settings, from labels (and `max_inflight` from the function's env). */
export interface FunctionOffload {
  /** False when the function opted out (label `com.faas-ts.offload=false`) or names an unknown parent. */
  readonly enabled: boolean;
  /** Parent base URL for this function (undefined: none configured for it). */
  readonly parentUrl: string | undefined;
  readonly retryMethods: ReadonlySet<string>;
  /** The replicas' `max_inflight` (0 = unlimited). */
  readonly maxInflight: number;
  /** Set when a label was not understood (logged by the caller). */
  readonly problem?: string;
}

/** Settings for a function that is not deployed here: default parent, no retries. */
export function absentFunction(config: OffloadConfig): FunctionOffload {
  return { enabled: config.parentUrl !== undefined, parentUrl: config.parentUrl, retryMethods: new Set(), maxInflight: 0 };
}

export function functionOffload(
  config: OffloadConfig,
  labels: Readonly<Record<string, string>> | null | undefined,
  envVars: Readonly<Record<string, string>> | undefined,
): FunctionOffload {
  const rawMax = envVars?.max_inflight?.trim();
  const maxInflight = rawMax && /^\d+$/.test(rawMax) ? Number(rawMax) : 0;
  let retryMethods = config.retryMethods;
  let problem: string | undefined;
  const rawMethods = labels?.[OFFLOAD_LABELS.retryMethods];
  if (rawMethods !== undefined) {
    const parsed = parseMethods(rawMethods);
    if (parsed) retryMethods = parsed;
    else problem = `label ${OFFLOAD_LABELS.retryMethods}=${JSON.stringify(rawMethods)} is not a method list (ignored)`;
  }
  if (labels?.[OFFLOAD_LABELS.enabled]?.trim() === 'false') {
    return { enabled: false, parentUrl: undefined, retryMethods, maxInflight, ...(problem ? { problem } : {}) };
  }
  let parentUrl = config.parentUrl;
  const named = labels?.[OFFLOAD_LABELS.parent]?.trim();
  if (named) {
    parentUrl = config.parents.get(named);
    if (parentUrl === undefined) problem = `label ${OFFLOAD_LABELS.parent}=${JSON.stringify(named)} names no parent in offload_parents (offload off)`;
  }
  return { enabled: parentUrl !== undefined, parentUrl, retryMethods, maxInflight, ...(problem ? { problem } : {}) };
}

/** Host load reason, CPU first. A threshold of 1 never triggers. */
export function hostReason(load: HostLoad, config: OffloadConfig): OffloadReason | undefined {
  if (config.cpuThreshold < 1 && load.cpu > config.cpuThreshold) return 'host-cpu';
  if (config.memoryThreshold < 1 && load.memory > config.memoryThreshold) return 'host-memory';
  return undefined;
}

/**
 * True when every ready replica already runs `maxInflight` calls from this
 * gateway: the next one would be answered 429, so it goes up before it is
 * sent (safe for every method).
 */
export function allSaturated(
  endpoints: readonly InvokeEndpoint[],
  inFlight: (e: InvokeEndpoint) => number,
  maxInflight: number,
): boolean {
  if (maxInflight <= 0 || endpoints.length === 0) return false;
  for (const e of endpoints) if (inFlight(e) < maxInflight) return false;
  return true;
}
