/**
 * The platform a benchmark runs against, on either provider, behind one interface.
 *
 * local: `faas-ts up --skip-deploy --port 0` as a child process (its own process group)
 *   with a temporary data dir: gateway, provider-local, the embedded file queue and the
 *   queue worker share that one process (that is how `faas-ts up` ships; there is no
 *   standalone provider-local server), so processes() reports it once as
 *   `gateway+provider+queue-worker`. Each replica is a watchdog child of it
 *   (`watchdog:<fn>/<replica>`), the function server of http-mode replicas a child of
 *   the watchdog (`function:<fn>/<replica>`). deploy() builds the bundles with
 *   `faas-ts build --data-dir` and deploys over the gateway API.
 * swarm: dockerd in swarm mode (test/docker.ts starts it when it does not answer),
 *   function images built from the templates' own Dockerfiles on the local base images
 *   (scripts/images/build-runtime-base.sh / build-python-base.sh, no registry) and
 *   cached by a hash of their inputs, provider-swarm standalone (dnsrr-hostport: the
 *   gateway on the host reaches each task on its own published loopback port),
 *   `faas-ts gateway` in front of it with NATS JetStream (nats-server) and
 *   `faas-ts queue-worker` for /async-function: five separate host processes
 *   (`gateway`, `provider`, `queue-worker`, `nats-server`) plus, per task, the
 *   container's init process (`watchdog:<fn>/<task>`) and its children (`function:...`).
 *
 * Both run the gateway without the embedded autoscaler, so replica counts change only
 * when a benchmark asks (scale-from-zero on invocation still works: it is the gateway's).
 * The host processes run the current sources bundled by esbuild (see entryCommand).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { until } from '../../test/helpers.js';

const execFileP = promisify(execFile);

export type ProviderKind = 'local' | 'swarm';

export interface BenchPlatform {
  readonly provider: ProviderKind;
  /** http://127.0.0.1:PORT */
  readonly gatewayUrl: string;
  /** 'Basic ...' for /system/* routes */
  readonly authorization: string;
  /** Functions from stack.yml by name; resolves once each answers 200 via the gateway. */
  deploy(names: string[], opts?: { replicas?: number; labels?: Record<string, string>; env?: Record<string, string> }): Promise<void>;
  /** One ready replica's watchdog URL, bypassing the gateway. */
  replicaUrl(name: string): Promise<string>;
  /** Scale and wait until exactly `replicas` are available (0: until no replica process/container is left). */
  scale(name: string, replicas: number): Promise<void>;
  processes(): Promise<Array<{ component: string; pid: number }>>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  provider: ProviderKind;
  /** Repository root (holds stack.yml, templates/, dist/). */
  root: string;
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------
// small helpers

/** A child in its own process group, its output lines handed to `onLine`. */
interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the first match of `re` in its output (stdout or stderr). */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM the group, SIGKILL after `graceMs`; resolves when the leader exited. */
  stop(graceMs?: number): Promise<void>;
}

function startChild(name: string, argv: string[], opts: { cwd: string; env: Record<string, string | undefined>; log: (line: string) => void }): Child {
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const recent: string[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const onData = (stream: NodeJS.ReadableStream) => {
    let tail = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (tail + chunk.toString()).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        recent.push(line);
        if (recent.length > 40) recent.shift();
        opts.log(`[${name}] ${line}`);
        for (const w of [...waiters]) {
          const m = line.match(w.re);
          if (m) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    });
  };
  onData(proc.stdout!);
  onData(proc.stderr!);
  proc.on('error', (err) => opts.log(`[${name}] spawn error: ${err.message}`));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // gone already
    }
  };
  return {
    proc,
    pid: proc.pid!,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; last output:\n${recent.join('\n')}`)), timeoutMs);
        const w = { re, resolve: (m: RegExpMatchArray) => (clearTimeout(timer), resolve(m)) };
        waiters.push(w);
        void exit.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`${name} exited (code ${proc.exitCode}) before printing ${re}; last output:\n${recent.join('\n')}`));
          }
        });
      });
    },
    async stop(graceMs = 10_000) {
      if (exited) {
        signal('SIGKILL'); // stragglers in the group
        return;
      }
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      signal('SIGKILL');
    },
  };
}

/**
 * argv running a faas-ts entry point (`cli/main`, `provider-swarm/main`): the current
 * sources bundled by esbuild (no type-check, npm packages left external) into
 * node_modules/.cache/faas-ts-bench/, so the processes run plain node — not tsx, whose
 * in-process compiler would inflate every RSS figure — and never a stale dist/.
 * Falls back to tsx when bundling fails. The caller removes the file when done.
 */
export async function entryCommand(root: string, rel: string): Promise<{ argv: string[]; bundled: boolean; file?: string }> {
  const outfile = join(root, 'node_modules', '.cache', 'faas-ts-bench', `${rel.replace(/\//g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}.mjs`);
  try {
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(root, `${rel}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'error',
    });
    return { argv: [process.execPath, outfile], bundled: true, file: outfile };
  } catch {
    return { argv: [process.execPath, '--import', 'tsx', join(root, `${rel}.ts`)], bundled: false };
  }
}

async function http(
  method: string,
  url: string,
  opts: { auth?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (opts.auth) headers.authorization = opts.auth;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = typeof opts.body === 'string' ? 'text/plain' : 'application/json';
  }
  const t = opts.timeoutMs ?? 30_000;
  const res = await request(url, { method: method as 'GET', headers, body, headersTimeout: t, bodyTimeout: t });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Polls until one of `ports()` answers 200 on /_/health (a watchdog's main port) and returns its URL. */
async function healthyWatchdogUrl(ports: () => number[] | Promise<number[]>, what: string, timeoutMs: number): Promise<string> {
  let url = '';
  await until(
    async () => {
      for (const port of await ports()) {
        const res = await http('GET', `http://127.0.0.1:${port}/_/health`, { timeoutMs: 2_000 }).catch(() => undefined);
        if (res?.status === 200) {
          url = `http://127.0.0.1:${port}`;
          return true;
        }
      }
      return false;
    },
    timeoutMs,
    what,
    100,
  );
  return url;
}

// ---------------------------------------------------------------------------
// /proc

/** VmRSS in kB, or undefined when the process is gone. */
export async function readRssKb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : 0; // kernel threads / zombies have no VmRSS
  } catch {
    return undefined;
  }
}

/** pid → ppid for every process (one pass over /proc). */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // the comm field is in parentheses and may hold spaces
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(e), Number(rest[1]));
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

function childrenOf(table: Map<number, number>, pid: number): number[] {
  return [...table].filter(([, ppid]) => ppid === pid).map(([p]) => p);
}

function descendantsOf(table: Map<number, number>, pid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(table, pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...childrenOf(table, p));
  }
  return out;
}

export function processEnv(pid: number): Record<string, string> {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    const env: Record<string, string> = {};
    for (const kv of raw.split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
  } catch {
    return {};
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** TCP ports a process listens on (its socket inodes matched against /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      if (inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// stack

interface StackEntry {
  name: string;
  lang: string;
  handler: string;
  image: string;
  fprocess?: string;
  environment: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

async function loadStackEntries(root: string): Promise<Map<string, StackEntry>> {
  const { loadStack } = await import('../../cli/stack.js');
  const stack = await loadStack(join(root, 'stack.yml'), { ...process.env });
  const out = new Map<string, StackEntry>();
  for (const fn of stack.functions) {
    out.set(fn.name, {
      name: fn.name,
      lang: fn.lang ?? '',
      handler: fn.handler ?? '',
      image: fn.image,
      fprocess: fn.fprocess,
      environment: { ...fn.environment },
      labels: { ...fn.labels },
      annotations: { ...fn.annotations },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// shared gateway-side operations

interface Core {
  gatewayUrl: string;
  authorization: string;
  log: (line: string) => void;
}

async function functionStatus(core: Core, name: string): Promise<{ replicas: number; availableReplicas: number } | undefined> {
  const res = await http('GET', `${core.gatewayUrl}/system/function/${name}`, { auth: core.authorization, timeoutMs: 10_000 });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET /system/function/${name}: ${res.status} ${res.text}`);
  const s = JSON.parse(res.text) as { replicas?: number; availableReplicas?: number };
  return { replicas: s.replicas ?? 0, availableReplicas: s.availableReplicas ?? 0 };
}

async function deployOne(core: Core, spec: Record<string, unknown>): Promise<void> {
  const exists = (await functionStatus(core, spec.service as string)) !== undefined;
  const res = await http(exists ? 'PUT' : 'POST', `${core.gatewayUrl}/system/functions`, { auth: core.authorization, body: spec, timeoutMs: 120_000 });
  if (res.status >= 300) throw new Error(`deploy ${String(spec.service)}: ${res.status} ${res.text}`);
}

async function scaleOnly(core: Core, name: string, replicas: number): Promise<void> {
  const res = await http('POST', `${core.gatewayUrl}/system/scale-function/${name}`, {
    auth: core.authorization,
    body: { serviceName: name, replicas },
    timeoutMs: 60_000,
  });
  if (res.status >= 300) throw new Error(`scale ${name} to ${replicas}: ${res.status} ${res.text}`);
}

async function answers200(core: Core, name: string, timeoutMs: number): Promise<void> {
  let last = '';
  await until(
    async () => {
      const res = await http('GET', `${core.gatewayUrl}/function/${name}`, { timeoutMs: 30_000 });
      last = `${res.status} ${res.text.slice(0, 200)}`;
      return res.status === 200;
    },
    timeoutMs,
    `${name} answering 200 through the gateway (last: ${last || 'no answer'})`,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last answer: ${last}`);
  });
}

function deploymentFor(entry: StackEntry, image: string, opts: { labels?: Record<string, string>; env?: Record<string, string> } | undefined, extra: { labels?: Record<string, string>; env?: Record<string, string> }): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    service: entry.name,
    image,
    labels: { ...entry.labels, ...extra.labels, ...opts?.labels },
    annotations: { ...entry.annotations },
    envVars: { ...extra.env, ...entry.environment, ...opts?.env },
  };
  if (entry.fprocess) spec.envProcess = entry.fprocess;
  return spec;
}

// ---------------------------------------------------------------------------
// local

async function startLocal(opts: PlatformOptions, log: (line: string) => void): Promise<BenchPlatform> {
  const { root } = opts;
  const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-bench-'));
  const stack = await loadStackEntries(root);
  const cli = await entryCommand(root, 'cli/main');
  const env = {
    ...process.env,
    FAAS_TS_LOG_LEVEL: 'warn',
    metrics_port: '0',
    embedded_autoscaler: 'false',
  };
  let up: Child | undefined;
  try {
    up = startChild('faas-ts up', [...cli.argv, 'up', '--skip-deploy', '--port', '0', '--data-dir', dataDir, '-f', join(root, 'stack.yml')], { cwd: root, env, log });
    const m = await up.waitFor(/^Gateway:\s+(http:\/\/\S+)/, 90_000);
    const gatewayUrl = m[1]!.replace(/\/+$/, '');
    const credentials = join(dataDir, 'gateway-secrets');
    const user = (await readFile(join(credentials, 'basic-auth-user'), 'utf8')).trim();
    const password = (await readFile(join(credentials, 'basic-auth-password'), 'utf8')).trim();
    const core: Core = { gatewayUrl, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, log };
    const upPid = up.pid;
    const built = new Set<string>();
    const runRoot = join(dataDir, 'run');

    /** Watchdogs are the up process's children; TMPDIR=<dataDir>/run/<ns>/<fn>-<hex>/<replica>/tmp names them. */
    const replicas = () => {
      const table = processTable();
      const out: Array<{ fn: string; replica: string; pid: number; children: number[] }> = [];
      for (const pid of childrenOf(table, upPid)) {
        const tmp = processEnv(pid).TMPDIR ?? '';
        const parts = relative(runRoot, tmp).split('/');
        if (tmp === '' || parts.length < 4 || parts[0] === '..') continue;
        out.push({ fn: parts[1]!.replace(/-[0-9a-f]{8}$/, ''), replica: parts[2]!, pid, children: descendantsOf(table, pid) });
      }
      return out;
    };

    const platform: BenchPlatform = {
      provider: 'local',
      gatewayUrl,
      authorization: core.authorization,
      async deploy(names, o) {
        const entries = names.map((n) => {
          const e = stack.get(n);
          if (!e) throw new Error(`${n} is not in stack.yml (have: ${[...stack.keys()].join(', ')})`);
          return e;
        });
        const toBuild = names.filter((n) => !built.has(n));
        if (toBuild.length > 0) {
          log(`building bundles: ${toBuild.join(', ')}`);
          await execFileP(cli.argv[0]!, [...cli.argv.slice(1), 'build', '-f', join(root, 'stack.yml'), '--data-dir', dataDir, ...toBuild], {
            cwd: root,
            env: { ...env },
            timeout: 300_000,
            maxBuffer: 16 * 1024 * 1024,
          });
          for (const n of toBuild) built.add(n);
        }
        for (const e of entries) {
          const labels: Record<string, string> = {};
          if (o?.replicas !== undefined) labels['com.openfaas.scale.min'] = String(o.replicas);
          await deployOne(core, deploymentFor(e, e.image, o, { labels }));
        }
        for (const e of entries) {
          if (o?.replicas !== undefined) await platform.scale(e.name, o.replicas);
          await answers200(core, e.name, 120_000);
        }
      },
      replicaUrl(name) {
        // the watchdog also listens on its metrics port; healthyWatchdogUrl keeps the one answering /_/health
        const ports = () => replicas().filter((x) => x.fn === name).flatMap((r) => listeningPorts(r.pid));
        return healthyWatchdogUrl(ports, `a ready replica of ${name}`, 30_000);
      },
      async scale(name, n) {
        await scaleOnly(core, name, n);
        await until(
          async () => {
            const s = await functionStatus(core, name);
            if (!s || s.replicas !== n || s.availableReplicas !== n) return false;
            return n > 0 || replicas().every((r) => r.fn !== name);
          },
          120_000,
          `${name} at ${n} replicas`,
          50,
        );
      },
      async processes() {
        const out = [{ component: 'gateway+provider+queue-worker', pid: upPid }];
        for (const r of replicas()) {
          out.push({ component: `watchdog:${r.fn}/${r.replica}`, pid: r.pid });
          for (const c of r.children) out.push({ component: `function:${r.fn}/${r.replica}`, pid: c });
        }
        return out;
      },
      async close() {
        try {
          await up?.stop(40_000);
        } finally {
          await rm(dataDir, { recursive: true, force: true });
          if (cli.file) await rm(cli.file, { force: true });
        }
      },
    };
    return platform;
  } catch (err) {
    await up?.stop(5_000).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    if (cli.file) await rm(cli.file, { force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------
// swarm

const RUNTIME_BASE = 'faas-ts/runtime-base:20';
const PYTHON_BASE = 'faas-ts/python-base:3';
const BENCH_LABEL = 'com.faas-ts.bench';

async function docker(args: string[], timeoutMs = 120_000, env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await execFileP('docker', args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: env ?? process.env });
  return stdout.trim();
}

async function imageLabel(tag: string, label: string): Promise<string | undefined> {
  try {
    return await docker(['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, tag], 20_000);
  } catch {
    return undefined;
  }
}

async function hashTree(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  const walk = async (p: string): Promise<void> => {
    if (statSync(p).isDirectory()) {
      for (const e of (await readdir(p)).sort()) await walk(join(p, e));
    } else {
      h.update(p);
      h.update(await readFile(p));
    }
  };
  for (const p of paths) await walk(p);
  return h.digest('hex').slice(0, 12);
}

/** Builds (once per content hash) the watchdog image and each function's template image. */
class ImageCache {
  private watchdog?: Promise<string>;
  private bases?: Promise<void>;
  private readonly fnImages = new Map<string, Promise<string>>();
  constructor(private readonly root: string, private readonly log: (line: string) => void) {}

  private ensureBases(): Promise<void> {
    this.bases ??= (async () => {
      const t0 = Date.now();
      await execFileP(join(this.root, 'scripts/images/build-runtime-base.sh'), [RUNTIME_BASE], { timeout: 600_000 });
      await execFileP(join(this.root, 'scripts/images/build-python-base.sh'), [PYTHON_BASE], { timeout: 600_000 });
      this.log(`base images ready in ${Date.now() - t0} ms`);
    })();
    return this.bases;
  }

  private ensureWatchdog(): Promise<string> {
    this.watchdog ??= (async () => {
      const bundle = join(this.root, 'dist', 'fwatchdog.cjs');
      if (!existsSync(bundle)) await execFileP('npm', ['run', '-s', 'build:watchdog'], { cwd: this.root, timeout: 120_000 });
      const hash = createHash('sha256').update(await readFile(bundle)).digest('hex').slice(0, 12);
      const tag = `faas-ts-bench/watchdog:${hash}`;
      if ((await imageLabel(tag, 'x')) === undefined) {
        const ctx = await mkdtemp(join(tmpdir(), 'bench-watchdog-'));
        try {
          await cp(bundle, join(ctx, 'fwatchdog.cjs'));
          await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY fwatchdog.cjs /fwatchdog\n');
          await docker(['build', '-q', '-t', tag, ctx], 120_000, { ...process.env, DOCKER_BUILDKIT: '0' });
        } finally {
          await rm(ctx, { recursive: true, force: true });
        }
      }
      return tag;
    })();
    return this.watchdog;
  }

  image(entry: StackEntry): Promise<string> {
    let p = this.fnImages.get(entry.name);
    if (!p) {
      p = this.build(entry);
      this.fnImages.set(entry.name, p);
    }
    return p;
  }

  private async build(entry: StackEntry): Promise<string> {
    await this.ensureBases();
    const watchdog = await this.ensureWatchdog();
    const base = entry.lang.startsWith('python') ? PYTHON_BASE : RUNTIME_BASE;
    const baseId = await docker(['image', 'inspect', '--format', '{{.Id}}', base]);
    const templateDir = join(this.root, 'templates', entry.lang);
    const inputs = `${await hashTree([templateDir, entry.handler])}-${watchdog}-${baseId.slice(7, 19)}`;
    const tag = `faas-ts-bench/${entry.name}:${createHash('sha256').update(inputs).digest('hex').slice(0, 12)}`;
    if ((await imageLabel(tag, 'faas-ts.bench-inputs')) === inputs) return tag;
    const t0 = Date.now();
    const buildRoot = await mkdtemp(join(tmpdir(), 'bench-build-'));
    try {
      const { dockerBuild } = await import('../../cli/docker-build.js');
      const { loadStack } = await import('../../cli/stack.js');
      const fn = (await loadStack(join(this.root, 'stack.yml'), { ...process.env })).functions.find((f) => f.name === entry.name)!;
      await dockerBuild(
        { ...fn, image: tag },
        {
          templateDirs: [join(this.root, 'templates')],
          buildRoot,
          buildArgs: { BASE_IMAGE: base, WATCHDOG_IMAGE: watchdog },
          env: { ...process.env, DOCKER_BUILDKIT: '0' },
        },
      );
      // record the inputs on the image (a label needs a rebuild; this one is a no-op layer)
      const ctx = join(buildRoot, 'label');
      await mkdir(ctx);
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${tag}\nLABEL faas-ts.bench-inputs=${inputs}\n`);
      await docker(['build', '-q', '-t', tag, ctx], 120_000, { ...process.env, DOCKER_BUILDKIT: '0' });
    } finally {
      await rm(buildRoot, { recursive: true, force: true });
    }
    this.log(`built ${tag} in ${Date.now() - t0} ms`);
    return tag;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Remove services (and networks) left by a bench platform whose process is gone. */
async function removeStale(log: (line: string) => void): Promise<void> {
  const out = await docker(['service', 'ls', '--filter', `label=${BENCH_LABEL}`, '--format', '{{.Name}}']);
  for (const name of out.split('\n').filter(Boolean)) {
    const owner = Number(await docker(['service', 'inspect', '--format', `{{index .Spec.Labels "${BENCH_LABEL}"}}`, name]));
    if (!pidAlive(owner)) {
      log(`removing stale bench service ${name} (owner pid ${owner} gone)`);
      await docker(['service', 'rm', name]).catch(() => undefined);
    }
  }
}

interface SwarmTask {
  ID: string;
  Status?: { State?: string; ContainerStatus?: { ContainerID?: string; PID?: number }; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
  DesiredState?: string;
}

async function startSwarm(opts: PlatformOptions, log: (line: string) => void): Promise<BenchPlatform> {
  const { root } = opts;
  const { ensureSwarm } = await import('../../test/docker.js');
  const engine = await ensureSwarm();
  log(`docker ${engine} in swarm mode`);
  await removeStale(log);
  const stack = await loadStackEntries(root);
  const images = new ImageCache(root, log);
  const id = `bench${randomBytes(3).toString('hex')}`;
  const network = `${id}-functions`;
  const secrets = await mkdtemp(join(tmpdir(), 'faas-ts-bench-swarm-'));
  const password = randomBytes(24).toString('base64url');
  await writeFile(join(secrets, 'basic-auth-user'), 'admin');
  await writeFile(join(secrets, 'basic-auth-password'), password, { mode: 0o600 });
  const children: Child[] = [];
  const bundles: Array<string | undefined> = [];
  const deployed = new Set<string>();
  const Docker = (await import('dockerode')).default;
  const engineApi = new Docker({ socketPath: '/var/run/docker.sock' });
  const baseEnv = { ...process.env, FAAS_TS_LOG_LEVEL: 'warn' };

  const cleanup = async () => {
    for (const c of [...children].reverse()) await c.stop(15_000).catch(() => undefined);
    if (deployed.size > 0) await docker(['service', 'rm', ...deployed]).catch(() => undefined);
    // the network goes once the removed tasks' containers are gone
    await until(
      async () => {
        await docker(['network', 'rm', network]).catch(() => undefined);
        return !(await docker(['network', 'ls', '-q', '--filter', `name=^${network}$`]));
      },
      60_000,
      `network ${network} removed`,
      500,
    ).catch(() => log(`could not remove network ${network}`));
    await rm(secrets, { recursive: true, force: true });
    for (const f of bundles) if (f) await rm(f, { force: true });
  };

  try {
    const natsStore = join(secrets, 'nats');
    const nats = startChild('nats-server', ['nats-server', '-a', '127.0.0.1', '-p', '-1', '-js', '-sd', natsStore], { cwd: root, env: baseEnv, log });
    children.push(nats);
    const natsPort = Number((await nats.waitFor(/Listening for client connections on 127\.0\.0\.1:(\d+)/, 30_000))[1]);

    const providerCmd = await entryCommand(root, 'provider-swarm/main');
    bundles.push(providerCmd.file);
    const provider = startChild('provider-swarm', providerCmd.argv, {
      cwd: root,
      env: {
        ...baseEnv,
        port: '0',
        bind_address: '127.0.0.1',
        basic_auth: 'true',
        secret_mount_path: secrets,
        functions_network: network,
        endpoint_mode: 'dnsrr-hostport',
        restart_delay: '0s',
      },
      log,
    });
    children.push(provider);
    const providerUrl = (await provider.waitFor(/"url":"(http:\/\/[^"]+)"/, 60_000))[1]!;

    const cli = await entryCommand(root, 'cli/main');
    bundles.push(cli.file);
    const gwEnv = {
      ...baseEnv,
      functions_provider_url: providerUrl,
      basic_auth: 'true',
      secret_mount_path: secrets,
      metrics_port: '0',
      bind_address: '127.0.0.1',
      embedded_autoscaler: 'false',
      faas_nats_address: '127.0.0.1',
      faas_nats_port: String(natsPort),
      // a cold task on swarm needs its HEALTHCHECK to pass before it counts
      upstream_timeout: '120s',
      write_timeout: '125s',
      read_timeout: '125s',
    };
    const gateway = startChild('gateway', [...cli.argv, 'gateway', '--port', '0'], { cwd: root, env: gwEnv, log });
    children.push(gateway);
    const gatewayUrl = (await gateway.waitFor(/^Gateway:\s+(http:\/\/\S+?)\/?\s/, 60_000))[1]!;
    const gatewayPort = new URL(gatewayUrl).port;

    const worker = startChild('queue-worker', [...cli.argv, 'queue-worker'], {
      cwd: root,
      env: {
        ...baseEnv,
        faas_nats_address: '127.0.0.1',
        faas_nats_port: String(natsPort),
        faas_gateway_address: '127.0.0.1',
        faas_gateway_port: gatewayPort,
        basic_auth: 'true',
        secret_mount_path: secrets,
      },
      log,
    });
    children.push(worker);
    await worker.waitFor(/^Queue worker:/, 60_000);

    const core: Core = { gatewayUrl, authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`, log };
    const runningTasks = async (name: string): Promise<SwarmTask[]> => {
      const tasks = (await engineApi.listTasks({ filters: { service: [name], 'desired-state': ['running'] } })) as SwarmTask[];
      return tasks.filter((t) => t.Status?.State === 'running');
    };
    const containers = async (name: string): Promise<string[]> => {
      const out = await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}`]);
      return out ? out.split('\n') : [];
    };

    const platform: BenchPlatform = {
      provider: 'swarm',
      gatewayUrl,
      authorization: core.authorization,
      async deploy(names, o) {
        const entries = names.map((n) => {
          const e = stack.get(n);
          if (!e) throw new Error(`${n} is not in stack.yml (have: ${[...stack.keys()].join(', ')})`);
          return e;
        });
        for (const e of entries) {
          const existing = (await docker(['service', 'ls', '--format', '{{.Name}}', '--filter', `name=${e.name}`])).split('\n').includes(e.name);
          if (existing && !deployed.has(e.name)) {
            const owner = await docker(['service', 'inspect', '--format', `{{index .Spec.Labels "${BENCH_LABEL}"}}`, e.name]).catch(() => '');
            throw new Error(`a swarm service named ${e.name} already exists (owner: ${owner || 'not a bench platform'}); remove it first`);
          }
        }
        const tags = await Promise.all(entries.map((e) => images.image(e)));
        for (const [i, e] of entries.entries()) {
          const labels: Record<string, string> = { [BENCH_LABEL]: String(process.pid) };
          if (o?.replicas !== undefined) labels['com.openfaas.scale.min'] = String(o.replicas);
          // a short drain on SIGTERM (as provider-local's 1 s), so scaling down is quick
          await deployOne(core, deploymentFor(e, tags[i]!, o, { labels, env: { healthcheck_interval: '1s' } }));
          deployed.add(e.name);
        }
        for (const e of entries) {
          if (o?.replicas !== undefined) await platform.scale(e.name, o.replicas);
          await answers200(core, e.name, 180_000);
        }
      },
      replicaUrl(name) {
        const ports = async () => (await runningTasks(name)).flatMap((t) => t.Status?.PortStatus?.Ports?.[0]?.PublishedPort || []);
        return healthyWatchdogUrl(ports, `a ready task of ${name}`, 60_000);
      },
      async scale(name, n) {
        await scaleOnly(core, name, n);
        await until(
          async () => {
            const s = await functionStatus(core, name);
            if (!s || s.replicas !== n || s.availableReplicas !== n) return false;
            return n > 0 || (await containers(name)).length === 0;
          },
          180_000,
          `${name} at ${n} replicas`,
          100,
        );
      },
      async processes() {
        const out: Array<{ component: string; pid: number }> = [
          { component: 'gateway', pid: gateway.pid },
          { component: 'provider', pid: provider.pid },
          { component: 'queue-worker', pid: worker.pid },
          { component: 'nats-server', pid: nats.pid },
        ];
        const table = processTable();
        // every function the gateway knows, including ones a benchmark deployed through the API
        const listed = await http('GET', `${gatewayUrl}/system/functions`, { auth: core.authorization, timeoutMs: 10_000 });
        const names = listed.status === 200 ? (JSON.parse(listed.text) as Array<{ name: string }>).map((f) => f.name) : [...deployed];
        for (const name of names) {
          for (const t of await runningTasks(name)) {
            const cid = t.Status?.ContainerStatus?.ContainerID;
            if (!cid) continue;
            let pid = t.Status?.ContainerStatus?.PID ?? 0;
            if (!pid) pid = ((await engineApi.getContainer(cid).inspect().catch(() => undefined))?.State?.Pid as number | undefined) ?? 0;
            if (!pid) continue;
            const replica = t.ID.slice(0, 12);
            out.push({ component: `watchdog:${name}/${replica}`, pid });
            for (const c of descendantsOf(table, pid)) {
              // the HEALTHCHECK's short-lived `node -e` runs under containerd-shim, not the init process
              if (!cmdline(c)) continue;
              out.push({ component: `function:${name}/${replica}`, pid: c });
            }
          }
        }
        return out;
      },
      close: cleanup,
    };
    return platform;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// ---------------------------------------------------------------------------

export async function startPlatform(opts: PlatformOptions): Promise<BenchPlatform> {
  const log = opts.log ?? (() => undefined);
  return opts.provider === 'local' ? startLocal(opts, log) : startSwarm(opts, log);
}
