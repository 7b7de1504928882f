import type { FunctionResources, FunctionStatus, Secret } from './types.js';

/** Go's zero time.Time, which upstream emits when a creation time is unknown. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

function nonEmptyMap(m: Record<string, string> | undefined): Record<string, string> | undefined {
  return m && Object.keys(m).length > 0 ? m : undefined;
}

function nonEmptyArray(a: string[] | undefined): string[] | undefined {
  return a && a.length > 0 ? a : undefined;
}

function resources(r: FunctionResources | null | undefined): FunctionResources | undefined {
  if (!r) return undefined;
  const out: FunctionResources = {};
  for (const key of ['memory', 'cpu', 'nvidia.com/gpu', 'amd.com/gpu', 'intel.com/gpu'] as const) {
    if (r[key]) out[key] = r[key];
  }
  return out;
}

/**
 * FunctionStatus as upstream serialises it: known keys only, in upstream order,
 * empty values omitted, except `labels`/`annotations`/`limits`/`requests` which
 * are kept when `{}` (nullable objects upstream) and `createdAt` which is always present.
 */
export function serializeFunctionStatus(s: FunctionStatus): FunctionStatus {
  const out: FunctionStatus = { name: s.name, image: s.image };
  if (s.invocationCount) out.invocationCount = s.invocationCount;
  if (s.namespace) out.namespace = s.namespace;
  if (s.envProcess) out.envProcess = s.envProcess;
  const envVars = nonEmptyMap(s.envVars);
  if (envVars) out.envVars = envVars;
  const constraints = nonEmptyArray(s.constraints);
  if (constraints) out.constraints = constraints;
  const secrets = nonEmptyArray(s.secrets);
  if (secrets) out.secrets = secrets;
  if (s.labels) out.labels = s.labels;
  if (s.annotations) out.annotations = s.annotations;
  const limits = resources(s.limits);
  if (limits) out.limits = limits;
  const requests = resources(s.requests);
  if (requests) out.requests = requests;
  if (s.readOnlyRootFilesystem) out.readOnlyRootFilesystem = true;
  if (s.replicas) out.replicas = s.replicas;
  if (s.availableReplicas) out.availableReplicas = s.availableReplicas;
  out.createdAt = s.createdAt || ZERO_TIME;
  if (s.usage && (s.usage.cpu || s.usage.totalMemoryBytes)) {
    out.usage = {};
    if (s.usage.cpu) out.usage.cpu = s.usage.cpu;
    if (s.usage.totalMemoryBytes) out.usage.totalMemoryBytes = s.usage.totalMemoryBytes;
  }
  return out;
}

/** A secret as listed: name and namespace only, never the value. */
export function serializeSecretListItem(s: Secret): Secret {
  return s.namespace ? { name: s.name, namespace: s.namespace } : { name: s.name };
}

/** Secret bytes from `value`, or from base64 `rawValue` when `value` is empty. */
export function secretBytes(s: Secret): Buffer {
  if (s.value) return Buffer.from(s.value, 'utf8');
  if (s.rawValue) return Buffer.from(s.rawValue, 'base64');
  return Buffer.alloc(0);
}
