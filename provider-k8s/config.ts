/**
 * Options of createK8sProvider, validated once into a frozen ResolvedK8sConfig.
 */
import { ProviderError, DEFAULT_NAMESPACE, isDns1123Label } from '../provider/index.js';

/** How endpoints() addresses replicas. */
export type EndpointMode =
  /** Ready pod addresses from EndpointSlices (one InvokeEndpoint per ready replica). */
  | 'endpointslices'
  /** The Service DNS name `<fn>.<ns>.svc.<clusterDomain>:8080` (kube-proxy balances). */
  | 'service';

export interface ProbeConfig {
  /** `http` probes GET `path` on port 8080; `exec` runs `cat /tmp/.lock` (upstream default). Default http. */
  type?: 'http' | 'exec';
  /** Readiness path. Default `/_/health` (the watchdog answers it). */
  readinessPath?: string;
  /** Liveness path. Default `/_/health`. */
  livenessPath?: string;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface K8sServerOptions {
  /** API server URL, e.g. `https://10.0.0.1:6443`. */
  server: string;
  /** Bearer token (a ServiceAccount token). */
  token?: string;
  /** PEM CA bundle, base64 (as in a kubeconfig `certificate-authority-data`). */
  caData?: string;
  /** Skip TLS verification; needed for plain http servers such as the test stand-in. */
  skipTLSVerify?: boolean;
}

export interface K8sLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface K8sProviderOptions {
  /** A loaded KubeConfig (`kc.loadFromCluster()` in a pod); or `cluster` below. */
  kubeConfig?: import('@kubernetes/client-node').KubeConfig;
  cluster?: K8sServerOptions;
  /** Default function namespace. Default `openfaas-fn`. */
  functionNamespace?: string;
  /**
   * Other namespaces the provider manages. `discover: true` (default) adds
   * every namespace labelled or annotated `openfaas: "1"` (upstream's rule);
   * `allowed` adds a fixed list.
   */
  namespaces?: { discover?: boolean; allowed?: string[] };
  /** Default `Always` (upstream). */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  probes?: ProbeConfig;
  /** Run function containers as uid 12000 (`set_nonroot_user`). Default false. */
  setNonRootUser?: boolean;
  /** Default `endpointslices`. */
  endpointMode?: EndpointMode;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Informer resync: a full re-list this often even without errors (ms). Default 5 min. */
  resyncMs?: number;
  /** Delay before restarting a failed watch (ms). Default 1000. */
  watchRetryMs?: number;
  /** Reported by info(). */
  version?: { release: string; sha: string; commit_message?: string };
  logger?: K8sLogger;
}

export interface ResolvedK8sConfig {
  functionNamespace: string;
  discoverNamespaces: boolean;
  allowedNamespaces: readonly string[];
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  probes: Required<ProbeConfig>;
  setNonRootUser: boolean;
  endpointMode: EndpointMode;
  clusterDomain: string;
  resyncMs: number;
  watchRetryMs: number;
  version: { release: string; sha: string; commit_message?: string };
}

function nonNegInt(problems: string[], name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a non-negative integer (got ${String(v)})`);
  return v;
}

export function resolveConfig(o: K8sProviderOptions): ResolvedK8sConfig {
  const problems: string[] = [];
  if (!o.kubeConfig && !o.cluster?.server) problems.push('one of kubeConfig or cluster.server is required');
  const functionNamespace = o.functionNamespace ?? DEFAULT_NAMESPACE;
  if (!isDns1123Label(functionNamespace)) problems.push(`functionNamespace ${JSON.stringify(functionNamespace)} is not a DNS-1123 label`);
  for (const ns of o.namespaces?.allowed ?? []) if (!isDns1123Label(ns)) problems.push(`namespaces.allowed: ${JSON.stringify(ns)} is not a DNS-1123 label`);
  const pull = o.imagePullPolicy ?? 'Always';
  if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) problems.push(`imagePullPolicy must be Always, IfNotPresent or Never (got ${pull})`);
  const mode = o.endpointMode ?? 'endpointslices';
  if (mode !== 'endpointslices' && mode !== 'service') problems.push(`endpointMode must be "endpointslices" or "service" (got ${String(mode)})`);
  const p = o.probes ?? {};
  const probeType = p.type ?? 'http';
  if (probeType !== 'http' && probeType !== 'exec') problems.push(`probes.type must be "http" or "exec"`);
  const probes: Required<ProbeConfig> = {
    type: probeType,
    readinessPath: p.readinessPath ?? '/_/health',
    livenessPath: p.livenessPath ?? '/_/health',
    initialDelaySeconds: nonNegInt(problems, 'probes.initialDelaySeconds (s)', p.initialDelaySeconds, 2),
    timeoutSeconds: nonNegInt(problems, 'probes.timeoutSeconds (s)', p.timeoutSeconds, 1),
    periodSeconds: nonNegInt(problems, 'probes.periodSeconds (s)', p.periodSeconds, 2),
    failureThreshold: nonNegInt(problems, 'probes.failureThreshold', p.failureThreshold, 3),
  };
  for (const path of [probes.readinessPath, probes.livenessPath]) if (!path.startsWith('/')) problems.push(`probe paths must start with "/" (got ${path})`);
  const resyncMs = nonNegInt(problems, 'resyncMs (ms)', o.resyncMs, 300_000);
  const watchRetryMs = nonNegInt(problems, 'watchRetryMs (ms)', o.watchRetryMs, 1000);
  if (problems.length > 0) throw new ProviderError('INVALID', `invalid provider-k8s options: ${problems.join('; ')}`);
  return Object.freeze({
    functionNamespace,
    discoverNamespaces: o.namespaces?.discover ?? true,
    allowedNamespaces: Object.freeze([...(o.namespaces?.allowed ?? [])]),
    imagePullPolicy: pull,
    probes: Object.freeze(probes),
    setNonRootUser: o.setNonRootUser ?? false,
    endpointMode: mode,
    clusterDomain: o.clusterDomain ?? 'cluster.local',
    resyncMs,
    watchRetryMs,
    version: o.version ?? { release: 'dev', sha: 'dev' },
  });
}
