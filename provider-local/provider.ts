/**
 * provider-local: functions as supervised local fwatchdog processes.
 *
 * - "Images" resolve to bundles in `<dataDir>/bundles` (bundles.ts), or to the
 *   built-in generic runtime for names in GENERIC_IMAGES: the watchdog in a
 *   fork-per-request mode running the deployment's envProcess, cwd = the
 *   replica's scratch folder.
 * - Each replica is an fwatchdog process group on an ephemeral loopback port
 *   (replica.ts). The provider passes `port=0`, `bind_address=127.0.0.1`,
 *   `metrics_port=0`, `lock_path`, `TMPDIR` (per replica), `http_port` (a free
 *   loopback port for an http-mode function server; `${PORT}` in bundle env
 *   values is replaced by it) and `secret_mount_path`.
 *   Env precedence, lowest first: PATH/HOME, provider defaults
 *   (`healthcheck_interval`), bundle env, deployment envVars, envProcess (as
 *   `fprocess`), the generic mode, then the provider-owned variables above.
 * - Secrets: see secret-mount.ts. Each function gets a folder holding copies of
 *   the secrets it lists; updating a secret rewrites the copies in place, so
 *   running replicas see the new value at once.
 * - Updates are rolling: new-generation replicas start, endpoints() hands out
 *   only new ones as soon as one is ready, and old ones are drained (SIGTERM,
 *   the watchdog finishes in-flight requests) once enough new ones are ready.
 *   Scale-down and removal also take a replica out of the endpoint list first,
 *   then wait for its in-flight requests (watchdog gauge) before the SIGTERM.
 * - Desired state (functions, namespaces, secrets) is persisted under dataDir
 *   and re-spawned by createLocalProvider(); close() stops replicas only.
 * - Namespaces: the default plus created ones. deleteNamespace refuses (INVALID)
 *   while functions remain in it and deletes the namespace's secrets with it.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import {
  assertDns1123Label,
  ProviderError,
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
import { BundleStore, GENERIC_IMAGES, bundleKey, isGenericImage } from './bundles.js';
import { resolveConfig, type LocalProviderConfig, type ResolvedConfig } from './config.js';
import { writeFileAtomic } from './fs-util.js';
import { LogRing } from './logs.js';
import { Replica, type LaunchSpec } from './replica.js';
import { probeSecretMount, UPSTREAM_SECRETS_PATH, wrapWithSecretMount, type SecretMountMode } from './secret-mount.js';
import { assertSecretName, SecretStore } from './secrets.js';
import { StateStore, type FunctionRecord } from './state.js';

/**
 * Watchdog mode used for generic images: `classic` is the fork-per-request,
 * fully buffered classic-watchdog behaviour (`Forking fprocess.`, `Wrote N Bytes`).
 */
export const GENERIC_WATCHDOG_MODE = 'classic';

const SCALE_MIN_LABEL = 'com.openfaas.scale.min';

const KNOWN_SPEC_KEYS = [
  'envProcess',
  'envVars',
  'constraints',
  'secrets',
  'labels',
  'annotations',
  'limits',
  'requests',
  'readOnlyRootFilesystem',
] as const satisfies readonly (keyof FunctionDeployment)[];

export type LocalProvider = Provider &
  Required<Pick<Provider, 'getNamespace' | 'createNamespace' | 'updateNamespace' | 'deleteNamespace' | 'logs' | 'health'>> & {
  /** The bundle store behind image names (for the CLI's build/install). */
  readonly bundles: BundleStore;
  /** How replicas see secrets: at /var/openfaas/secrets (`namespace`) or only via `secret_mount_path` (`env`). */
  readonly secretMountMode: SecretMountMode;
  /** Replica details for diagnostics and tests. */
  replicas(name: string, namespace?: string): ReplicaInfo[];
};

export interface ReplicaInfo {
  id: string;
  generation: number;
  state: Replica['state'];
  port: number | undefined;
  pid: number | undefined;
  restarts: number;
}

/** How an image runs, resolved at deploy time. */
interface Runtime {
  generic: boolean;
  /** Bundle folder; undefined for the generic runtime (cwd = replica scratch folder). */
  dir: string | undefined;
  env: Record<string, string>;
}

interface FunctionEntry {
  record: FunctionRecord;
  runtime: Runtime;
  generation: number;
  replicas: Replica[];
  logs: LogRing;
  /** Append-only copy of the log lines when `logFiles` is on. */
  logFile: WriteStream | undefined;
  /** Scratch root of this incarnation: secrets/ and one folder per replica. */
  runDir: string;
  reconcileQueued: boolean;
  removed: boolean;
}

class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function substitutePort(env: Record<string, string>, port: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = v.split('${PORT}').join(String(port));
  return out;
}

function loopbackUpstream(url: string | undefined): { host: string; port: number } | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    return { host: u.hostname === '[::1]' ? '::1' : u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, port };
  } catch {
    return undefined;
  }
}

function initialReplicas(labels: Record<string, string> | null | undefined): number {
  const raw = labels?.[SCALE_MIN_LABEL];
  if (raw === undefined) return 1;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 1;
}

async function readPackageVersion(): Promise<string> {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'faas-ts' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

/** Kill replica process groups left behind by a provider that died without close(). */
async function reapOrphans(runRoot: string, watchdogArgv: readonly string[]): Promise<void> {
  const marker = watchdogArgv[watchdogArgv.length - 1]!;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 5) await walk(p, depth + 1);
      else if (e.isFile() && e.name === 'pid') {
        const pid = Number((await readFile(p, 'utf8').catch(() => '')).trim());
        if (!Number.isInteger(pid) || pid <= 1) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (!cmdline.split('\0').includes(marker)) continue;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  };
  await walk(runRoot, 0);
}

class LocalProviderImpl implements Provider {
  readonly defaultNamespace: string;
  readonly bundles: BundleStore;
  readonly secretMountMode: SecretMountMode;

  private readonly cfg: ResolvedConfig;
  private readonly state: StateStore;
  private readonly secrets: SecretStore;
  private readonly unshare: string | undefined;
  private readonly runRoot: string;
  private readonly functions = new Map<string, FunctionEntry>();
  private readonly userNamespaces = new Map<string, FunctionNamespace>();
  private readonly mutex = new KeyedMutex();
  private readonly release: string;
  private readonly restartsTotal: Counter<'function_name'>;
  private closed = false;

  constructor(cfg: ResolvedConfig, mount: { mode: SecretMountMode; unshare?: string }, release: string) {
    this.cfg = cfg;
    this.defaultNamespace = cfg.defaultNamespace;
    this.bundles = new BundleStore(join(cfg.dataDir, 'bundles'));
    this.state = new StateStore(join(cfg.dataDir, 'state'), (path, err) =>
      cfg.logger.error({ path, err: err.message }, 'unreadable state file skipped (deploy the function again to replace it)'),
    );
    this.secrets = new SecretStore(join(cfg.dataDir, 'secrets'));
    this.runRoot = join(cfg.dataDir, 'run');
    this.secretMountMode = mount.mode;
    this.unshare = mount.unshare;
    this.release = release;
    this.restartsTotal = new Counter({
      name: 'provider_local_replica_restarts_total',
      help: 'Replicas restarted after an unexpected exit (crash, kill, failed start)',
      labelNames: ['function_name'],
      registers: cfg.registry ? [cfg.registry] : [],
    });
  }

  async init(): Promise<void> {
    await mkdir(this.cfg.dataDir, { recursive: true, mode: 0o700 });
    await reapOrphans(this.runRoot, this.cfg.watchdogCommand);
    await rm(this.runRoot, { recursive: true, force: true });
    for (const ns of await this.state.loadNamespaces()) {
      if (ns.name !== this.defaultNamespace) this.userNamespaces.set(ns.name, ns);
    }
    for (const record of await this.state.loadFunctions()) {
      const ns = record.spec.namespace!;
      if (!this.namespaceExists(ns)) continue;
      let runtime: Runtime;
      try {
        runtime = await this.resolveRuntime(record.spec);
      } catch (err) {
        // keep the record (so list/get/remove still work); replicas start when the image reappears
        this.cfg.logger.error({ fn: record.spec.service, ns, err: (err as Error).message }, 'cannot resolve image of persisted function');
        runtime = { generic: false, dir: undefined, env: {} };
      }
      const entry = this.newEntry(record, runtime);
      this.functions.set(this.key(ns, record.spec.service), entry);
      try {
        await this.syncFunctionSecrets(entry);
      } catch (err) {
        this.cfg.logger.error({ fn: record.spec.service, ns, err: (err as Error).message }, 'cannot prepare secrets');
      }
      this.reconcile(entry);
    }
  }

  // ---------------------------------------------------------------- helpers

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private ns(namespace: string | undefined): string {
    return namespace || this.defaultNamespace;
  }

  private namespaceExists(ns: string): boolean {
    return ns === this.defaultNamespace || this.userNamespaces.has(ns);
  }

  private assertOpen(): void {
    if (this.closed) throw new ProviderError('UNAVAILABLE', 'provider-local is closed');
  }

  private assertNamespace(ns: string): void {
    assertDns1123Label('namespace', ns);
    if (!this.namespaceExists(ns)) {
      throw ProviderError.invalid(`namespace ${JSON.stringify(ns)} not found; create it first (known: ${this.namespaceNames().join(', ')})`);
    }
  }

  private namespaceNames(): string[] {
    return [this.defaultNamespace, ...[...this.userNamespaces.keys()].sort()];
  }

  private mustGet(name: string, namespace: string | undefined): FunctionEntry {
    const ns = this.ns(namespace);
    const entry = this.functions.get(this.key(ns, name));
    if (!entry) throw ProviderError.notFound(`function ${name} in namespace ${ns}`);
    return entry;
  }

  private async resolveRuntime(spec: FunctionDeployment): Promise<Runtime> {
    const bundle = await this.bundles.get(spec.image).catch((err: Error) => {
      throw ProviderError.invalid(`bundle for image ${JSON.stringify(spec.image)} is unreadable: ${err.message}`);
    });
    if (bundle) return { generic: false, dir: bundle.dir, env: bundle.env };
    if (this.cfg.genericImages && isGenericImage(spec.image)) {
      if (!spec.envProcess) {
        throw ProviderError.invalid(`image ${JSON.stringify(spec.image)} is a generic runtime: set envProcess (fprocess) to the command to run`);
      }
      return { generic: true, dir: undefined, env: {} };
    }
    const where = join(this.bundles.root, bundleKey(spec.image));
    const generic = this.cfg.genericImages ? ` Generic images (run envProcess): ${GENERIC_IMAGES.join(', ')}.` : '';
    throw ProviderError.invalid(
      `image ${JSON.stringify(spec.image)} is not in the local bundle store: build it with "faas-ts build", ` +
        `or copy the function folder to ${where}/ with a bundle.json ({"image":..., "env":{"mode":..., "fprocess":...}}).${generic}`,
    );
  }

  private validateSpec(spec: FunctionDeployment): FunctionDeployment {
    if (!spec || typeof spec !== 'object') throw ProviderError.invalid('function deployment must be an object');
    if (typeof spec.service !== 'string' || !spec.service) throw ProviderError.invalid('service (the function name) is required');
    assertDns1123Label('function name', spec.service);
    if (typeof spec.image !== 'string' || !spec.image.trim()) throw ProviderError.invalid(`image is required for function ${spec.service}`);
    const ns = this.ns(spec.namespace);
    this.assertNamespace(ns);
    for (const s of spec.secrets ?? []) assertSecretName(s);
    if (spec.envVars) {
      for (const [k, v] of Object.entries(spec.envVars)) {
        if (typeof v !== 'string') throw ProviderError.invalid(`envVars.${k} must be a string`);
      }
    }
    // keep known keys only: deprecated ones such as registryAuth may carry credentials
    const out: FunctionDeployment = { service: spec.service, image: spec.image, namespace: ns };
    for (const k of KNOWN_SPEC_KEYS) {
      if (spec[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = structuredClone(spec[k]);
    }
    return out;
  }

  private newEntry(record: FunctionRecord, runtime: Runtime): FunctionEntry {
    return {
      record,
      runtime,
      generation: 1,
      replicas: [],
      logs: new LogRing(this.cfg.logLines),
      logFile: this.openLogFile(record.spec.namespace!, record.spec.service),
      runDir: join(this.runRoot, record.spec.namespace!, `${record.spec.service}-${randomBytes(4).toString('hex')}`),
      reconcileQueued: false,
      removed: false,
    };
  }

  private openLogFile(namespace: string, name: string): WriteStream | undefined {
    if (!this.cfg.logFiles) return undefined;
    const dir = join(this.cfg.dataDir, 'logs', namespace);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stream = createWriteStream(join(dir, `${name}.log`), { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => this.cfg.logger.error({ fn: name, ns: namespace, err: err.message }, 'log file write failed'));
    return stream;
  }

  /** Copy the secrets a function lists into its own folder (and drop others). */
  private async syncFunctionSecrets(entry: FunctionEntry): Promise<void> {
    const ns = entry.record.spec.namespace!;
    const dir = join(entry.runDir, 'secrets');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const wanted = new Set(entry.record.spec.secrets ?? []);
    for (const name of wanted) {
      const bytes = await this.secrets.read(ns, name);
      if (!bytes) throw ProviderError.invalid(`secret ${JSON.stringify(name)} not found in namespace ${ns}; create it before deploying`);
      await writeFileAtomic(join(dir, name), bytes, 0o400);
    }
    for (const name of await readdir(dir)) {
      if (!wanted.has(name)) await rm(join(dir, name), { force: true });
    }
  }

  private async checkSecretsExist(spec: FunctionDeployment): Promise<void> {
    for (const name of spec.secrets ?? []) {
      if (!(await this.secrets.exists(spec.namespace!, name))) {
        throw ProviderError.invalid(`secret ${JSON.stringify(name)} not found in namespace ${spec.namespace}; create it before deploying`);
      }
    }
  }

  private async launchSpec(entry: FunctionEntry, replicaId: string, generation: number): Promise<LaunchSpec> {
    const spec = entry.record.spec;
    if (generation !== entry.generation) throw new Error('superseded by an update');
    // a persisted function whose image was missing at startup: retry on every launch
    if (!entry.runtime.generic && !entry.runtime.dir) entry.runtime = await this.resolveRuntime(spec);
    const runtime = entry.runtime;
    const replicaDir = join(entry.runDir, replicaId);
    const tmp = join(replicaDir, 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    const httpPort = await freeLoopbackPort();
    const secretsDir = join(entry.runDir, 'secrets');
    const mounted = this.secretMountMode === 'namespace' && this.unshare !== undefined;
    const env: Record<string, string> = {
      PATH: this.cfg.path,
      HOME: replicaDir,
      healthcheck_interval: this.cfg.drainDelay,
      ...substitutePort(runtime.env, httpPort),
      ...(spec.envVars ?? {}),
    };
    if (spec.envProcess) {
      env.fprocess = spec.envProcess;
      delete env.function_process;
    }
    if (runtime.generic) env.mode = GENERIC_WATCHDOG_MODE;
    Object.assign(env, {
      port: '0',
      bind_address: '127.0.0.1',
      metrics_port: '0',
      lock_path: join(tmp, '.lock'),
      TMPDIR: tmp,
      http_port: String(httpPort),
      secret_mount_path: mounted ? UPSTREAM_SECRETS_PATH : secretsDir,
    });
    const argv = mounted ? wrapWithSecretMount(this.unshare!, secretsDir, [...this.cfg.watchdogCommand]) : [...this.cfg.watchdogCommand];
    const classic = env.mode === 'classic';
    return {
      argv,
      env,
      cwd: runtime.dir ?? replicaDir,
      readyPath: classic ? '/_/health' : '/_/ready',
      upstream: env.mode === 'http' ? loopbackUpstream(env.http_upstream_url || env.upstream_url) : undefined,
    };
  }

  private spawnReplica(entry: FunctionEntry): void {
    const name = entry.record.spec.service;
    const id = `${name}-${randomBytes(3).toString('hex')}`;
    const generation = entry.generation;
    const logger = this.cfg.logger.child({ component: 'provider-local', fn: name, ns: entry.record.spec.namespace, instance: id });
    const replica: Replica = new Replica({
      id,
      generation,
      timings: this.cfg.timings,
      logger,
      launch: async () => {
        const launch = await this.launchSpec(entry, id, generation);
        return launch;
      },
      onLog: (instance, text) => {
        const now = Date.now();
        entry.logs.push(instance, text, now);
        entry.logFile?.write(`${new Date(now).toISOString()} ${instance} ${text}\n`);
      },
      onChange: (r) => {
        if (r.state === 'stopped') {
          entry.replicas = entry.replicas.filter((x) => x !== r);
          void rm(join(entry.runDir, r.id), { recursive: true, force: true });
        }
        this.queueReconcile(entry);
      },
      onSpawn: (pid) => void writeFileAtomic(join(entry.runDir, id, 'pid'), String(pid)).catch(() => undefined),
      onRestart: () => this.restartsTotal.inc({ function_name: `${name}.${entry.record.spec.namespace}` }),
    });
    entry.replicas.push(replica);
    replica.start();
  }

  private queueReconcile(entry: FunctionEntry): void {
    if (entry.reconcileQueued) return;
    entry.reconcileQueued = true;
    queueMicrotask(() => {
      entry.reconcileQueued = false;
      this.reconcile(entry);
    });
  }

  /** Converge replicas towards the desired count and finish rolling updates. */
  private reconcile(entry: FunctionEntry): void {
    if (this.closed || entry.removed) return;
    const active = (r: Replica) => r.state !== 'stopping' && r.state !== 'stopped';
    const desired = entry.record.replicas;
    const current = entry.replicas.filter((r) => r.generation === entry.generation && active(r));
    for (let i = current.length; i < desired; i++) this.spawnReplica(entry);
    if (current.length > desired) {
      // stop the least useful first: not ready before ready, newest before oldest
      const victims = [...current]
        .sort((a, b) => Number(a.ready) - Number(b.ready) || b.startedAt - a.startedAt)
        .slice(0, current.length - desired);
      for (const r of victims) void r.stop();
    }
    const old = entry.replicas.filter((r) => r.generation !== entry.generation && active(r));
    if (old.length > 0) {
      const readyNew = entry.replicas.filter((r) => r.generation === entry.generation && r.ready).length;
      let keep = Math.max(0, Math.min(desired, desired - readyNew));
      for (const r of old) {
        if (r.ready && keep > 0) keep--;
        else void r.stop();
      }
    }
  }

  private status(entry: FunctionEntry): FunctionStatus {
    const spec = entry.record.spec;
    const out: FunctionStatus = {
      name: spec.service,
      image: spec.image,
      namespace: spec.namespace,
      envProcess: spec.envProcess,
      envVars: spec.envVars,
      constraints: spec.constraints,
      secrets: spec.secrets,
      labels: { ...(spec.labels ?? {}), faas_function: spec.service },
      annotations: { ...(spec.annotations ?? {}) },
      limits: spec.limits ?? undefined,
      requests: spec.requests ?? undefined,
      readOnlyRootFilesystem: spec.readOnlyRootFilesystem,
      replicas: entry.record.replicas,
      availableReplicas: this.readyReplicas(entry).length,
      createdAt: entry.record.createdAt,
    };
    for (const k of Object.keys(out) as (keyof FunctionStatus)[]) if (out[k] === undefined) delete out[k];
    return out;
  }

  /** Ready replicas to hand out: the current generation's once it has any, else the previous ones. */
  private readyReplicas(entry: FunctionEntry): Replica[] {
    const ready = entry.replicas.filter((r) => r.state === 'ready' && r.port !== undefined);
    const fresh = ready.filter((r) => r.generation === entry.generation);
    return fresh.length > 0 ? fresh : ready;
  }

  // ---------------------------------------------------------------- functions

  async deploy(input: FunctionDeployment): Promise<void> {
    this.assertOpen();
    const spec = this.validateSpec(input);
    const key = this.key(spec.namespace!, spec.service);
    await this.mutex.run(key, async () => {
      if (this.functions.has(key)) return this.doUpdate(spec);
      const runtime = await this.resolveRuntime(spec);
      await this.checkSecretsExist(spec);
      const record: FunctionRecord = { spec, createdAt: new Date().toISOString(), replicas: initialReplicas(spec.labels) };
      if (record.replicas > this.cfg.maxReplicas) record.replicas = this.cfg.maxReplicas;
      const entry = this.newEntry(record, runtime);
      await this.syncFunctionSecrets(entry);
      await this.state.saveFunction(record);
      this.functions.set(key, entry);
      this.reconcile(entry);
    });
  }

  async update(input: FunctionDeployment): Promise<void> {
    this.assertOpen();
    const spec = this.validateSpec(input);
    const key = this.key(spec.namespace!, spec.service);
    await this.mutex.run(key, () => this.doUpdate(spec));
  }

  private async doUpdate(spec: FunctionDeployment): Promise<void> {
    const entry = this.mustGet(spec.service, spec.namespace);
    const runtime = await this.resolveRuntime(spec);
    await this.checkSecretsExist(spec);
    const record: FunctionRecord = { spec, createdAt: entry.record.createdAt, replicas: entry.record.replicas };
    await this.state.saveFunction(record);
    entry.record = record;
    entry.runtime = runtime;
    await this.syncFunctionSecrets(entry);
    entry.generation++;
    this.reconcile(entry);
  }

  async remove(name: string, namespace?: string): Promise<void> {
    this.assertOpen();
    const ns = this.ns(namespace);
    await this.mutex.run(this.key(ns, name), async () => {
      const entry = this.mustGet(name, ns);
      await this.state.deleteFunction(ns, name);
      this.functions.delete(this.key(ns, name));
      entry.removed = true;
      const stops = entry.replicas.map((r) => r.stop());
      // drain in the background: removal answers at once, like upstream
      void Promise.allSettled(stops).then(async () => {
        entry.logs.close();
        entry.logFile?.end();
        await rm(entry.runDir, { recursive: true, force: true });
      });
    });
  }

  async list(namespace?: string): Promise<FunctionStatus[]> {
    this.assertOpen();
    const ns = this.ns(namespace);
    this.assertNamespace(ns);
    return [...this.functions.values()]
      .filter((e) => e.record.spec.namespace === ns)
      .sort((a, b) => a.record.spec.service.localeCompare(b.record.spec.service))
      .map((e) => this.status(e));
  }

  async get(name: string, namespace?: string): Promise<FunctionStatus | undefined> {
    this.assertOpen();
    const entry = this.functions.get(this.key(this.ns(namespace), name));
    return entry ? this.status(entry) : undefined;
  }

  async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    this.assertOpen();
    if (!Number.isInteger(replicas) || replicas < 0) throw ProviderError.invalid(`replicas must be an integer >= 0 (got ${replicas})`);
    if (replicas > this.cfg.maxReplicas) throw ProviderError.invalid(`replicas ${replicas} exceeds this provider's limit of ${this.cfg.maxReplicas}`);
    const ns = this.ns(namespace);
    await this.mutex.run(this.key(ns, name), async () => {
      const entry = this.mustGet(name, ns);
      if (entry.record.replicas === replicas) return;
      // Saved first: a scale that cannot be persisted (disk full) is not applied.
      const record = { ...entry.record, replicas };
      await this.state.saveFunction(record);
      entry.record = record;
      this.reconcile(entry);
    });
  }

  async endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]> {
    this.assertOpen();
    const entry = this.mustGet(name, namespace);
    return this.readyReplicas(entry).map((r) => ({ id: r.id, baseUrl: `http://127.0.0.1:${r.port}`, pathPrefix: '' }));
  }

  replicas(name: string, namespace?: string): ReplicaInfo[] {
    const entry = this.mustGet(name, namespace);
    return entry.replicas.map((r) => ({ id: r.id, generation: r.generation, state: r.state, port: r.port, pid: r.pid, restarts: r.restarts }));
  }

  // ---------------------------------------------------------------- secrets

  async listSecrets(namespace?: string): Promise<Secret[]> {
    this.assertOpen();
    const ns = this.ns(namespace);
    this.assertNamespace(ns);
    return (await this.secrets.names(ns)).map((name) => ({ name, namespace: ns }));
  }

  async createSecret(secret: Secret): Promise<void> {
    this.assertOpen();
    const ns = this.ns(secret.namespace);
    this.assertNamespace(ns);
    await this.mutex.run(`secret:${ns}/${secret.name}`, () => this.secrets.create(ns, secret));
  }

  async updateSecret(secret: Secret): Promise<void> {
    this.assertOpen();
    const ns = this.ns(secret.namespace);
    this.assertNamespace(ns);
    await this.mutex.run(`secret:${ns}/${secret.name}`, async () => {
      await this.secrets.update(ns, secret);
      const bytes = (await this.secrets.read(ns, secret.name))!;
      for (const entry of this.functions.values()) {
        if (entry.record.spec.namespace === ns && (entry.record.spec.secrets ?? []).includes(secret.name)) {
          await writeFileAtomic(join(entry.runDir, 'secrets', secret.name), bytes, 0o400);
        }
      }
    });
  }

  async deleteSecret(name: string, namespace?: string): Promise<void> {
    this.assertOpen();
    const ns = this.ns(namespace);
    this.assertNamespace(ns);
    await this.mutex.run(`secret:${ns}/${name}`, () => this.secrets.delete(ns, name));
  }

  // ---------------------------------------------------------------- namespaces

  async namespaces(): Promise<string[]> {
    this.assertOpen();
    return this.namespaceNames();
  }

  async getNamespace(name: string): Promise<FunctionNamespace | undefined> {
    this.assertOpen();
    if (name === this.defaultNamespace) return { name };
    const ns = this.userNamespaces.get(name);
    return ns ? structuredClone(ns) : undefined;
  }

  async createNamespace(ns: FunctionNamespace): Promise<void> {
    this.assertOpen();
    assertDns1123Label('namespace', ns.name);
    await this.mutex.run('namespaces', async () => {
      if (this.namespaceExists(ns.name)) throw new ProviderError('ALREADY_EXISTS', `namespace ${ns.name} already exists`);
      const value = this.cleanNamespace(ns);
      await this.state.saveNamespace(value);
      this.userNamespaces.set(ns.name, value);
    });
  }

  async updateNamespace(ns: FunctionNamespace): Promise<void> {
    this.assertOpen();
    assertDns1123Label('namespace', ns.name);
    if (ns.name === this.defaultNamespace) throw ProviderError.invalid(`the default namespace ${ns.name} cannot be changed`);
    await this.mutex.run('namespaces', async () => {
      if (!this.userNamespaces.has(ns.name)) throw ProviderError.notFound(`namespace ${ns.name}`);
      const value = this.cleanNamespace(ns);
      await this.state.saveNamespace(value);
      this.userNamespaces.set(ns.name, value);
    });
  }

  async deleteNamespace(name: string): Promise<void> {
    this.assertOpen();
    if (name === this.defaultNamespace) throw ProviderError.invalid(`the default namespace ${name} cannot be deleted`);
    await this.mutex.run('namespaces', async () => {
      if (!this.userNamespaces.has(name)) throw ProviderError.notFound(`namespace ${name}`);
      const left = [...this.functions.values()].filter((e) => e.record.spec.namespace === name).map((e) => e.record.spec.service);
      if (left.length > 0) throw ProviderError.invalid(`namespace ${name} still has functions (${left.join(', ')}); remove them first`);
      await this.state.deleteNamespace(name);
      await this.secrets.deleteNamespace(name);
      this.userNamespaces.delete(name);
    });
  }

  private cleanNamespace(ns: FunctionNamespace): FunctionNamespace {
    const out: FunctionNamespace = { name: ns.name };
    if (ns.labels && Object.keys(ns.labels).length) out.labels = { ...ns.labels };
    if (ns.annotations && Object.keys(ns.annotations).length) out.annotations = { ...ns.annotations };
    return out;
  }

  // ---------------------------------------------------------------- logs, info

  logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    const ns = this.ns(req.namespace);
    const entry = this.functions.get(this.key(ns, req.name));
    if (!entry) {
      const err = ProviderError.notFound(`function ${req.name} in namespace ${ns}`);
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
      };
    }
    return entry.logs.read(req, ns, signal);
  }

  async info(): Promise<ProviderInfo> {
    return {
      provider: 'faas-ts-local',
      orchestration: 'local-process',
      version: this.cfg.version ?? { release: this.release, sha: 'dev' },
    };
  }

  async health(): Promise<void> {
    this.assertOpen();
    await stat(this.cfg.dataDir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stops: Promise<void>[] = [];
    for (const entry of this.functions.values()) {
      for (const r of entry.replicas) stops.push(r.stop());
    }
    await Promise.allSettled(stops);
    for (const entry of this.functions.values()) {
      entry.logs.close();
      entry.logFile?.end();
    }
  }
}

/**
 * Start provider-local on `config.dataDir`: load persisted namespaces and
 * functions and start their replicas (readiness is not awaited).
 */
export async function createLocalProvider(config: LocalProviderConfig): Promise<LocalProvider> {
  const cfg = resolveConfig(config);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const mount = cfg.secretMount === 'env' ? { mode: 'env' as const } : await probeSecretMount(isRoot);
  if (cfg.secretMount === 'namespace' && mount.mode !== 'namespace') {
    throw new ProviderError('INVALID', 'secretMount "namespace" needs root and a working `unshare --mount`; use "auto" or "env"');
  }
  const provider = new LocalProviderImpl(cfg, mount, await readPackageVersion());
  await provider.init();
  return provider;
}
