/**
 * provider-swarm: functions as Docker Swarm services (spec/async-scaling-providers.md §3).
 *
 * - deploy/update build the whole ServiceSpec (spec.ts); update is a rolling,
 *   start-first ServiceUpdate that keeps the current replica count.
 * - Images are used as given: dockerode never resolves digests, so a local-only
 *   image works (start dockerd with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 so the
 *   node agent does not try a pull first).
 * - Replicas are read from running tasks; with probeHealth a running task counts
 *   only after its watchdog answered once on /_/health (remembered per task id:
 *   a task never becomes un-started, it is replaced by a new task).
 * - endpoints(): per running task, by endpoint mode (spec.ts EndpointMode).
 * - Namespaces are labels (spec.ts) and their records are Swarm configs named
 *   `faas-ts-ns.NAME` (label com.faas-ts.namespace=true, data = JSON labels/annotations).
 * - Secrets: Docker secrets with versions (secrets.ts).
 * - Logs: Docker's service logs. Without follow the answer is sorted by time and
 *   `tail` is the last N lines of the function; with follow, Docker's per-task
 *   tail is passed through (the stream cannot be sorted) and lines come as they arrive.
 */
import type Dockerode from 'dockerode';
import DockerodeClient from 'dockerode';
import type { Readable } from 'node:stream';
import {
  assertDns1123Label,
  ProviderError,
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
import { resolveConfig, type ResolvedSwarmConfig, type SwarmLogger, type SwarmProviderOptions } from './config.js';
import { lastLines, LogDemuxer, parseLogLine } from './logs.js';
import {
  assertSecretName,
  dockerSecretName,
  groupSecretVersions,
  OWNER_LABEL,
  SECRET_NAME_LABEL,
  SECRET_NAMESPACE_LABEL,
  SECRET_VERSION_LABEL,
  type SecretVersion,
} from './secrets.js';
import {
  buildServiceSpec,
  initialReplicas,
  isFunctionService,
  serviceName,
  serviceNamespace,
  statusFromService,
  WATCHDOG_PORT,
  type SecretRef,
} from './spec.js';

const NAMESPACE_CONFIG_LABEL = 'com.faas-ts.namespace';
const NAMESPACE_CONFIG_PREFIX = 'faas-ts-ns.';
const UPDATE_RETRIES = 5;

export type SwarmProvider = Provider &
  Required<Pick<Provider, 'getNamespace' | 'createNamespace' | 'updateNamespace' | 'deleteNamespace' | 'logs' | 'health'>> & {
    readonly config: ResolvedSwarmConfig;
    /** The dockerode client (for tests and tooling). */
    readonly docker: Dockerode;
  };

interface DockerError {
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
  code?: string;
}

function dockerMessage(err: unknown): string {
  const e = err as DockerError;
  return e?.json?.message ?? e?.message ?? String(err);
}

/** A Docker API error as a ProviderError with the matching code. */
function fromDocker(err: unknown, what: string): ProviderError {
  if (ProviderError.is(err)) return err;
  const e = err as DockerError;
  const msg = `${what}: ${dockerMessage(err)}`;
  switch (e?.statusCode) {
    case 404:
      return new ProviderError('NOT_FOUND', msg, { cause: err });
    case 409:
      return new ProviderError('ALREADY_EXISTS', msg, { cause: err });
    case 400:
      return new ProviderError('INVALID', msg, { cause: err });
    case 503:
      return new ProviderError('UNAVAILABLE', msg, { cause: err });
  }
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'EACCES') {
    return new ProviderError('UNAVAILABLE', `${what}: Docker engine unreachable (${e.code})`, { cause: err });
  }
  return new ProviderError('BACKEND', msg, { cause: err });
}

function isOutOfSequence(err: unknown): boolean {
  return /update out of sequence/i.test(dockerMessage(err));
}

/**
 * Docker's `since` is `<seconds>.<nanoseconds>`: the daemon reads the part after the
 * dot as a nanosecond count, not as a decimal fraction, so it must have 9 digits.
 */
export function dockerSince(d: Date): string {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1e6).padStart(9, '0')}`;
}

const noopLogger: SwarmLogger = { info() {}, warn() {}, debug() {} };

interface RunningTask {
  id: string;
  baseUrl?: string;
}

class SwarmFunctionProvider implements SwarmProvider {
  readonly config: ResolvedSwarmConfig;
  readonly docker: Dockerode;
  readonly defaultNamespace: string;
  private readonly log: SwarmLogger;
  private networkReady: Promise<void> | undefined;
  /** Task id → service id, for tasks whose watchdog has answered once. */
  private readonly healthy = new Map<string, string>();
  private readonly aborter = new AbortController();
  /** endpoints() answers by service name: single flight, reused for endpointsCacheMs when non-empty. */
  private readonly endpointCache = new Map<string, { at: number; value: Promise<InvokeEndpoint[]> }>();

  constructor(options: SwarmProviderOptions) {
    this.config = resolveConfig(options);
    this.defaultNamespace = this.config.defaultNamespace;
    this.log = options.logger ?? noopLogger;
    const d = options.docker;
    this.docker =
      d instanceof DockerodeClient ? d : new DockerodeClient({ socketPath: '/var/run/docker.sock', version: 'v1.41', ...(d ?? {}) });
  }

  // ---- functions ----------------------------------------------------------

  private ns(namespace: string | undefined): string {
    const ns = namespace || this.defaultNamespace;
    assertDns1123Label('namespace', ns);
    return ns;
  }

  private async ensureNamespace(ns: string): Promise<void> {
    if (ns === this.defaultNamespace) return;
    if (!(await this.getNamespace(ns))) throw ProviderError.invalid(`namespace ${JSON.stringify(ns)} does not exist`);
  }

  /** The function's service, or undefined. Verifies the name exactly (the API also matches id prefixes). */
  private async findService(name: string, ns: string): Promise<Dockerode.Service | undefined> {
    // Checked before the name becomes part of an Engine API path (`..` would address another resource).
    assertDns1123Label('function name', name);
    const sname = serviceName(name, ns, this.defaultNamespace);
    let svc: Dockerode.Service;
    try {
      svc = (await this.docker.getService(sname).inspect()) as Dockerode.Service;
    } catch (err) {
      if ((err as DockerError).statusCode === 404) return undefined;
      throw fromDocker(err, `inspect service ${sname}`);
    }
    if (svc.Spec?.Name !== sname || !isFunctionService(svc.Spec)) return undefined;
    if (serviceNamespace(svc.Spec, this.defaultNamespace) !== ns) return undefined;
    return svc;
  }

  private ensureNetwork(): Promise<void> {
    this.networkReady ??= (async () => {
      const name = this.config.network;
      const found = (await this.docker.listNetworks({ filters: { name: [name] } })) as Array<{ Name: string }>;
      if (found.some((n) => n.Name === name)) return;
      try {
        await this.docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, Labels: { openfaas: 'true' } });
        this.log.info({ network: name }, 'created functions network');
      } catch (err) {
        if ((err as DockerError).statusCode !== 409) throw err;
      }
    })().catch((err) => {
      this.networkReady = undefined;
      throw fromDocker(err, `functions network ${this.config.network}`);
    });
    return this.networkReady;
  }

  private async secretRefs(names: string[] | undefined, ns: string): Promise<SecretRef[]> {
    if (!names || names.length === 0) return [];
    const seen = new Set<string>();
    const groups = await this.secretGroups();
    const refs: SecretRef[] = [];
    for (const name of names) {
      if (seen.has(name)) throw ProviderError.invalid(`secret listed twice: ${name}`);
      seen.add(name);
      const versions = groups.get(`${ns}/${name}`);
      const current = versions?.[versions.length - 1];
      if (!current) {
        const choices = [...groups.values()].map((v) => v[0]!).filter((v) => v.namespace === ns).map((v) => v.name);
        throw ProviderError.invalid(`secret not found: ${name}; possible choices: ${choices.join(', ')}`);
      }
      refs.push({ name, id: current.id, dockerName: current.dockerName });
    }
    return refs;
  }

  private validate(spec: FunctionDeployment): string {
    if (!spec || typeof spec.service !== 'string') throw ProviderError.invalid('service is required');
    assertDns1123Label('service', spec.service);
    if (!spec.image) throw ProviderError.invalid('image is required');
    for (const name of spec.secrets ?? []) assertSecretName(name);
    return this.ns(spec.namespace);
  }

  async deploy(spec: FunctionDeployment): Promise<void> {
    const ns = this.validate(spec);
    await this.ensureNamespace(ns);
    if (await this.findService(spec.service, ns)) return this.update(spec);
    await this.ensureNetwork();
    const secrets = await this.secretRefs(spec.secrets, ns);
    const body = buildServiceSpec({ ...spec, namespace: ns }, secrets, this.specOptions(), initialReplicas(spec));
    try {
      await this.docker.createService(body);
      this.forget(spec.service, ns);
    } catch (err) {
      if ((err as DockerError).statusCode === 409) return this.update(spec);
      throw fromDocker(err, `create service ${body.Name}`);
    }
    this.log.info({ fn: spec.service, ns, image: spec.image }, 'deployed');
  }

  async update(spec: FunctionDeployment): Promise<void> {
    const ns = this.validate(spec);
    const secrets = await this.secretRefs(spec.secrets, ns);
    await this.ensureNetwork();
    await this.updateService(spec.service, ns, (current) => {
      const replicas = current.Spec?.Mode?.Replicated?.Replicas ?? initialReplicas(spec);
      const next = buildServiceSpec({ ...spec, namespace: ns }, secrets, this.specOptions(), replicas, String(process.hrtime.bigint()));
      // Host-mode ports of an existing service stay as they are: changing them by
      // update leaves the old port reserved (see the recipe), so keep the original.
      if (current.Spec?.EndpointSpec) next.EndpointSpec = current.Spec.EndpointSpec;
      return next;
    });
    this.log.info({ fn: spec.service, ns, image: spec.image }, 'updated');
  }

  /** Inspect + ServiceUpdate with the full new spec, retrying on version races. */
  private async updateService(name: string, ns: string, change: (current: Dockerode.Service) => Dockerode.ServiceSpec): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.findService(name, ns);
      if (!current) throw ProviderError.notFound(`function ${name} in namespace ${ns}`);
      const spec = change(current);
      try {
        await this.docker.getService(current.ID).update({ version: current.Version!.Index, ...spec });
        this.forget(name, ns);
        return;
      } catch (err) {
        if (attempt < UPDATE_RETRIES && isOutOfSequence(err)) continue;
        throw fromDocker(err, `update service ${spec.Name}`);
      }
    }
  }

  async remove(name: string, namespace?: string): Promise<void> {
    const ns = this.ns(namespace);
    const svc = await this.findService(name, ns);
    if (!svc) throw ProviderError.notFound(`function ${name} in namespace ${ns}`);
    try {
      await this.docker.getService(svc.ID).remove();
    } catch (err) {
      throw fromDocker(err, `remove service ${svc.Spec?.Name}`);
    } finally {
      this.forget(name, ns);
    }
    this.log.info({ fn: name, ns }, 'removed');
  }

  private async functionServices(): Promise<Dockerode.Service[]> {
    try {
      const all = (await this.docker.listServices({ filters: { label: ['function=true'] } })) as Dockerode.Service[];
      return all.filter((s) => isFunctionService(s.Spec));
    } catch (err) {
      throw fromDocker(err, 'list services');
    }
  }

  async list(namespace?: string): Promise<FunctionStatus[]> {
    const ns = this.ns(namespace);
    const services = (await this.functionServices()).filter((s) => serviceNamespace(s.Spec!, this.defaultNamespace) === ns);
    const tasks = await this.runningTasks(services.map((s) => s.ID), true);
    return services.map((s) => {
      const status = statusFromService(s, this.defaultNamespace);
      status.availableReplicas = Math.min(tasks.get(s.ID)?.length ?? 0, status.replicas ?? 0);
      return status;
    });
  }

  async get(name: string, namespace?: string): Promise<FunctionStatus | undefined> {
    const ns = this.ns(namespace);
    const svc = await this.findService(name, ns);
    if (!svc) return undefined;
    const status = statusFromService(svc, this.defaultNamespace);
    const tasks = await this.runningTasks([svc.ID], true);
    status.availableReplicas = Math.min(tasks.get(svc.ID)?.length ?? 0, status.replicas ?? 0);
    return status;
  }

  async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0) throw ProviderError.invalid(`replicas must be a non-negative integer, got ${replicas}`);
    const ns = this.ns(namespace);
    await this.updateService(name, ns, (current) => ({ ...current.Spec!, Mode: { Replicated: { Replicas: replicas } } }));
    this.log.info({ fn: name, ns, replicas }, 'scaled');
  }

  private forget(name: string, ns: string): void {
    this.endpointCache.delete(serviceName(name, ns, this.defaultNamespace));
  }

  async endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]> {
    assertDns1123Label('function name', name);
    const ns = this.ns(namespace);
    const key = serviceName(name, ns, this.defaultNamespace);
    const hit = this.endpointCache.get(key);
    if (hit && Date.now() - hit.at <= this.config.endpointsCacheMs) return hit.value;
    const entry = { at: Date.now(), value: this.lookupEndpoints(name, ns) };
    this.endpointCache.set(key, entry);
    // Pending lookups are shared whatever the TTL; only non-empty answers are kept.
    entry.value.then(
      (eps) => {
        if ((eps.length === 0 || this.config.endpointsCacheMs === 0) && this.endpointCache.get(key) === entry) this.endpointCache.delete(key);
        else entry.at = Date.now();
      },
      () => {
        if (this.endpointCache.get(key) === entry) this.endpointCache.delete(key);
      },
    );
    return entry.value;
  }

  private async lookupEndpoints(name: string, ns: string): Promise<InvokeEndpoint[]> {
    const svc = await this.findService(name, ns);
    if (!svc) throw ProviderError.notFound(`function ${name} in namespace ${ns}`);
    if (this.config.endpointMode === 'vip') {
      const replicas = svc.Spec?.Mode?.Replicated?.Replicas ?? 0;
      if (replicas === 0) return [];
      return [{ id: svc.Spec!.Name!, baseUrl: `http://${svc.Spec!.Name}:${WATCHDOG_PORT}`, pathPrefix: '' }];
    }
    const tasks = (await this.runningTasks([svc.ID], false)).get(svc.ID) ?? [];
    return tasks.filter((t) => t.baseUrl).map((t) => ({ id: t.id, baseUrl: t.baseUrl!, pathPrefix: '' }));
  }

  /**
   * Running (and, with probeHealth, answering) tasks per service id. `upToDate`
   * restricts to tasks of the current spec (availableReplicas, as upstream); the
   * endpoints keep old tasks too while a rolling update still runs them.
   */
  private async runningTasks(serviceIds: string[], upToDate: boolean): Promise<Map<string, RunningTask[]>> {
    const out = new Map<string, RunningTask[]>();
    if (serviceIds.length === 0) return out;
    let tasks: Array<Record<string, any>>;
    try {
      tasks = await this.docker.listTasks({
        filters: { service: serviceIds, 'desired-state': ['running'], ...(upToDate ? { '_up-to-date': ['true'] } : {}) },
      });
    } catch (err) {
      throw fromDocker(err, 'list tasks');
    }
    const wanted = new Set(serviceIds);
    const seen = new Set<string>();
    await Promise.all(
      tasks
        .filter((t) => t.Status?.State === 'running' && wanted.has(t.ServiceID))
        .map(async (t) => {
          seen.add(t.ID);
          const baseUrl = this.taskUrl(t);
          // Outside vip mode a task is reachable only through its own address: none yet, not ready.
          if (this.config.endpointMode !== 'vip' && !baseUrl) return;
          if (this.config.probeHealth && baseUrl && !(await this.probe(t.ID, t.ServiceID, baseUrl))) return;
          const arr = out.get(t.ServiceID) ?? [];
          arr.push({ id: t.ID, baseUrl });
          out.set(t.ServiceID, arr);
        }),
    );
    // Forget tasks of these services that no longer run (the map must not grow forever).
    if (!upToDate) for (const [id, sid] of this.healthy) if (wanted.has(sid) && !seen.has(id)) this.healthy.delete(id);
    for (const arr of out.values()) arr.sort((a, b) => a.id.localeCompare(b.id));
    return out;
  }

  private taskUrl(task: Record<string, any>): string | undefined {
    if (this.config.endpointMode === 'dnsrr-hostport') {
      const ports = (task.Status?.PortStatus?.Ports ?? []) as Array<{ TargetPort?: number; PublishedPort?: number }>;
      const p = ports.find((x) => x.TargetPort === WATCHDOG_PORT && x.PublishedPort);
      return p ? `http://${this.config.publishHost}:${p.PublishedPort}` : undefined;
    }
    if (this.config.endpointMode === 'tasks-dns') {
      const attachments = (task.NetworksAttachments ?? []) as Array<{ Network?: { Spec?: { Name?: string } }; Addresses?: string[] }>;
      const a = attachments.find((x) => x.Network?.Spec?.Name === this.config.network) ?? attachments[0];
      const ip = a?.Addresses?.[0]?.split('/')[0];
      if (!ip) return undefined;
      return `http://${ip.includes(':') ? `[${ip}]` : ip}:${WATCHDOG_PORT}`;
    }
    return undefined;
  }

  private async probe(taskId: string, serviceId: string, baseUrl: string): Promise<boolean> {
    if (this.healthy.has(taskId)) return true;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.config.probeTimeoutMs), this.aborter.signal]);
      const res = await fetch(`${baseUrl}/_/health`, { signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 500) return false;
      this.healthy.set(taskId, serviceId);
      return true;
    } catch {
      return false;
    }
  }

  private specOptions() {
    return {
      network: this.config.network,
      endpointMode: this.config.endpointMode,
      defaultNamespace: this.defaultNamespace,
      restartDelayMs: this.config.restartDelayMs,
    };
  }

  // ---- secrets ------------------------------------------------------------

  private async secretGroups(): Promise<Map<string, SecretVersion[]>> {
    try {
      const list = await this.docker.listSecrets({ filters: { label: [`${OWNER_LABEL}=openfaas`] } });
      return groupSecretVersions(list as never, this.defaultNamespace);
    } catch (err) {
      throw fromDocker(err, 'list secrets');
    }
  }

  async listSecrets(namespace?: string): Promise<Secret[]> {
    const ns = this.ns(namespace);
    const out: Secret[] = [];
    for (const versions of (await this.secretGroups()).values()) {
      const v = versions[0]!;
      if (v.namespace === ns) out.push({ name: v.name, namespace: ns });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private async createVersion(secret: Secret, ns: string, version: number): Promise<{ ID: string; Name: string }> {
    const name = dockerSecretName(secret.name, ns, this.defaultNamespace, version);
    const labels: Record<string, string> = {
      [OWNER_LABEL]: 'openfaas',
      [SECRET_NAME_LABEL]: secret.name,
      [SECRET_VERSION_LABEL]: String(version),
    };
    if (ns !== this.defaultNamespace) labels[SECRET_NAMESPACE_LABEL] = ns;
    try {
      const res = (await this.docker.createSecret({ Name: name, Labels: labels, Data: secretBytes(secret).toString('base64') })) as { id?: string; ID?: string };
      return { ID: res.ID ?? res.id ?? '', Name: name };
    } catch (err) {
      throw fromDocker(err, `create secret ${name}`);
    }
  }

  async createSecret(secret: Secret): Promise<void> {
    assertSecretName(secret?.name);
    const ns = this.ns(secret.namespace);
    await this.ensureNamespace(ns);
    if ((await this.secretGroups()).has(`${ns}/${secret.name}`)) {
      throw new ProviderError('ALREADY_EXISTS', `secret ${secret.name} already exists in namespace ${ns}`);
    }
    await this.createVersion(secret, ns, 1);
  }

  async updateSecret(secret: Secret): Promise<void> {
    assertSecretName(secret?.name);
    const ns = this.ns(secret.namespace);
    const versions = (await this.secretGroups()).get(`${ns}/${secret.name}`);
    if (!versions) throw ProviderError.notFound(`secret ${secret.name} in namespace ${ns}`);
    const latest = versions[versions.length - 1]!;
    const created = await this.createVersion(secret, ns, latest.version + 1);
    const ids = new Set(versions.map((v) => v.id));
    // Point every function of the namespace that mounts this secret at the new version.
    for (const svc of await this.functionServices()) {
      if (serviceNamespace(svc.Spec!, this.defaultNamespace) !== ns) continue;
      const mounts = (svc.Spec!.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec?.Secrets ?? [];
      if (!mounts.some((m) => m.SecretID && ids.has(m.SecretID))) continue;
      const fn = svc.Spec!.Labels?.['com.openfaas.function'] ?? svc.Spec!.Name!;
      await this.updateService(fn, ns, (current) => {
        const spec = structuredClone(current.Spec!);
        const c = (spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!;
        c.Secrets = (c.Secrets ?? []).map((m) =>
          m.SecretID && ids.has(m.SecretID) ? { ...m, SecretID: created.ID, SecretName: created.Name } : m,
        );
        return spec;
      });
      this.log.info({ fn, ns, secret: secret.name }, 'rolled function onto new secret version');
    }
    // Docker may still count the old version as in use for a moment after the
    // service updates: retry a few times, then leave it to deleteSecret.
    let left = versions;
    for (let attempt = 0; attempt < 10 && left.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 300));
      left = await this.removeVersions(left, true);
    }
  }

  /** Remove Docker secret versions; with `quiet`, versions still referenced are kept and returned. */
  private async removeVersions(versions: SecretVersion[], quiet: boolean): Promise<SecretVersion[]> {
    const kept: SecretVersion[] = [];
    for (const v of versions) {
      try {
        await this.docker.getSecret(v.id).remove();
      } catch (err) {
        const code = (err as DockerError).statusCode;
        if (code === 404) continue;
        if (quiet) {
          this.log.debug({ secret: v.dockerName, err: dockerMessage(err) }, 'old secret version kept');
          kept.push(v);
          continue;
        }
        if (code === 400 || /in use/i.test(dockerMessage(err))) {
          throw ProviderError.invalid(`secret ${v.name} is in use: ${dockerMessage(err)}`);
        }
        throw fromDocker(err, `remove secret ${v.dockerName}`);
      }
    }
    return kept;
  }

  async deleteSecret(name: string, namespace?: string): Promise<void> {
    assertSecretName(name);
    const ns = this.ns(namespace);
    const versions = (await this.secretGroups()).get(`${ns}/${name}`);
    if (!versions) throw ProviderError.notFound(`secret ${name} in namespace ${ns}`);
    // Newest first: if it is in use nothing older has been removed yet either.
    await this.removeVersions([...versions].reverse(), false);
  }

  // ---- namespaces ---------------------------------------------------------

  private async namespaceConfigs(): Promise<Array<{ ID: string; name: string; record: FunctionNamespace; version: number }>> {
    try {
      const list = (await this.docker.listConfigs({ filters: { label: [`${NAMESPACE_CONFIG_LABEL}=true`] } })) as Array<{
        ID: string;
        Version?: { Index?: number };
        Spec?: { Name?: string; Data?: string };
      }>;
      return list
        .filter((c) => c.Spec?.Name?.startsWith(NAMESPACE_CONFIG_PREFIX))
        .map((c) => {
          const name = c.Spec!.Name!.slice(NAMESPACE_CONFIG_PREFIX.length);
          let record: FunctionNamespace = { name };
          try {
            const data = JSON.parse(Buffer.from(c.Spec!.Data ?? '', 'base64').toString('utf8')) as Omit<FunctionNamespace, 'name'>;
            record = { name, ...(data.labels ? { labels: data.labels } : {}), ...(data.annotations ? { annotations: data.annotations } : {}) };
          } catch {
            // keep the bare record
          }
          return { ID: c.ID, name, record, version: c.Version?.Index ?? 0 };
        });
    } catch (err) {
      throw fromDocker(err, 'list namespace configs');
    }
  }

  async namespaces(): Promise<string[]> {
    const names = new Set([this.defaultNamespace, ...(await this.namespaceConfigs()).map((c) => c.name)]);
    return [...names].sort();
  }

  async getNamespace(name: string): Promise<FunctionNamespace | undefined> {
    assertDns1123Label('namespace', name);
    if (name === this.defaultNamespace) return { name };
    return (await this.namespaceConfigs()).find((c) => c.name === name)?.record;
  }

  private async writeNamespace(ns: FunctionNamespace): Promise<void> {
    const data = { ...(ns.labels ? { labels: ns.labels } : {}), ...(ns.annotations ? { annotations: ns.annotations } : {}) };
    try {
      await this.docker.createConfig({
        Name: NAMESPACE_CONFIG_PREFIX + ns.name,
        Labels: { [NAMESPACE_CONFIG_LABEL]: 'true' },
        Data: Buffer.from(JSON.stringify(data)).toString('base64'),
      });
    } catch (err) {
      throw fromDocker(err, `namespace ${ns.name}`);
    }
  }

  async createNamespace(ns: FunctionNamespace): Promise<void> {
    assertDns1123Label('namespace', ns?.name);
    if (ns.name === this.defaultNamespace || (await this.getNamespace(ns.name))) {
      throw new ProviderError('ALREADY_EXISTS', `namespace ${ns.name} already exists`);
    }
    await this.writeNamespace(ns);
  }

  /** Swarm configs are immutable: an update replaces the config (nothing mounts it). */
  async updateNamespace(ns: FunctionNamespace): Promise<void> {
    assertDns1123Label('namespace', ns?.name);
    const found = (await this.namespaceConfigs()).find((c) => c.name === ns.name);
    if (!found) throw ProviderError.notFound(`namespace ${ns.name}`);
    try {
      await this.docker.getConfig(found.ID).remove();
    } catch (err) {
      throw fromDocker(err, `namespace ${ns.name}`);
    }
    await this.writeNamespace(ns);
  }

  async deleteNamespace(name: string): Promise<void> {
    assertDns1123Label('namespace', name);
    if (name === this.defaultNamespace) throw ProviderError.invalid('the default namespace cannot be deleted');
    const found = (await this.namespaceConfigs()).find((c) => c.name === name);
    if (!found) throw ProviderError.notFound(`namespace ${name}`);
    const left = (await this.functionServices()).filter((s) => serviceNamespace(s.Spec!, this.defaultNamespace) === name);
    if (left.length > 0) throw ProviderError.invalid(`namespace ${name} still has ${left.length} function(s)`);
    for (const versions of (await this.secretGroups()).values()) {
      if (versions[0]!.namespace === name) await this.removeVersions(versions, false);
    }
    try {
      await this.docker.getConfig(found.ID).remove();
    } catch (err) {
      throw fromDocker(err, `namespace ${name}`);
    }
  }

  // ---- logs ---------------------------------------------------------------

  async *logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    const ns = this.ns(req.namespace);
    const svc = await this.findService(req.name, ns);
    if (!svc) throw ProviderError.notFound(`function ${req.name} in namespace ${ns}`);
    const opts: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, details: true, follow: Boolean(req.follow) };
    if (req.since) opts.since = dockerSince(req.since);
    if (req.tail && req.tail > 0) opts.tail = req.tail;
    if (req.follow) opts.abortSignal = signal;
    let result: unknown;
    try {
      result = await this.docker.getService(svc.ID).logs(opts as never);
    } catch (err) {
      if (signal.aborted) return;
      throw fromDocker(err, `logs of ${req.name}`);
    }
    const demux = new LogDemuxer();
    const emit = function* (lines: string[]): Generator<LogMessage> {
      for (const line of lines) {
        const m = parseLogLine(line, req.name, ns);
        if (m && (!req.instance || m.instance === req.instance)) yield m;
      }
    };
    if (Buffer.isBuffer(result) || typeof result === 'string') {
      const buf = Buffer.from(result as Buffer);
      yield* lastLines([...emit(demux.push(buf)), ...emit(demux.end())], req.tail);
      return;
    }
    const stream = result as Readable;
    const onAbort = () => stream.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of stream) {
        yield* emit(demux.push(chunk as Buffer));
      }
      yield* emit(demux.end());
    } catch (err) {
      if (!signal.aborted) throw fromDocker(err, `logs of ${req.name}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  // ---- misc ---------------------------------------------------------------

  async info(): Promise<ProviderInfo> {
    return { provider: 'faas-ts-swarm', orchestration: 'swarm', version: this.config.version };
  }

  async health(): Promise<void> {
    let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    try {
      info = await this.docker.info();
    } catch (err) {
      throw fromDocker(err, 'docker info');
    }
    if (info.Swarm?.LocalNodeState !== 'active') {
      throw new ProviderError('UNAVAILABLE', `this Docker engine is not in an active swarm (state ${info.Swarm?.LocalNodeState ?? 'unknown'})`);
    }
    if (!info.Swarm.ControlAvailable) throw new ProviderError('UNAVAILABLE', 'this Docker engine is not a swarm manager');
  }

  async close(): Promise<void> {
    this.aborter.abort();
  }
}

/** A Provider on Docker Swarm services. Nothing is contacted until the first call. */
export function createSwarmProvider(options: SwarmProviderOptions = {}): SwarmProvider {
  return new SwarmFunctionProvider(options);
}


