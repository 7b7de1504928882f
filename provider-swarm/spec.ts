/**
 * FunctionDeployment ⇄ Swarm ServiceSpec (spec/async-scaling-providers.md §3.2, §3.3).
 * Pure functions: no Docker calls here, so the mapping is unit-tested on its own.
 *
 * Differences from upstream faas-swarm, on purpose:
 * - Namespaces are labels (`com.openfaas.namespace`); a function outside the default
 *   namespace runs as the service `NAME_NS` (`_` cannot occur in a DNS-1123 name, so
 *   the mapping is unambiguous). Services without the label belong to the default.
 * - The original resource strings are kept in the internal label
 *   `com.faas-ts.resources` so status reads them back as written (`128Mi`, not bytes).
 * - Updates keep the current replica count (upstream resets it to `com.openfaas.scale.min`).
 * - A bad resource quantity is a 400 (upstream logs it and drops the value).
 */
import type Dockerode from 'dockerode';
import { ProviderError, type FunctionDeployment, type FunctionResources, type FunctionStatus } from '../provider/index.js';
import { parseMemoryBytes, parseNanoCpus } from './units.js';

export const SECRETS_PATH = '/var/openfaas/secrets/';
export const FUNCTION_LABEL = 'com.openfaas.function';
export const NAMESPACE_LABEL = 'com.openfaas.namespace';
export const ANNOTATION_PREFIX = 'com.openfaas.annotations.';
export const SCALE_MIN_LABEL = 'com.openfaas.scale.min';
const UID_LABEL = 'com.openfaas.uid';
const RESOURCES_LABEL = 'com.faas-ts.resources';
const INTERNAL_LABELS = new Set([NAMESPACE_LABEL, UID_LABEL, RESOURCES_LABEL]);
export const DEFAULT_CONSTRAINTS = ['node.platform.os == linux'];
/** The watchdog's port inside every function container. */
export const WATCHDOG_PORT = 8080;

/**
 * How the gateway reaches replicas.
 * - `dnsrr-hostport`: endpoint mode dnsrr plus one host-mode published port per task
 *   (left to Docker, so several tasks fit on one node); for a gateway on the host,
 *   and the only mode that works on kernels without IPVS from outside the swarm.
 * - `tasks-dns`: endpoint mode dnsrr, replicas addressed by their IPs on the functions
 *   network (what `tasks.NAME` resolves to); for a gateway inside the swarm.
 * - `vip`: upstream's default, one endpoint `http://NAME:8080` (needs IPVS).
 */
export type EndpointMode = 'dnsrr-hostport' | 'tasks-dns' | 'vip';

export interface SpecOptions {
  network: string;
  endpointMode: EndpointMode;
  defaultNamespace: string;
  restartDelayMs: number;
}

/** Docker service name for a function: `NAME` in the default namespace, else `NAME_NS`. */
export function serviceName(name: string, namespace: string, defaultNamespace: string): string {
  const s = namespace === defaultNamespace ? name : `${name}_${namespace}`;
  if (s.length > 63) throw ProviderError.invalid(`function name and namespace are too long together for a Swarm service name: ${s}`);
  return s;
}

export interface SecretRef {
  /** Function-facing secret name (file name under /var/openfaas/secrets). */
  name: string;
  /** Docker's secret id and name (a version of it, see secrets.ts). */
  id: string;
  dockerName: string;
}

function buildLabels(spec: FunctionDeployment, namespace: string, defaultNamespace: string): Record<string, string> {
  const labels: Record<string, string> = { [FUNCTION_LABEL]: spec.service, function: 'true' };
  for (const [k, v] of Object.entries(spec.labels ?? {})) labels[k] = String(v);
  for (const [k, v] of Object.entries(spec.annotations ?? {})) {
    const key = ANNOTATION_PREFIX + k;
    if (key in labels) throw ProviderError.invalid(`annotation ${JSON.stringify(k)} collides with the label ${JSON.stringify(key)}`);
    labels[key] = String(v);
  }
  if (namespace !== defaultNamespace) labels[NAMESPACE_LABEL] = namespace;
  const resources = { limits: spec.limits ?? undefined, requests: spec.requests ?? undefined };
  if (resources.limits || resources.requests) labels[RESOURCES_LABEL] = JSON.stringify(resources);
  return labels;
}

function resourceSide(which: 'limits' | 'requests', r: FunctionResources | null | undefined): Dockerode.ResourceRequirements['Limits'] | undefined {
  if (!r) return undefined;
  const out: { MemoryBytes?: number; NanoCPUs?: number } = {};
  if (r.memory) out.MemoryBytes = parseMemoryBytes(`${which}.memory`, r.memory);
  if (r.cpu) out.NanoCPUs = parseNanoCpus(`${which}.cpu`, r.cpu);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The replica count a new service starts with: `com.openfaas.scale.min`, default 1. */
export function initialReplicas(spec: FunctionDeployment): number {
  const raw = spec.labels?.[SCALE_MIN_LABEL];
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw ProviderError.invalid(`label ${SCALE_MIN_LABEL} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** The full ServiceSpec for a deployment. `replicas` decides Mode; `uid` forces a rolling restart on update. */
export function buildServiceSpec(
  spec: FunctionDeployment,
  secrets: SecretRef[],
  opts: SpecOptions,
  replicas: number,
  uid?: string,
): Dockerode.ServiceSpec {
  const namespace = spec.namespace || opts.defaultNamespace;
  const labels = buildLabels(spec, namespace, opts.defaultNamespace);
  const containerLabels = uid ? { ...labels, [UID_LABEL]: uid } : { ...labels };
  const env: string[] = [];
  if (spec.envProcess) env.push(`fprocess=${spec.envProcess}`);
  for (const [k, v] of Object.entries(spec.envVars ?? {})) {
    if (!k || k.includes('=')) throw ProviderError.invalid(`envVars key ${JSON.stringify(k)} is not a valid variable name`);
    env.push(`${k}=${v}`);
  }
  const containerSpec: Dockerode.ContainerSpec = {
    Image: spec.image,
    Labels: containerLabels,
    ...(env.length > 0 ? { Env: env } : {}),
  };
  if (secrets.length > 0) {
    containerSpec.Secrets = secrets.map((s) => ({
      SecretID: s.id,
      SecretName: s.dockerName,
      File: { Name: SECRETS_PATH + s.name, UID: '0', GID: '0', Mode: 0o444 },
    }));
  }
  if (spec.readOnlyRootFilesystem) {
    containerSpec.ReadOnly = true;
    containerSpec.Mounts = [{ Type: 'tmpfs', Source: '', Target: '/tmp' }];
  }
  const limits = resourceSide('limits', spec.limits);
  const reservations = resourceSide('requests', spec.requests);
  const resources = limits || reservations ? { ...(limits ? { Limits: limits } : {}), ...(reservations ? { Reservations: reservations } : {}) } : undefined;
  const constraints = spec.constraints && spec.constraints.length > 0 ? [...spec.constraints] : DEFAULT_CONSTRAINTS;

  const endpoint: Dockerode.EndpointSpec =
    opts.endpointMode === 'vip'
      ? { Mode: 'vip' }
      : opts.endpointMode === 'tasks-dns'
        ? { Mode: 'dnsrr' }
        : { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: WATCHDOG_PORT, PublishMode: 'host' }] };

  return {
    Name: serviceName(spec.service, namespace, opts.defaultNamespace),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: containerSpec,
      ...(resources ? { Resources: resources } : {}),
      RestartPolicy: { Condition: 'any', MaxAttempts: 5, Delay: opts.restartDelayMs * 1e6 },
      Placement: { Constraints: constraints },
      Networks: [{ Target: opts.network }],
    },
    Mode: { Replicated: { Replicas: replicas } },
    UpdateConfig: { Parallelism: 1, FailureAction: 'rollback', Order: 'start-first' },
    RollbackConfig: { Parallelism: 1, FailureAction: 'pause', Order: 'start-first' },
    EndpointSpec: endpoint,
  };
}

/** True for services that are functions (upstream recognises them by the `function` label). */
export function isFunctionService(spec: Dockerode.ServiceSpec | undefined): boolean {
  const labels = spec?.TaskTemplate && 'ContainerSpec' in spec.TaskTemplate ? spec.TaskTemplate.ContainerSpec?.Labels : undefined;
  return Boolean(labels?.function || spec?.Labels?.function);
}

/** Namespace of a function service (default when unlabelled, e.g. created by upstream faas-swarm). */
export function serviceNamespace(spec: Dockerode.ServiceSpec, defaultNamespace: string): string {
  return spec.Labels?.[NAMESPACE_LABEL] || defaultNamespace;
}

/** FunctionStatus (without availableReplicas) read back from a service. */
export function statusFromService(service: Dockerode.Service, defaultNamespace: string): FunctionStatus {
  const spec = service.Spec!;
  const task = spec.TaskTemplate as Dockerode.ContainerTaskSpec;
  const c = task.ContainerSpec ?? {};
  const all = spec.Labels ?? {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(ANNOTATION_PREFIX)) annotations[k.slice(ANNOTATION_PREFIX.length)] = v;
    else if (!INTERNAL_LABELS.has(k)) labels[k] = v;
  }
  const name = all[FUNCTION_LABEL] || spec.Name!;
  labels.faas_function = name;
  let envProcess: string | undefined;
  const envVars: Record<string, string> = {};
  for (const e of c.Env ?? []) {
    const i = e.indexOf('=');
    const k = i < 0 ? e : e.slice(0, i);
    const v = i < 0 ? '' : e.slice(i + 1);
    if (k === 'fprocess' && envProcess === undefined) envProcess = v;
    else envVars[k] = v;
  }
  const secrets = (c.Secrets ?? [])
    .map((s) => s.File?.Name ?? '')
    .filter((f) => f.startsWith(SECRETS_PATH))
    .map((f) => f.slice(SECRETS_PATH.length));
  const constraints = task.Placement?.Constraints ?? [];
  let resources: { limits?: FunctionResources; requests?: FunctionResources } = {};
  try {
    if (all[RESOURCES_LABEL]) resources = JSON.parse(all[RESOURCES_LABEL]);
  } catch {
    // a hand-edited label: fall back to no resources
  }
  const status: FunctionStatus = {
    name,
    image: c.Image ?? '',
    namespace: serviceNamespace(spec, defaultNamespace),
    labels,
    // Always an object: clients (the certifier) dereference it, and labels cannot
    // tell an empty map from none.
    annotations,
    replicas: spec.Mode?.Replicated?.Replicas ?? 0,
    availableReplicas: 0,
    createdAt: service.CreatedAt ?? undefined,
  };
  if (envProcess) status.envProcess = envProcess;
  if (Object.keys(envVars).length > 0) status.envVars = envVars;
  if (secrets.length > 0) status.secrets = secrets;
  if (constraints.length > 0 && !(constraints.length === 1 && constraints[0] === DEFAULT_CONSTRAINTS[0])) status.constraints = [...constraints];
  if (resources.limits) status.limits = resources.limits;
  if (resources.requests) status.requests = resources.requests;
  if (c.ReadOnly) status.readOnlyRootFilesystem = true;
  return status;
}
