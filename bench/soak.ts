/**
 * Bounded soak test (not part of `npm test`): mixed sync/async load on the
 * embedded default (`faas-ts up`: gateway + provider-local + durable file
 * queue + queue worker, the functions of stack.yml) with periodic kills.
 *
 *   npx tsx bench/soak.ts [--minutes 30] [--rate 120] [--async-share 0.2]
 *                         [--kill-every 60] [--restart-every 600] [--drain 300]
 *                         [--max-replicas 4]
 *                         [--out bench/results/soak-YYYY-MM-DD.md] [--keep]
 *
 * - Runs a snapshot of dist/ (copied at start, so a rebuild by someone else
 *   during the run does not change what a restart executes) with a temp data
 *   dir, in its own process group, plus a callback receiver on 127.0.0.1.
 * - Open-loop load at a fixed rate (bounded: rate × duration requests, at most
 *   256 in flight; a request that would exceed that is counted as skipped):
 *   sync POSTs to hello-node, echo-python and sieve (?n=100000), and async
 *   POSTs with X-Callback-Url and a unique X-Call-Id (also the body).
 * - Faults: every --kill-every s a SIGKILL of a random replica process of one
 *   of those functions (its watchdog, or echo-python's python process); every
 *   --restart-every s a SIGKILL of the whole `up` process group, then `up`
 *   again on the same data dir and port (its replicas, orphaned, are reaped by
 *   the new `up`). Right before each `up` kill, 40 async calls to env-probe
 *   ?sleep=250 are enqueued, so the kill always finds accepted messages that
 *   have not run yet (the embedded worker runs one at a time by default).
 * - A sync call counts as a fault-window call when it starts within 10 s of a
 *   replica kill, or between an `up` kill and 10 s after all three functions
 *   answer again.
 * - At the end: waits (bounded by --drain) until every accepted async call
 *   has called back, stops `up` with SIGTERM, and prints markdown tables (also
 *   written to --out). Exit 1 if an accepted async call never called back.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { alive, cmdline, killEverything, processTree, type ProcInfo } from './soak-procs.js';

const SYNC_FNS = ['hello-node', 'echo-python', 'sieve'] as const;
type Fn = (typeof SYNC_FNS)[number];
const FN_WEIGHTS: Record<Fn, number> = { 'hello-node': 0.4, 'echo-python': 0.3, sieve: 0.3 };
const SIEVE_N = 100_000;
const MAX_IN_FLIGHT = 256;
const REQUEST_TIMEOUT_MS = 15_000;
const FAULT_WINDOW_MS = 10_000;
const RSS_EVERY_MS = 5_000;
/** Slow async calls enqueued right before each `up` kill (the embedded worker runs one at a time). */
const SLOW_BURST = 40;
const SLOW_SLEEP_MS = 250;

interface Options {
  minutes: number;
  rate: number;
  asyncShare: number;
  killEverySec: number;
  restartEverySec: number;
  drainSec: number;
  maxReplicas: number;
  out: string;
  keep: boolean;
}

function parseOptions(argv: string[], repo: string): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '30' },
      rate: { type: 'string', default: '100' },
      'async-share': { type: 'string', default: '0.2' },
      'kill-every': { type: 'string', default: '60' },
      'restart-every': { type: 'string', default: '600' },
      drain: { type: 'string', default: '300' },
      'max-replicas': { type: 'string', default: '4' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in [${min}, ${max}], got ${v}`);
    return n;
  };
  const day = new Date().toISOString().slice(0, 10);
  return {
    minutes: num('minutes', values.minutes, 0.5, 120),
    rate: num('rate', values.rate, 1, 1000),
    asyncShare: num('async-share', values['async-share'], 0, 1),
    killEverySec: num('kill-every', values['kill-every'], 5, 3600),
    restartEverySec: num('restart-every', values['restart-every'], 20, 7200),
    drainSec: num('drain', values.drain, 5, 1800),
    maxReplicas: num('max-replicas', values['max-replicas'], 0, 20),
    out: values.out ?? join(repo, 'bench', 'results', `soak-${day}.md`),
    keep: values.keep ?? false,
  };
}

// ---------------------------------------------------------------- records

interface SyncRecord {
  t: number; // ms since load start
  fn: Fn;
  ms: number;
  ok: boolean;
  code: string; // status or error code
  detail?: string; // start of the error body or message
}

interface AsyncCall {
  t: number;
  fn: Fn | 'env-probe';
}

interface Fault {
  t: number;
  kind: 'watchdog' | 'function' | 'up';
  fn: string;
  pid: number;
  /** For `up` kills: accepted async calls not yet called back at the kill. */
  backlog?: number;
  /**
   * ms from the kill until the function had as many processes of that kind as
   * before and answered 200 (for `up`: until all three functions answered).
   */
  recoveredMs?: number;
  windowEnd: number;
}

interface RssSample {
  t: number;
  load1: number;
  byComponent: Map<string, number>; // kB, summed over replicas
  countByComponent: Map<string, number>;
  replicas: number;
}

interface Incarnation {
  n: number;
  pid: number;
  startedAt: number;
  bannerMs: number;
  readyMs: number;
  rssAfter60s?: number;
  rssLast?: number;
  end: string;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const mb = (kb: number | undefined) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));
const rate = (a: number, b: number) => (b === 0 ? '–' : `${((100 * a) / b).toFixed(2)} %`);

function pickWeighted(): Fn {
  let r = Math.random();
  for (const fn of SYNC_FNS) {
    r -= FN_WEIGHTS[fn];
    if (r <= 0) return fn;
  }
  return 'hello-node';
}

// ---------------------------------------------------------------- the `up` process

interface Up {
  child: ChildProcess;
  pid: number;
  url: string;
  exited: Promise<void>;
}

/**
 * dist/ copied, the rest linked; stack.yml copied with `com.openfaas.scale.max`
 * set on the loaded functions when maxReplicas > 0 (the embedded autoscaler
 * would otherwise take each to 20 replicas on a 2-core machine).
 */
function snapshot(repo: string, into: string, maxReplicas: number): string {
  const snap = join(into, 'snap');
  mkdirSync(snap);
  cpSync(join(repo, 'dist'), join(snap, 'dist'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(snap, 'package.json'));
  for (const link of ['node_modules', 'templates', 'functions', 'deploy', 'ui']) if (existsSync(join(repo, link))) symlinkSync(join(repo, link), join(snap, link));
  const stack = parseYaml(readFileSync(join(repo, 'stack.yml'), 'utf8')) as { functions: Record<string, { labels?: Record<string, string> }> };
  if (maxReplicas > 0) {
    for (const fn of SYNC_FNS) {
      const spec = stack.functions[fn];
      if (!spec) throw new Error(`stack.yml has no function ${fn}`);
      spec.labels = { ...spec.labels, 'com.openfaas.scale.max': String(maxReplicas) };
    }
  }
  writeFileSync(join(snap, 'stack.yml'), stringifyYaml(stack));
  return snap;
}

async function startUp(snap: string, dataDir: string, port: number, logFile: string): Promise<Up> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(snap, 'dist', 'cli', 'main.js'), 'up', '--data-dir', dataDir, '--port', String(port)], {
    cwd: snap,
    detached: true,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, FAAS_TS_LOG_LEVEL: 'info' },
  });
  closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    let gateway = '';
    const timer = setTimeout(() => reject(new Error(`faas-ts up did not print its banner within 120 s (log: ${logFile})`)), 120_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const m = /^Gateway:\s+(\S+)/m.exec(buf);
      if (m) gateway = m[1]!;
      if (gateway && /^Functions:/m.test(buf)) {
        clearTimeout(timer);
        resolve(gateway);
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`faas-ts up exited (${code ?? sig}) before it was up; log: ${logFile}`));
    });
  });
  child.stdout!.resume();
  return { child, pid: child.pid!, url, exited };
}

// ---------------------------------------------------------------- callback receiver

interface Receiver {
  server: Server;
  url: string;
  /** callbacks per call id */
  count: Map<string, number>;
  firstAt: Map<string, number>;
  unknown: number;
  nonOk: Map<string, number>;
  bodyMismatch: number;
}

async function startReceiver(now: () => number): Promise<Receiver> {
  const r: Omit<Receiver, 'server' | 'url'> = { count: new Map(), firstAt: new Map(), unknown: 0, nonOk: new Map(), bodyMismatch: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size < 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      const id = String(req.headers['x-call-id'] ?? '');
      const status = String(req.headers['x-function-status'] ?? '?');
      const body = Buffer.concat(chunks).toString('utf8');
      if (!id.startsWith('soak-')) r.unknown++;
      else {
        r.count.set(id, (r.count.get(id) ?? 0) + 1);
        if (!r.firstAt.has(id)) r.firstAt.set(id, now());
        if (status !== '200') r.nonOk.set(status, (r.nonOk.get(status) ?? 0) + 1);
        // hello-node and echo-python answer with the body (the id) in theirs
        else if (!/^soak-(sieve|slow)-/.test(id) && !body.includes(id)) r.bodyMismatch++;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(r, { server, url: `http://127.0.0.1:${port}/done` });
}

// ---------------------------------------------------------------- the soak

const repo = fileURLToPath(new URL('..', import.meta.url));
const opts = parseOptions(process.argv.slice(2), repo);
const work = mkdtempSync(join(tmpdir(), 'faas-ts-soak-'));
const dataDir = join(work, 'data');
const snap = snapshot(repo, work, opts.maxReplicas);
const watchdogMarker = join(snap, 'dist', 'fwatchdog.cjs');
const durationMs = opts.minutes * 60_000;
const totalRequests = Math.round((opts.rate * durationMs) / 1000);
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
})();

const builtAt = (file: string) => statSync(join(repo, 'dist', file)).mtime.toISOString().slice(0, 16).replace('T', ' ');
const distBuilt = `${builtAt(join('cli', 'main.js'))} UTC, fwatchdog.cjs ${builtAt('fwatchdog.cjs')} UTC`;
const seenReplicas = new Map<number, string>();
let up: Up | undefined;
let stopping = false;
const cleanupSync = () => killEverything(up?.pid, dataDir, watchdogMarker, seenReplicas);
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    console.error(`soak: ${sig}, cleaning up`);
    stopping = true;
    cleanupSync();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}

const t0 = Date.now();
const now = () => Date.now() - t0;
const log = (msg: string) => console.error(`[soak ${(now() / 1000).toFixed(0).padStart(5)} s] ${msg}`);
const receiver = await startReceiver(now);
const agent = new Agent({ connections: 128, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 4000 });

const syncRecords: SyncRecord[] = [];
const accepted = new Map<string, AsyncCall>();
const indeterminate = new Map<string, AsyncCall>(); // the POST failed without an answer: stored or not
let asyncRejected = 0;
const asyncRejectCodes = new Map<string, number>();
let skipped = 0;
let inFlight = 0;
const faults: Fault[] = [];
const rssSamples: RssSample[] = [];
const incarnations: Incarnation[] = [];
let gatewayUrl = '';

async function probe(fn: Fn): Promise<boolean> {
  try {
    const res = await request(`${gatewayUrl}/function/${fn}${fn === 'sieve' ? '?n=1000' : ''}`, {
      method: 'POST',
      body: 'probe',
      dispatcher: agent,
      signal: AbortSignal.timeout(5000),
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

async function untilOk(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function launch(port: number): Promise<void> {
  const n = incarnations.length + 1;
  const started = Date.now();
  up = await startUp(snap, dataDir, port, join(work, `up-${n}.log`));
  const bannerMs = Date.now() - started;
  gatewayUrl = up.url;
  const ok = await untilOk(async () => (await Promise.all(SYNC_FNS.map(probe))).every(Boolean), 120_000);
  if (!ok) throw new Error(`functions not answering 120 s after up #${n} started`);
  incarnations.push({ n, pid: up.pid, startedAt: started - t0, bannerMs, readyMs: Date.now() - started, end: 'running' });
  log(`up #${n} pid ${up.pid} ready in ${Date.now() - started} ms at ${up.url}`);
}

function sampleRss(): void {
  if (!up) return;
  const procs: ProcInfo[] = processTree(up.pid, watchdogMarker);
  if (procs.length === 0) return;
  const byComponent = new Map<string, number>();
  const countByComponent = new Map<string, number>();
  let replicas = 0;
  for (const p of procs) {
    if (p.kind !== 'up' && !seenReplicas.has(p.pid)) seenReplicas.set(p.pid, cmdline(p.pid).join(' '));
    if (p.kind === 'watchdog') replicas++;
    const key = p.kind === 'up' ? 'up (gateway, provider, queue, worker)' : `${p.fn} ${p.kind}`;
    byComponent.set(key, (byComponent.get(key) ?? 0) + p.rssKb);
    countByComponent.set(key, (countByComponent.get(key) ?? 0) + 1);
  }
  rssSamples.push({ t: now(), load1: loadavg()[0]!, byComponent, countByComponent, replicas });
  const inc = incarnations[incarnations.length - 1];
  const upRss = byComponent.get('up (gateway, provider, queue, worker)');
  if (inc && inc.pid === up.pid && upRss !== undefined) {
    if (inc.rssAfter60s === undefined && now() - inc.startedAt >= 60_000) inc.rssAfter60s = upRss;
    inc.rssLast = upRss;
  }
}

let seq = 0;
function fire(): void {
  seq++;
  if (inFlight >= MAX_IN_FLIGHT) {
    skipped++;
    return;
  }
  const fn = pickWeighted();
  const isAsync = Math.random() < opts.asyncShare;
  const id = `soak-${fn === 'sieve' ? 'sieve-' : ''}${seq}-${Math.random().toString(36).slice(2, 8)}`;
  const t = now();
  const query = fn === 'sieve' ? `?n=${SIEVE_N}` : '';
  inFlight++;
  const started = performance.now();
  if (!isAsync) {
    void request(`${gatewayUrl}/function/${fn}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: id,
      dispatcher: agent,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (res) => {
        const text = await res.body.text();
        const ok = res.statusCode === 200 && (fn === 'sieve' ? text.includes('"count"') : text.includes(id));
        const code = ok ? '200' : res.statusCode === 200 ? 'bad-body' : String(res.statusCode);
        syncRecords.push({ t, fn, ms: performance.now() - started, ok, code, ...(ok ? {} : { detail: text.slice(0, 120).trim() }) });
      })
      .catch((err: Error & { code?: string }) => {
        syncRecords.push({ t, fn, ms: performance.now() - started, ok: false, code: err.code ?? err.name, detail: err.message.slice(0, 120) });
      })
      .finally(() => inFlight--);
    return;
  }
  void request(`${gatewayUrl}/async-function/${fn}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-callback-url': receiver.url, 'x-call-id': id },
    body: id,
    dispatcher: agent,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  })
    .then(async (res) => {
      await res.body.dump();
      if (res.statusCode === 202) accepted.set(id, { t, fn });
      else {
        asyncRejected++;
        asyncRejectCodes.set(String(res.statusCode), (asyncRejectCodes.get(String(res.statusCode)) ?? 0) + 1);
      }
    })
    .catch((err: Error & { code?: string }) => {
      // connection refused: never reached a gateway, so not stored
      if (err.code === 'ECONNREFUSED') {
        asyncRejected++;
        asyncRejectCodes.set('ECONNREFUSED', (asyncRejectCodes.get('ECONNREFUSED') ?? 0) + 1);
      } else indeterminate.set(id, { t, fn });
    })
    .finally(() => inFlight--);
}

async function killReplica(): Promise<void> {
  if (!up) return;
  const candidates = processTree(up.pid, watchdogMarker).filter((p) => p.kind !== 'up' && (SYNC_FNS as readonly string[]).includes(p.fn));
  if (candidates.length === 0) return;
  const target = candidates[Math.floor(Math.random() * candidates.length)]!;
  const before = candidates.filter((p) => p.kind === target.kind && p.fn === target.fn).length;
  const fault: Fault = { t: now(), kind: target.kind as 'watchdog' | 'function', fn: target.fn, pid: target.pid, windowEnd: now() + FAULT_WINDOW_MS };
  faults.push(fault);
  try {
    process.kill(target.pid, 'SIGKILL');
  } catch {
    return;
  }
  log(`kill -9 ${target.kind} of ${target.fn} (pid ${target.pid})`);
  const upPid = up.pid;
  const recovered = await untilOk(async () => {
    if (alive(target.pid) || up?.pid !== upPid) return false;
    // as many processes of that kind for that function as before the kill
    // (the autoscaler may have changed the count meanwhile: bounded anyway)
    const again = processTree(upPid, watchdogMarker).filter((p) => p.kind === target.kind && p.fn === target.fn).length;
    return again >= before && (await probe(target.fn as Fn));
  }, 60_000);
  if (recovered) fault.recoveredMs = now() - fault.t;
}

/**
 * Enqueue `n` slow async calls (env-probe ?sleep=ms) so that the `up` kill
 * right after finds accepted messages that have not run yet, and one running.
 */
async function slowBurst(n: number, sleepMs: number): Promise<void> {
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const id = `soak-slow-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
    const t = now();
    calls.push(
      request(`${gatewayUrl}/async-function/env-probe?sleep=${sleepMs}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-callback-url': receiver.url, 'x-call-id': id },
        body: id,
        dispatcher: agent,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode === 202) accepted.set(id, { t, fn: 'env-probe' });
          else asyncRejected++;
        })
        .catch(() => void indeterminate.set(id, { t, fn: 'env-probe' })),
    );
  }
  await Promise.all(calls);
}

async function restartUp(): Promise<void> {
  if (!up) return;
  await slowBurst(SLOW_BURST, SLOW_SLEEP_MS);
  await new Promise((r) => setTimeout(r, 1000));
  const old = up;
  const port = Number(new URL(old.url).port);
  const backlog = [...accepted.keys()].filter((id) => !receiver.count.has(id)).length;
  const fault: Fault = { t: now(), kind: 'up', fn: 'all', pid: old.pid, windowEnd: Infinity, backlog };
  faults.push(fault);
  const inc = incarnations[incarnations.length - 1];
  if (inc) inc.end = `SIGKILL at ${(fault.t / 1000).toFixed(0)} s`;
  log(`kill -9 the up process group (pid ${old.pid}), accepted so far ${accepted.size}, not yet called back ${backlog}`);
  try {
    process.kill(-old.pid, 'SIGKILL');
  } catch {
    // gone
  }
  await old.exited;
  up = undefined;
  await launch(port);
  fault.recoveredMs = now() - fault.t;
  fault.windowEnd = now() + FAULT_WINDOW_MS;
}

// ---------------------------------------------------------------- run

const loadAtStart = loadavg();
let exitCode = 0;
let error: Error | undefined;
let drainMs = 0;
let finalMetrics = '';
try {
  await launch(0);
  log(`load: ${opts.rate} req/s for ${opts.minutes} min (${totalRequests} requests, ${(opts.asyncShare * 100).toFixed(0)} % async)`);
  const rssTimer = setInterval(sampleRss, RSS_EVERY_MS);
  sampleRss();
  const loadStart = now();
  let sent = 0;
  let nextKill = loadStart + opts.killEverySec * 1000;
  let nextRestart = loadStart + opts.restartEverySec * 1000;
  let faultBusy: Promise<void> | undefined;
  let lastMinuteLog = 0;
  while (sent < totalRequests && !stopping) {
    const due = Math.min(totalRequests, Math.floor(((now() - loadStart) * opts.rate) / 1000));
    while (sent < due) {
      sent++;
      if (gatewayUrl) fire();
    }
    const t = now();
    if (!faultBusy && t >= nextRestart && t < loadStart + durationMs - 30_000) {
      nextRestart += opts.restartEverySec * 1000;
      nextKill = Math.max(nextKill, t + 30_000);
      faultBusy = restartUp().finally(() => (faultBusy = undefined));
    } else if (!faultBusy && t >= nextKill) {
      nextKill += opts.killEverySec * 1000 * (0.8 + 0.4 * Math.random());
      if (nextRestart - t > 15_000) faultBusy = killReplica().finally(() => (faultBusy = undefined));
    }
    if (t - lastMinuteLog >= 60_000) {
      lastMinuteLog = t;
      const errs = syncRecords.filter((r) => !r.ok).length;
      log(`sent ${sent}, sync done ${syncRecords.length} (${errs} errors), async accepted ${accepted.size}, called back ${receiver.count.size}, in flight ${inFlight}, load ${loadavg()[0]!.toFixed(2)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  log('load finished; waiting for running requests and fault handlers');
  await untilOk(async () => inFlight === 0, REQUEST_TIMEOUT_MS + 5000);
  await faultBusy;
  const drainStart = Date.now();
  log(`draining async backlog: ${accepted.size - [...accepted.keys()].filter((id) => receiver.count.has(id)).length} outstanding`);
  await untilOk(async () => [...accepted.keys()].every((id) => receiver.count.has(id)), opts.drainSec * 1000);
  // late duplicates and indeterminate calls get a short grace period
  await new Promise((r) => setTimeout(r, 3000));
  drainMs = Date.now() - drainStart;
  sampleRss();
  clearInterval(rssTimer);
  try {
    const res = await request(`${gatewayUrl}/metrics`, { dispatcher: agent, signal: AbortSignal.timeout(5000) });
    finalMetrics = await res.body.text();
  } catch {
    // reported as missing
  }
  const inc = incarnations[incarnations.length - 1];
  if (inc) inc.end = 'SIGTERM at the end';
  if (up) {
    const stopAt = Date.now();
    process.kill(up.pid, 'SIGTERM');
    const stopped = await Promise.race([up.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 45_000))]);
    log(stopped ? `up stopped after SIGTERM in ${Date.now() - stopAt} ms` : 'up did not stop within 45 s of SIGTERM');
    if (inc) inc.end = stopped ? `SIGTERM at the end, exited in ${Date.now() - stopAt} ms` : 'SIGTERM at the end, no exit in 45 s';
  }
} catch (err) {
  error = err as Error;
  exitCode = 2;
  log(`error: ${error.stack ?? error.message}`);
} finally {
  stopping = true;
  cleanupSync();
  await agent.close().catch(() => undefined);
  await new Promise<void>((r) => receiver.server.close(() => r()));
  receiver.server.closeAllConnections();
}

// ---------------------------------------------------------------- report

function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && /[\s{]/.test(line[name.length] ?? '')) sum += Number(line.split(' ').pop());
  return sum;
}

/** The call ran (from its start to its answer) while a fault window was open. */
function inFault(r: SyncRecord): boolean {
  return faults.some((f) => r.t + r.ms >= f.t && r.t < f.windowEnd);
}

const lines: string[] = [];
const out = (s = '') => lines.push(s);
const minutes = Math.ceil(opts.minutes);
const lastT = syncRecords.reduce((m, r) => Math.max(m, r.t), 0);
const windowMin = Math.min(5, Math.max(1, Math.floor(opts.minutes / 2)));
const steady = syncRecords.filter((r) => !inFault(r));
const faulty = syncRecords.filter((r) => inFault(r));
const errors = syncRecords.filter((r) => !r.ok);
const completed = [...accepted.keys()].filter((id) => receiver.count.has(id));
const lost = [...accepted.keys()].filter((id) => !receiver.count.has(id));
const duplicates = [...receiver.count.values()].reduce((s, c) => s + (c - 1), 0);
const indeterminateDone = [...indeterminate.keys()].filter((id) => receiver.count.has(id)).length;
const loadSamples = rssSamples.map((s) => s.load1);
const deadDir = join(dataDir, 'queue', 'dead');
const deadLetters = existsSync(deadDir) ? readdirSync(deadDir).filter((f) => f.endsWith('.json')).length : NaN;

out(`# Soak test, ${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
out();
out(`\`npx tsx bench/soak.ts ${process.argv.slice(2).join(' ')}\` on commit ${commit} (snapshot of dist/ as built at ${distBuilt}), Node ${process.version}, ${cpus().length} cores.`);
out(
  `Embedded default (\`faas-ts up\`, stack.yml's functions${opts.maxReplicas > 0 ? ` with com.openfaas.scale.max=${opts.maxReplicas} on the three loaded ones` : ''}, embedded autoscaler on, default queue-worker settings: max_inflight 1), open-loop ${opts.rate} req/s for ${opts.minutes} min ` +
    `(${(opts.asyncShare * 100).toFixed(0)} % async; hello-node 40 %, echo-python 30 %, sieve n=${SIEVE_N} 30 %), a replica SIGKILL about every ${opts.killEverySec} s, ` +
    `the whole \`up\` process group SIGKILLed and restarted every ${opts.restartEverySec} s.`,
);
out(
  `Load average (1 min): ${loadAtStart[0]!.toFixed(2)} at start, mean ${f1(loadSamples.reduce((a, b) => a + b, 0) / (loadSamples.length || 1))}, ` +
    `max ${f1(Math.max(...loadSamples))} during the run — the machine is shared with other jobs, so latency figures are noisy.`,
);
if (error) out(`\n**The run stopped with an error:** ${error.message}`);
out();
out('## Totals');
out();
out('| figure | value |');
out('|---|---|');
out(`| sync calls | ${syncRecords.length} (skipped by the client at ${MAX_IN_FLIGHT} in flight: ${skipped}) |`);
out(`| sync errors, all | ${errors.length} / ${syncRecords.length} = ${rate(errors.length, syncRecords.length)} |`);
out(`| sync errors, steady state | ${steady.filter((r) => !r.ok).length} / ${steady.length} = ${rate(steady.filter((r) => !r.ok).length, steady.length)} |`);
out(`| sync errors, fault windows | ${faulty.filter((r) => !r.ok).length} / ${faulty.length} = ${rate(faulty.filter((r) => !r.ok).length, faulty.length)} |`);
const codes = new Map<string, { n: number; detail: string }>();
for (const r of errors) {
  const c = codes.get(r.code) ?? { n: 0, detail: (r.detail ?? '').replace(/[|\n\r]/g, ' ').slice(0, 80) };
  c.n++;
  codes.set(r.code, c);
}
out(`| sync error kinds | ${[...codes].map(([c, { n, detail }]) => `${c}: ${n}${detail ? ` ("${detail}")` : ''}`).join('; ') || 'none'} |`);
out(`| async accepted (202) | ${accepted.size} |`);
out(`| async not accepted | ${asyncRejected} (${[...asyncRejectCodes].map(([c, n]) => `${c}: ${n}`).join(', ') || 'none'}) |`);
out(`| async completed (callback received) | ${completed.length} |`);
out(`| **async lost** (accepted, no callback after the drain) | **${lost.length}** |`);
out(`| async duplicates (extra callbacks, at-least-once) | ${duplicates} |`);
out(`| async callbacks with a non-200 function status | ${[...receiver.nonOk].map(([c, n]) => `${c}: ${n}`).join(', ') || 'none'} |`);
out(`| async callbacks whose body lacks the call's id | ${receiver.bodyMismatch} |`);
out(`| async POSTs cut by a kill (fate unknown) | ${indeterminate.size}, of which called back: ${indeterminateDone} |`);
out(`| dead letters on disk at the end | ${f0(deadLetters)} |`);
out(`| backlog drain after the load stopped | ${(drainMs / 1000).toFixed(1)} s (bound ${opts.drainSec} s) |`);
out(`| faults injected | ${faults.filter((f) => f.kind === 'watchdog').length} watchdog kills, ${faults.filter((f) => f.kind === 'function').length} function-process kills, ${faults.filter((f) => f.kind === 'up').length} \`up\` kills + restarts |`);
const recov = (k: Fault['kind']) => faults.filter((f) => f.kind === k && f.recoveredMs !== undefined).map((f) => f.recoveredMs!);
for (const k of ['watchdog', 'function', 'up'] as const) {
  const xs = recov(k);
  if (faults.some((f) => f.kind === k)) out(`| recovery after a ${k} kill (median / max) | ${f0(pct(xs, 50))} / ${f0(Math.max(...xs))} ms (${xs.length} of ${faults.filter((f) => f.kind === k).length} recovered) |`);
}
if (finalMetrics) {
  out(`| last \`up\`: queue_worker retried / dead-lettered | ${metricSum(finalMetrics, 'queue_worker_retried_total')} / ${metricSum(finalMetrics, 'queue_worker_dead_lettered_total')} |`);
}
out();

out(`## Latency drift (steady-state sync calls, ms): first ${windowMin} min vs last ${windowMin} min`);
out();
out('| function | calls first | p50 first | p99 first | calls last | p50 last | p99 last | p99 drift | median per-minute p99 first / last |');
out('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
const firstEnd = windowMin * 60_000;
const lastStart = Math.max(firstEnd, lastT - windowMin * 60_000);
for (const fn of [...SYNC_FNS, 'all'] as const) {
  const sel = steady.filter((r) => r.ok && (fn === 'all' || r.fn === fn));
  const a = sel.filter((r) => r.t < firstEnd).map((r) => r.ms);
  const b = sel.filter((r) => r.t >= lastStart).map((r) => r.ms);
  const p99a = pct(a, 99);
  const p99b = pct(b, 99);
  // one noisy minute (another job on the machine) dominates a window's p99;
  // the median of the per-minute p99s is the steadier drift figure
  const perMinute = (from: number, to: number) => {
    const xs: number[] = [];
    for (let m = from; m < to; m += 60_000) {
      const ms = sel.filter((r) => r.t >= m && r.t < m + 60_000).map((r) => r.ms);
      if (ms.length > 0) xs.push(pct(ms, 99));
    }
    return pct(xs, 50);
  };
  const lastMinuteStart = Math.floor(lastStart / 60_000) * 60_000;
  out(
    `| ${fn} | ${a.length} | ${f1(pct(a, 50))} | ${f1(p99a)} | ${b.length} | ${f1(pct(b, 50))} | ${f1(p99b)} | ${f1(p99b - p99a)} | ${f1(perMinute(0, firstEnd))} / ${f1(perMinute(lastMinuteStart, lastT + 1))} |`,
  );
}
out();

out('## RSS drift (MB; replicas summed per function; first sample ≥ 60 s into the run vs the last)');
out();
out('| component | first | last | drift | max | processes first / last | per process first | per process last |');
out('|---|---:|---:|---:|---:|---:|---:|---:|');
const warm = rssSamples.find((s) => s.t >= 60_000) ?? rssSamples[0];
const last = rssSamples[rssSamples.length - 1];
const comps = [...new Set(rssSamples.flatMap((s) => [...s.byComponent.keys()]))].sort((a, b) => (a.startsWith('up') ? -1 : b.startsWith('up') ? 1 : a.localeCompare(b)));
for (const c of comps) {
  const a = warm?.byComponent.get(c);
  const b = last?.byComponent.get(c);
  const max = Math.max(...rssSamples.map((s) => s.byComponent.get(c) ?? 0));
  const na = warm?.countByComponent.get(c);
  const nb = last?.countByComponent.get(c);
  out(
    `| ${c} | ${mb(a)} | ${mb(b)} | ${a !== undefined && b !== undefined ? ((b - a) / 1024).toFixed(1) : '–'} | ${mb(max)} | ${na ?? 0} / ${nb ?? 0} | ${a !== undefined && na ? mb(a / na) : '–'} | ${b !== undefined && nb ? mb(b / nb) : '–'} |`,
  );
}
out();
out('Every `up` restart and every replica kill starts fresh processes, so the per-incarnation figures below are the leak check for the `up` process:');
out();
out('| `up` # | started at | banner (gateway listening) after | all three functions answering after | RSS at +60 s | RSS last | growth | end |');
out('|---:|---:|---:|---:|---:|---:|---:|---|');
for (const i of incarnations) {
  out(
    `| ${i.n} | ${(i.startedAt / 1000).toFixed(0)} s | ${i.bannerMs} ms | ${i.readyMs} ms | ${mb(i.rssAfter60s)} | ${mb(i.rssLast)} | ${i.rssAfter60s !== undefined && i.rssLast !== undefined ? ((i.rssLast - i.rssAfter60s) / 1024).toFixed(1) : '–'} | ${i.end} |`,
  );
}
out();

out('## Per minute');
out();
out('| min | sync calls | errors steady | errors in fault windows | p50 ms | p99 ms | async accepted | callbacks received | RSS up MB | RSS replicas MB | replicas | load 1m | faults |');
out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (let m = 0; m < minutes; m++) {
  const lo = m * 60_000;
  const hi = lo + 60_000;
  const rs = syncRecords.filter((r) => r.t >= lo && r.t < hi);
  const st = rs.filter((r) => !inFault(r));
  const ft = rs.filter((r) => inFault(r));
  const lat = rs.filter((r) => r.ok).map((r) => r.ms);
  const acc = [...accepted.values()].filter((a) => a.t >= lo && a.t < hi).length;
  const cb = [...receiver.firstAt.values()].filter((t) => t >= lo && t < hi).length;
  const samples = rssSamples.filter((s) => s.t >= lo && s.t < hi);
  const s = samples[samples.length - 1];
  let upKb: number | undefined;
  let repKb = 0;
  if (s) for (const [k, v] of s.byComponent) k.startsWith('up') ? (upKb = v) : (repKb += v);
  const fl = faults.filter((f) => f.t >= lo && f.t < hi).map((f) => (f.kind === 'up' ? 'up restart' : `${f.fn} ${f.kind}`));
  out(
    `| ${m + 1} | ${rs.length} | ${st.filter((r) => !r.ok).length} | ${ft.filter((r) => !r.ok).length} / ${ft.length} | ${f1(pct(lat, 50))} | ${f1(pct(lat, 99))} | ${acc} | ${cb} | ${mb(upKb)} | ${s ? mb(repKb) : '–'} | ${s?.replicas ?? '–'} | ${s ? s.load1.toFixed(2) : '–'} | ${fl.join(', ')} |`,
  );
}
out();
out('## Faults');
out();
out('| at | killed | function | pid | replaced and answering after | async backlog at the kill |');
out('|---:|---|---|---:|---:|---:|');
for (const f of faults) {
  out(
    `| ${(f.t / 1000).toFixed(0)} s | ${f.kind === 'up' ? '`up` process group' : f.kind} | ${f.fn} | ${f.pid} | ${f.recoveredMs === undefined ? 'not within 60 s' : `${f.recoveredMs} ms`} | ${f.backlog ?? ''} |`,
  );
}
const steadyErrors = steady.filter((r) => !r.ok);
if (steadyErrors.length > 0) {
  out();
  out(`Steady-state sync errors (first 20 of ${steadyErrors.length}):`);
  out();
  out('| at | function | code | latency ms | detail |');
  out('|---:|---|---|---:|---|');
  for (const r of steadyErrors.slice(0, 20)) out(`| ${(r.t / 1000).toFixed(1)} s | ${r.fn} | ${r.code} | ${f0(r.ms)} | ${(r.detail ?? '').replace(/[|\n]/g, ' ')} |`);
}
if (lost.length > 0) {
  out();
  out(`Lost call ids (first 20): ${lost.slice(0, 20).map((id) => `${id} (${accepted.get(id)!.fn}, accepted at ${(accepted.get(id)!.t / 1000).toFixed(1)} s)`).join(', ')}`);
}
out();

const report = lines.join('\n');
process.stdout.write(report);
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, report);
console.error(`report written to ${opts.out}${opts.keep || lost.length > 0 || error ? `; logs and data kept in ${work}` : ''}`);
if (!opts.keep && lost.length === 0 && !error) rmSync(work, { recursive: true, force: true });
if (lost.length > 0) exitCode = 1;
process.exit(exitCode);
