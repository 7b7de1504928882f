/**
 * FunctionDeployment → Deployment / Service / Secret / Namespace bodies, and
 * Deployment → FunctionStatus (spec/async-scaling-providers.md §4.1, §4.2).
 * Pure functions over plain JSON-shaped objects (the client-node model types).
 */
import type { V1Deployment, V1Namespace, V1Secret, V1Service, V1Container, V1Volume, V1VolumeMount, V1Probe, V1ResourceRequirements } from '@kubernetes/client-node';
import { ProviderError, type FunctionDeployment, type FunctionResources, type FunctionStatus, ZERO_TIME } from '../provider/index.js';
import type { ResolvedK8sConfig } from './config.js';

export const FUNCTION_LABEL = 'faas_function';
export const SECRET_MANAGED_LABEL = 'app.kubernetes.io/managed-by';
export const SECRET_MANAGED_VALUE = 'openfaas';
/** Label/annotation marking a namespace as a function namespace (upstream). */
export const NAMESPACE_MARK = 'openfaas';
export const WATCHDOG_PORT = 8080;
export const SECRETS_MOUNT_PATH = '/var/openfaas/secrets';
const SCALE_MIN_LABEL = 'com.openfaas.scale.min';
const NON_ROOT_UID = 12000;

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
const RESOURCE_KEYS = ['memory', 'cpu', 'nvidia.com/gpu', 'amd.com/gpu', 'intel.com/gpu'] as const;

/** Secret name → the keys it holds (read before deploy: each becomes a file). */
export type SecretKeys = Map<string, string[]>;

function quantities(field: string, r: FunctionResources | null | undefined): Record<string, string> | undefined {
  if (!r) return undefined;
  const out: Record<string, string> = {};
  for (const k of RESOURCE_KEYS) {
    const v = r[k];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !QUANTITY.test(v)) throw ProviderError.invalid(`${field}.${k} ${JSON.stringify(v)} is not a valid Kubernetes quantity (e.g. "128Mi", "100m")`);
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Validate what the provider (not the API server) rejects, before any API call. */
export function checkDeployment(spec: FunctionDeployment): void {
  if (!spec.image) throw ProviderError.invalid('image is required');
  for (const k of Object.keys(spec.annotations ?? {})) {
    if (k.includes('amazonaws.com') || k.includes('gke.io')) throw ProviderError.invalid(`annotation ${JSON.stringify(k)} is not allowed (reserved cloud provider key)`);
  }
  if (spec.annotations?.topic?.includes(',')) throw ProviderError.invalid('annotation "topic" may not contain a comma');
  quantities('limits', spec.limits);
  quantities('requests', spec.requests);
  for (const c of spec.constraints ?? []) parseConstraint(c);
}

/** `key=value` or Swarm-style `key == value` → [key, value]. */
export function parseConstraint(c: string): [string, string] {
  const m = c.match(/^\s*([^=!\s]+)\s*==?\s*(\S*)\s*$/);
  if (!m) throw ProviderError.invalid(`constraint ${JSON.stringify(c)} must be "key=value"`);
  return [m[1]!, m[2]!];
}

export function initialReplicas(labels: Record<string, string> | null | undefined): number | undefined {
  const v = labels?.[SCALE_MIN_LABEL];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export function functionAnnotations(spec: FunctionDeployment): Record<string, string> {
  const a: Record<string, string> = { ...(spec.annotations ?? {}) };
  if (a['prometheus.io.scrape'] === undefined) a['prometheus.io.scrape'] = 'false';
  return a;
}

function probe(cfg: ResolvedK8sConfig, path: string): V1Probe {
  const handler =
    cfg.probes.type === 'http'
      ? { httpGet: { path, port: WATCHDOG_PORT, scheme: 'HTTP' } }
      : { exec: { command: ['cat', '/tmp/.lock'] } };
  return {
    ...handler,
    initialDelaySeconds: cfg.probes.initialDelaySeconds,
    timeoutSeconds: cfg.probes.timeoutSeconds,
    periodSeconds: cfg.probes.periodSeconds,
    successThreshold: 1,
    failureThreshold: cfg.probes.failureThreshold,
  } as V1Probe;
}

export function buildDeployment(spec: FunctionDeployment, namespace: string, cfg: ResolvedK8sConfig, secrets: SecretKeys, replicas: number): V1Deployment {
  const name = spec.service;
  const annotations = functionAnnotations(spec);
  const env = [
    ...(spec.envProcess ? [{ name: 'fprocess', value: spec.envProcess }] : []),
    ...Object.entries(spec.envVars ?? {}).filter(([k]) => k !== 'fprocess' || !spec.envProcess).map(([k, v]) => ({ name: k, value: String(v) })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  if (spec.readOnlyRootFilesystem) {
    volumes.push({ name: 'temp', emptyDir: {} });
    mounts.push({ name: 'temp', mountPath: '/tmp', readOnly: false });
  }
  if ((spec.secrets ?? []).length > 0) {
    const vol = `${name}-projected-secrets`;
    volumes.push({
      name: vol,
      projected: {
        sources: (spec.secrets ?? []).map((s) => ({ secret: { name: s, items: (secrets.get(s) ?? [s]).map((k) => ({ key: k, path: k })) } })),
      },
    });
    mounts.push({ name: vol, mountPath: SECRETS_MOUNT_PATH, readOnly: true });
  }

  const resources: V1ResourceRequirements = {};
  const limits = quantities('limits', spec.limits);
  const requests = quantities('requests', spec.requests);
  if (limits) resources.limits = limits;
  if (requests) resources.requests = requests;

  const container: V1Container = {
    name,
    image: spec.image,
    ports: [{ name: 'http', containerPort: WATCHDOG_PORT, protocol: 'TCP' }],
    env,
    resources,
    imagePullPolicy: cfg.imagePullPolicy,
    readinessProbe: probe(cfg, cfg.probes.readinessPath),
    livenessProbe: probe(cfg, cfg.probes.livenessPath),
    securityContext: {
      readOnlyRootFilesystem: spec.readOnlyRootFilesystem === true,
      allowPrivilegeEscalation: false,
      ...(cfg.setNonRootUser ? { runAsUser: NON_ROOT_UID } : {}),
    },
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  const nodeSelector = Object.fromEntries((spec.constraints ?? []).map(parseConstraint));

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { [FUNCTION_LABEL]: name }, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { [FUNCTION_LABEL]: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      revisionHistoryLimit: 10,
      template: {
        metadata: { labels: { ...(spec.labels ?? {}), [FUNCTION_LABEL]: name }, annotations },
        spec: {
          containers: [container],
          ...(volumes.length > 0 ? { volumes } : {}),
          ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
        },
      },
    },
  };
}

export function buildService(spec: FunctionDeployment, namespace: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: spec.service, namespace, labels: { [FUNCTION_LABEL]: spec.service }, annotations: functionAnnotations(spec) },
    spec: {
      type: 'ClusterIP',
      selector: { [FUNCTION_LABEL]: spec.service },
      ports: [{ name: 'http', protocol: 'TCP', port: WATCHDOG_PORT, targetPort: WATCHDOG_PORT }],
    },
  };
}

export function buildSecret(name: string, namespace: string, value: Buffer): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace, labels: { [SECRET_MANAGED_LABEL]: SECRET_MANAGED_VALUE } },
    data: { [name]: value.toString('base64') },
  };
}

export function buildNamespace(name: string, labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...(labels ?? {}), [NAMESPACE_MARK]: '1' }, annotations: { ...(annotations ?? {}), [NAMESPACE_MARK]: '1' } },
  };
}

export function isFunctionNamespace(ns: V1Namespace): boolean {
  return ns.metadata?.labels?.[NAMESPACE_MARK] === '1' || ns.metadata?.annotations?.[NAMESPACE_MARK] === '1';
}

function isoTime(t: Date | string | undefined): string {
  if (!t) return ZERO_TIME;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? ZERO_TIME : d.toISOString().replace(/\.000Z$/, 'Z');
}

/** A Deployment as the FunctionStatus upstream reports (§4.2). */
export function deploymentToStatus(d: V1Deployment): FunctionStatus {
  const tpl = d.spec?.template;
  const c = tpl?.spec?.containers?.[0];
  const envVars: Record<string, string> = {};
  let envProcess: string | undefined;
  for (const e of c?.env ?? []) {
    if (e.name === 'fprocess') envProcess = e.value ?? '';
    else envVars[e.name] = e.value ?? '';
  }
  const projected = tpl?.spec?.volumes?.find((v) => v.name === `${d.metadata?.name}-projected-secrets`);
  const secrets = (projected?.projected?.sources ?? []).map((s) => s.secret?.name).filter((s): s is string => !!s);
  const constraints = Object.entries(tpl?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
  const res = (m: Record<string, string> | undefined): FunctionResources | undefined => {
    if (!m) return undefined;
    const out: FunctionResources = {};
    for (const k of RESOURCE_KEYS) if (m[k] !== undefined) out[k] = String(m[k]);
    return out;
  };
  const status: FunctionStatus = {
    name: d.metadata?.name ?? '',
    image: c?.image ?? '',
    namespace: d.metadata?.namespace ?? '',
    labels: { ...(tpl?.metadata?.labels ?? {}) },
    annotations: { ...(tpl?.metadata?.annotations ?? {}) },
    replicas: d.spec?.replicas ?? 0,
    availableReplicas: d.status?.availableReplicas ?? 0,
    createdAt: isoTime(d.metadata?.creationTimestamp as Date | string | undefined),
  };
  if (envProcess !== undefined) status.envProcess = envProcess;
  if (Object.keys(envVars).length > 0) status.envVars = envVars;
  if (secrets.length > 0) status.secrets = secrets;
  if (constraints.length > 0) status.constraints = constraints;
  const limits = res(c?.resources?.limits as Record<string, string> | undefined);
  const requests = res(c?.resources?.requests as Record<string, string> | undefined);
  if (limits) status.limits = limits;
  if (requests) status.requests = requests;
  if (c?.securityContext?.readOnlyRootFilesystem) status.readOnlyRootFilesystem = true;
  return status;
}
