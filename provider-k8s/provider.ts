/**
 * The Provider interface on Kubernetes (spec/async-scaling-providers.md §4):
 * a function is a Deployment + a ClusterIP Service named after it; secrets are
 * labelled Opaque Secrets; replicas go through the deployments/scale
 * subresource; endpoints come from EndpointSlice informers (or the Service
 * DNS name); logs from pods/log.
 */
import type {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  V1Deployment,
  V1EndpointSlice,
  V1Namespace,
  V1Pod,
  V1Secret,
  V1Service,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import {
  ProviderError,
  assertDns1123Label,
  secretBytes,
  type FunctionDeployment,
  type FunctionNamespace,
  type FunctionStatus,
  type InvokeEndpoint,
  type LogMessage,
  type LogRequest,
  type Provider,
  type ProviderInfo,
  type Secret,
} from '../provider/index.js';
import { loadClientNode } from './client-node.js';
import { resolveConfig, type K8sLogger, type K8sProviderOptions, type ResolvedK8sConfig } from './config.js';
import { isConflict, isNotFound, toProviderError } from './errors.js';
import { podLogs } from './logs.js';
import {
  FUNCTION_LABEL,
  SECRET_MANAGED_LABEL,
  SECRET_MANAGED_VALUE,
  WATCHDOG_PORT,
  buildDeployment,
  buildNamespace,
  buildSecret,
  buildService,
  checkDeployment,
  deploymentToStatus,
  initialReplicas,
  isFunctionNamespace,
  type SecretKeys,
} from './objects.js';
import { Reflector, type ReflectorStats } from './reflector.js';

const SLICE_SERVICE_LABEL = 'kubernetes.io/service-name';
const UPDATE_RETRIES = 5;
/** How long deploy waits for a function that is being removed to go (ms). */
const TERMINATING_WAIT_MS = 30_000;
/** How long a call waits for an informer's first list before asking the API directly. */
const SYNC_WAIT_MS = 2000;

interface NamespaceCaches {
  deployments: Reflector<V1Deployment>;
  slices: Reflector<V1EndpointSlice>;
}

export interface K8sProvider extends Provider {
  /** The resolved, frozen options. */
  readonly config: ResolvedK8sConfig;
  /** Informer counters per cache name (`deployments/<ns>`, `endpointslices/<ns>`, `namespaces`). */
  cacheStats(): Record<string, ReflectorStats>;
  /** Re-list every informer now. */
  resync(): void;
}

function isGone(d: V1Deployment | undefined): boolean {
  return !d || !!d.metadata?.deletionTimestamp;
}

class KubernetesProvider implements K8sProvider {
  readonly defaultNamespace: string;
  private readonly caches = new Map<string, NamespaceCaches>();
  private namespaceCache: Reflector<V1Namespace> | undefined;
  private closed = false;

  constructor(
    readonly config: ResolvedK8sConfig,
    private readonly apps: AppsV1Api,
    private readonly core: CoreV1Api,
    private readonly discovery: DiscoveryV1Api,
    private readonly versionApi: VersionApi,
    private readonly watch: Watch,
    private readonly kc: KubeConfig,
    private readonly logger: K8sLogger | undefined,
  ) {
    this.defaultNamespace = config.functionNamespace;
    if (config.discoverNamespaces) {
      this.namespaceCache = new Reflector<V1Namespace>({
        name: 'namespaces',
        watch,
        path: '/api/v1/namespaces',
        list: () => this.core.listNamespace(),
        resyncMs: config.resyncMs,
        retryMs: config.watchRetryMs,
        logger,
      });
      this.namespaceCache.start();
    }
    this.cachesFor(this.defaultNamespace);
  }

  // ---- namespaces ---------------------------------------------------------

  private nsOf(namespace: string | undefined): string {
    return namespace || this.defaultNamespace;
  }

  private isStaticallyAllowed(ns: string): boolean {
    return ns === this.defaultNamespace || this.config.allowedNamespaces.includes(ns);
  }

  /** INVALID unless `ns` is a function namespace (default, allowed, or marked `openfaas: "1"`). */
  private async managed(namespace: string | undefined): Promise<string> {
    const ns = this.nsOf(namespace);
    if (this.isStaticallyAllowed(ns)) return ns;
    assertDns1123Label('namespace', ns);
    if (this.config.discoverNamespaces) {
      const cached = this.namespaceCache?.isSynced() ? this.namespaceCache.get('', ns) : undefined;
      if (cached && isFunctionNamespace(cached) && !cached.metadata?.deletionTimestamp) return ns;
      try {
        const live = await this.core.readNamespace({ name: ns });
        if (isFunctionNamespace(live) && !live.metadata?.deletionTimestamp) return ns;
      } catch (err) {
        if (!isNotFound(err) && (err as { code?: number }).code !== 403) throw toProviderError(err, `namespace ${ns}`);
      }
    }
    throw ProviderError.invalid(`namespace ${JSON.stringify(ns)} is not a function namespace (label or annotate it openfaas: "1")`);
  }

  async namespaces(): Promise<string[]> {
    const out = new Set<string>([this.defaultNamespace, ...this.config.allowedNamespaces]);
    if (this.namespaceCache) {
      let all: V1Namespace[] | undefined;
      if (await this.namespaceCache.waitSynced(SYNC_WAIT_MS)) all = this.namespaceCache.values();
      else {
        try {
          all = (await this.core.listNamespace()).items;
        } catch (err) {
          // Without the namespaces ClusterRole the provider still serves its configured namespaces.
          if ((err as { code?: number }).code !== 403) throw toProviderError(err, 'namespaces');
          this.logger?.warn({ err: String(err) }, 'namespaces cannot be listed (RBAC); serving the configured ones only');
        }
      }
      for (const n of all ?? []) {
        if (isFunctionNamespace(n) && !n.metadata?.deletionTimestamp && n.metadata?.name) out.add(n.metadata.name);
      }
    }
    return [...out].sort();
  }

  private toFunctionNamespace(n: V1Namespace): FunctionNamespace {
    const labels = { ...(n.metadata?.labels ?? {}) };
    delete labels['kubernetes.io/metadata.name'];
    return { name: n.metadata?.name ?? '', labels, annotations: { ...(n.metadata?.annotations ?? {}) } };
  }

  private async readFunctionNamespace(name: string): Promise<V1Namespace | undefined> {
    try {
      const n = await this.core.readNamespace({ name });
      return isFunctionNamespace(n) && !n.metadata?.deletionTimestamp ? n : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toProviderError(err, `namespace ${name}`);
    }
  }

  async getNamespace(name: string): Promise<FunctionNamespace | undefined> {
    assertDns1123Label('namespace', name);
    const n = await this.readFunctionNamespace(name);
    return n && this.toFunctionNamespace(n);
  }

  async createNamespace(ns: FunctionNamespace): Promise<void> {
    assertDns1123Label('namespace', ns.name);
    try {
      const created = await this.core.createNamespace({ body: buildNamespace(ns.name, ns.labels, ns.annotations) });
      this.namespaceCache?.upsertLocal(created);
    } catch (err) {
      throw toProviderError(err, `namespace ${ns.name}`);
    }
  }

  async updateNamespace(ns: FunctionNamespace): Promise<void> {
    assertDns1123Label('namespace', ns.name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.readFunctionNamespace(ns.name);
      if (!cur) throw ProviderError.notFound(`namespace ${ns.name}`);
      const body = buildNamespace(ns.name, ns.labels, ns.annotations);
      body.metadata!.resourceVersion = cur.metadata?.resourceVersion;
      try {
        const updated = await this.core.replaceNamespace({ name: ns.name, body });
        this.namespaceCache?.upsertLocal(updated);
        return;
      } catch (err) {
        if (isConflict(err) && attempt < UPDATE_RETRIES) continue;
        throw toProviderError(err, `namespace ${ns.name}`);
      }
    }
  }

  async deleteNamespace(name: string): Promise<void> {
    assertDns1123Label('namespace', name);
    if (name === this.defaultNamespace) throw ProviderError.invalid(`the default namespace ${name} cannot be deleted`);
    if (!(await this.readFunctionNamespace(name))) throw ProviderError.notFound(`namespace ${name}`);
    try {
      await this.core.deleteNamespace({ name });
    } catch (err) {
      throw toProviderError(err, `namespace ${name}`);
    }
    this.namespaceCache?.deleteLocal('', name);
    const c = this.caches.get(name);
    this.caches.delete(name);
    if (c) await Promise.all([c.deployments.stop(), c.slices.stop()]);
  }

  // ---- caches -------------------------------------------------------------

  private cachesFor(ns: string): NamespaceCaches {
    let c = this.caches.get(ns);
    if (c) return c;
    const common = { watch: this.watch, resyncMs: this.config.resyncMs, retryMs: this.config.watchRetryMs, logger: this.logger };
    c = {
      deployments: new Reflector<V1Deployment>({
        ...common,
        name: `deployments/${ns}`,
        path: `/apis/apps/v1/namespaces/${ns}/deployments`,
        labelSelector: FUNCTION_LABEL,
        list: () => this.apps.listNamespacedDeployment({ namespace: ns, labelSelector: FUNCTION_LABEL }),
      }),
      slices: new Reflector<V1EndpointSlice>({
        ...common,
        name: `endpointslices/${ns}`,
        path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        labelSelector: SLICE_SERVICE_LABEL,
        list: () => this.discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: SLICE_SERVICE_LABEL }),
      }),
    };
    this.caches.set(ns, c);
    if (!this.closed) {
      c.deployments.start();
      if (this.config.endpointMode === 'endpointslices') c.slices.start();
    }
    return c;
  }

  cacheStats(): Record<string, ReflectorStats> {
    const out: Record<string, ReflectorStats> = {};
    if (this.namespaceCache) out.namespaces = { ...this.namespaceCache.stats };
    for (const [ns, c] of this.caches) {
      out[`deployments/${ns}`] = { ...c.deployments.stats };
      out[`endpointslices/${ns}`] = { ...c.slices.stats };
    }
    return out;
  }

  resync(): void {
    this.namespaceCache?.resync();
    for (const c of this.caches.values()) {
      c.deployments.resync();
      c.slices.resync();
    }
  }

  // ---- functions ----------------------------------------------------------

  private async secretKeys(ns: string, names: string[]): Promise<SecretKeys> {
    for (const name of names) assertDns1123Label('secret name', name);
    const out: SecretKeys = new Map();
    const missing: string[] = [];
    for (const name of names) {
      try {
        const s = await this.core.readNamespacedSecret({ name, namespace: ns });
        out.set(name, Object.keys(s.data ?? {}).sort());
      } catch (err) {
        if (isNotFound(err)) missing.push(name);
        else throw toProviderError(err, `secret ${name}.${ns}`);
      }
    }
    if (missing.length > 0) throw ProviderError.invalid(`unable to fetch secrets: ${missing.join(', ')} not found in namespace ${ns}`);
    return out;
  }

  async deploy(spec: FunctionDeployment): Promise<void> {
    assertDns1123Label('service', spec.service);
    const ns = await this.managed(spec.namespace);
    checkDeployment(spec);
    const secrets = await this.secretKeys(ns, spec.secrets ?? []);
    const body = buildDeployment(spec, ns, this.config, secrets, initialReplicas(spec.labels) ?? 1);
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.apps.createNamespacedDeployment({ namespace: ns, body });
        this.cachesFor(ns).deployments.upsertLocal(created);
        break;
      } catch (err) {
        if (!isConflict(err)) throw toProviderError(err, `function ${spec.service}.${ns}`);
      }
      // It exists: update it, unless it is still being deleted (a remove just
      // before this deploy), in which case wait for it to go and create again.
      if (!(await this.waitWhileTerminating(spec.service, ns)) || attempt >= UPDATE_RETRIES) {
        await this.updateDeployment(spec, ns, secrets);
        break;
      }
    }
    await this.applyService(spec, ns);
  }

  async update(spec: FunctionDeployment): Promise<void> {
    assertDns1123Label('service', spec.service);
    const ns = await this.managed(spec.namespace);
    checkDeployment(spec);
    const secrets = await this.secretKeys(ns, spec.secrets ?? []);
    await this.updateDeployment(spec, ns, secrets);
    await this.applyService(spec, ns);
  }

  /** True when the Deployment was terminating and is now gone; false when it exists and is live. */
  private async waitWhileTerminating(name: string, ns: string): Promise<boolean> {
    const deadline = Date.now() + TERMINATING_WAIT_MS;
    let waited = false;
    for (;;) {
      let cur: V1Deployment;
      try {
        cur = await this.apps.readNamespacedDeployment({ name, namespace: ns });
      } catch (err) {
        if (isNotFound(err)) return true;
        throw toProviderError(err, `function ${name}.${ns}`);
      }
      if (!cur.metadata?.deletionTimestamp) return waited;
      if (Date.now() > deadline) throw new ProviderError('UNAVAILABLE', `function ${name}.${ns} is still being removed; try again`);
      waited = true;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** GET, rebuild, PUT with the read resourceVersion; retried on 409 Conflict. */
  private async updateDeployment(spec: FunctionDeployment, ns: string, secrets: SecretKeys): Promise<void> {
    const what = `function ${spec.service}.${ns}`;
    for (let attempt = 0; ; attempt++) {
      let cur: V1Deployment;
      try {
        cur = await this.apps.readNamespacedDeployment({ name: spec.service, namespace: ns });
      } catch (err) {
        throw toProviderError(err, what);
      }
      if (isGone(cur)) throw ProviderError.notFound(what);
      const body = buildDeployment(spec, ns, this.config, secrets, initialReplicas(spec.labels) ?? cur.spec?.replicas ?? 1);
      body.metadata!.resourceVersion = cur.metadata?.resourceVersion;
      try {
        const updated = await this.apps.replaceNamespacedDeployment({ name: spec.service, namespace: ns, body });
        this.cachesFor(ns).deployments.upsertLocal(updated);
        return;
      } catch (err) {
        if (isConflict(err) && attempt < UPDATE_RETRIES) continue;
        throw toProviderError(err, what);
      }
    }
  }

  private async applyService(spec: FunctionDeployment, ns: string): Promise<void> {
    const body = buildService(spec, ns);
    const what = `service ${spec.service}.${ns}`;
    try {
      await this.core.createNamespacedService({ namespace: ns, body });
      return;
    } catch (err) {
      if (!isConflict(err)) throw toProviderError(err, what);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const cur: V1Service = await this.core.readNamespacedService({ name: spec.service, namespace: ns });
        const next: V1Service = { ...cur, metadata: { ...cur.metadata, labels: body.metadata!.labels, annotations: body.metadata!.annotations }, spec: { ...cur.spec, selector: body.spec!.selector, ports: body.spec!.ports } };
        await this.core.replaceNamespacedService({ name: spec.service, namespace: ns, body: next });
        return;
      } catch (err) {
        if (isConflict(err) && attempt < UPDATE_RETRIES) continue;
        throw toProviderError(err, what);
      }
    }
  }

  async remove(name: string, namespace?: string): Promise<void> {
    assertDns1123Label('function name', name);
    const ns = await this.managed(namespace);
    const what = `function ${name}.${ns}`;
    try {
      await this.apps.deleteNamespacedDeployment({ name, namespace: ns, propagationPolicy: 'Foreground' });
    } catch (err) {
      throw toProviderError(err, what);
    }
    this.cachesFor(ns).deployments.deleteLocal(ns, name);
    try {
      await this.core.deleteNamespacedService({ name, namespace: ns });
    } catch (err) {
      if (!isNotFound(err)) throw toProviderError(err, `service ${name}.${ns}`);
    }
  }

  async list(namespace?: string): Promise<FunctionStatus[]> {
    const ns = await this.managed(namespace);
    try {
      const l = await this.apps.listNamespacedDeployment({ namespace: ns, labelSelector: FUNCTION_LABEL });
      return l.items.filter((d) => !isGone(d)).map(deploymentToStatus).sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      throw toProviderError(err, `functions in ${ns}`);
    }
  }

  async get(name: string, namespace?: string): Promise<FunctionStatus | undefined> {
    assertDns1123Label('function name', name);
    const ns = await this.managed(namespace);
    try {
      const d = await this.apps.readNamespacedDeployment({ name, namespace: ns });
      if (isGone(d) || d.metadata?.labels?.[FUNCTION_LABEL] === undefined) return undefined;
      return deploymentToStatus(d);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toProviderError(err, `function ${name}.${ns}`);
    }
  }

  async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    assertDns1123Label('function name', name);
    if (!Number.isInteger(replicas) || replicas < 0) throw ProviderError.invalid(`replicas must be a non-negative integer (got ${String(replicas)})`);
    const ns = await this.managed(namespace);
    try {
      await this.apps.replaceNamespacedDeploymentScale({ name, namespace: ns, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: ns }, spec: { replicas } } });
    } catch (err) {
      throw toProviderError(err, `function ${name}.${ns}`);
    }
  }

  async endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]> {
    assertDns1123Label('function name', name);
    const ns = await this.managed(namespace);
    const caches = this.cachesFor(ns);
    const cached = await caches.deployments.waitSynced(SYNC_WAIT_MS);
    let dep = cached ? caches.deployments.get(ns, name) : undefined;
    if (isGone(dep)) {
      // Cache miss: a function created a moment ago by someone else, or really absent.
      try {
        dep = await this.apps.readNamespacedDeployment({ name, namespace: ns });
      } catch (err) {
        throw toProviderError(err, `function ${name}.${ns}`);
      }
      if (isGone(dep)) throw ProviderError.notFound(`function ${name}.${ns}`);
    }
    if (this.config.endpointMode === 'service') {
      if ((dep!.status?.availableReplicas ?? 0) === 0) return [];
      return [{ id: name, baseUrl: `http://${name}.${ns}.svc.${this.config.clusterDomain}:${WATCHDOG_PORT}`, pathPrefix: '' }];
    }
    let slices: V1EndpointSlice[];
    if (await caches.slices.waitSynced(SYNC_WAIT_MS)) slices = caches.slices.values();
    else {
      try {
        slices = (await this.discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: `${SLICE_SERVICE_LABEL}=${name}` })).items;
      } catch (err) {
        throw toProviderError(err, `endpoints of ${name}.${ns}`);
      }
    }
    const out: InvokeEndpoint[] = [];
    const seen = new Set<string>();
    for (const slice of slices) {
      if (slice.metadata?.labels?.[SLICE_SERVICE_LABEL] !== name) continue;
      const port = (slice.ports ?? []).find((p) => p.name === 'http') ?? slice.ports?.[0];
      const portNumber = port?.port ?? WATCHDOG_PORT;
      for (const ep of slice.endpoints ?? []) {
        // nil `ready` means ready (discovery.k8s.io/v1 semantics); terminating endpoints get no new work.
        if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
        const addr = ep.addresses?.[0];
        if (!addr) continue;
        const id = ep.targetRef?.name ?? addr;
        if (seen.has(id)) continue;
        seen.add(id);
        const host = slice.addressType === 'IPv6' ? `[${addr}]` : addr;
        out.push({ id, baseUrl: `http://${host}:${portNumber}`, pathPrefix: '' });
      }
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  // ---- secrets ------------------------------------------------------------

  private isManagedSecret(s: V1Secret): boolean {
    return s.metadata?.labels?.[SECRET_MANAGED_LABEL] === SECRET_MANAGED_VALUE;
  }

  async listSecrets(namespace?: string): Promise<Secret[]> {
    const ns = await this.managed(namespace);
    try {
      const l = await this.core.listNamespacedSecret({ namespace: ns, labelSelector: `${SECRET_MANAGED_LABEL}=${SECRET_MANAGED_VALUE}` });
      return l.items.map((s) => ({ name: s.metadata?.name ?? '', namespace: ns })).sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      throw toProviderError(err, `secrets in ${ns}`);
    }
  }

  async createSecret(secret: Secret): Promise<void> {
    assertDns1123Label('secret name', secret.name);
    const ns = await this.managed(secret.namespace);
    try {
      await this.core.createNamespacedSecret({ namespace: ns, body: buildSecret(secret.name, ns, secretBytes(secret)) });
    } catch (err) {
      throw toProviderError(err, `secret ${secret.name}.${ns}`);
    }
  }

  private async readManagedSecret(name: string, ns: string): Promise<V1Secret> {
    try {
      const s = await this.core.readNamespacedSecret({ name, namespace: ns });
      if (!this.isManagedSecret(s)) throw ProviderError.notFound(`secret ${name}.${ns}`);
      return s;
    } catch (err) {
      throw toProviderError(err, `secret ${name}.${ns}`);
    }
  }

  async updateSecret(secret: Secret): Promise<void> {
    assertDns1123Label('secret name', secret.name);
    const ns = await this.managed(secret.namespace);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.readManagedSecret(secret.name, ns);
      const body = buildSecret(secret.name, ns, secretBytes(secret));
      body.metadata = { ...body.metadata, labels: { ...cur.metadata?.labels, ...body.metadata?.labels }, resourceVersion: cur.metadata?.resourceVersion };
      try {
        await this.core.replaceNamespacedSecret({ name: secret.name, namespace: ns, body });
        return;
      } catch (err) {
        if (isConflict(err) && attempt < UPDATE_RETRIES) continue;
        throw toProviderError(err, `secret ${secret.name}.${ns}`);
      }
    }
  }

  async deleteSecret(name: string, namespace?: string): Promise<void> {
    assertDns1123Label('secret name', name);
    const ns = await this.managed(namespace);
    await this.readManagedSecret(name, ns);
    try {
      await this.core.deleteNamespacedSecret({ name, namespace: ns });
    } catch (err) {
      throw toProviderError(err, `secret ${name}.${ns}`);
    }
  }

  // ---- logs, info, health ---------------------------------------------------

  async *logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    // Also keeps the name out of the label selector below (no selector injection).
    assertDns1123Label('function name', req.name);
    const ns = await this.managed(req.namespace);
    let pods;
    try {
      pods = await this.core.listNamespacedPod({ namespace: ns, labelSelector: `${FUNCTION_LABEL}=${req.name}` });
    } catch (err) {
      throw toProviderError(err, `pods of ${req.name}.${ns}`);
    }
    if (pods.items.length === 0 && !(await this.get(req.name, ns))) throw ProviderError.notFound(`function ${req.name}.${ns}`);
    const ref = (p: V1Pod) => ({ name: p.metadata?.name ?? '', container: p.spec?.containers?.find((c) => c.name === req.name)?.name ?? p.spec?.containers?.[0]?.name ?? req.name });
    const refs = pods.items.filter((p) => !req.instance || p.metadata?.name === req.instance).map(ref);
    // follow without an instance also picks up replicas that start later (scale-up, rollout)
    const watchPods = req.follow && !req.instance
      ? (onPod: (p: { name: string; container: string }) => void) => {
          let ctrl: AbortController | undefined;
          let stopped = false;
          let rv = pods.metadata?.resourceVersion ?? '';
          const again = (delayMs: number) => {
            if (!stopped) setTimeout(run, delayMs).unref();
          };
          const run = () => {
            if (stopped) return;
            this.watch
              .watch(
                `/api/v1/namespaces/${ns}/pods`,
                { labelSelector: `${FUNCTION_LABEL}=${req.name}`, resourceVersion: rv },
                (type: string, obj: V1Pod & { code?: number }) => {
                  if (type === 'ERROR') {
                    if (obj.code === 410) rv = '';
                    return;
                  }
                  if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
                  if ((type === 'ADDED' || type === 'MODIFIED') && obj.status?.phase === 'Running' && !obj.metadata?.deletionTimestamp) onPod(ref(obj));
                },
                (err: unknown) => again(err ? this.config.watchRetryMs : 0),
              )
              .then(
                (c) => {
                  ctrl = c;
                  if (stopped) c.abort();
                },
                () => again(this.config.watchRetryMs),
              );
          };
          run();
          return () => {
            stopped = true;
            ctrl?.abort();
          };
        }
      : undefined;
    yield* podLogs(this.kc, ns, refs, req, signal, watchPods);
  }

  async info(): Promise<ProviderInfo> {
    return { provider: 'faas-ts-k8s', orchestration: 'kubernetes', version: { ...this.config.version } };
  }

  async health(): Promise<void> {
    try {
      await this.versionApi.getCode();
    } catch (err) {
      throw new ProviderError('UNAVAILABLE', `Kubernetes API unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const stops: Promise<void>[] = [];
    if (this.namespaceCache) stops.push(this.namespaceCache.stop());
    for (const c of this.caches.values()) stops.push(c.deployments.stop(), c.slices.stop());
    await Promise.all(stops);
  }
}

function kubeConfigFrom(k8s: typeof import('@kubernetes/client-node'), o: K8sProviderOptions): KubeConfig {
  if (o.kubeConfig) return o.kubeConfig;
  const c = o.cluster!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'faas-ts', server: c.server, skipTLSVerify: c.skipTLSVerify ?? false, ...(c.caData ? { caData: c.caData } : {}) }],
    users: [{ name: 'faas-ts', ...(c.token ? { token: c.token } : {}) }],
    contexts: [{ name: 'faas-ts', cluster: 'faas-ts', user: 'faas-ts' }],
    currentContext: 'faas-ts',
  });
  return kc;
}

/** Build the provider. Informers for the default namespace start at once. */
export async function createK8sProvider(options: K8sProviderOptions): Promise<K8sProvider> {
  const config = resolveConfig(options);
  const k8s = await loadClientNode();
  const kc = kubeConfigFrom(k8s, options);
  return new KubernetesProvider(
    config,
    kc.makeApiClient(k8s.AppsV1Api),
    kc.makeApiClient(k8s.CoreV1Api),
    kc.makeApiClient(k8s.DiscoveryV1Api),
    kc.makeApiClient(k8s.VersionApi),
    new k8s.Watch(kc),
    kc,
    options.logger,
  );
}
