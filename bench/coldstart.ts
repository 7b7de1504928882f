/**
 * Cold start benchmark (not a test): forced scale-from-zero calls through the gateway,
 * with the raw orchestrator beside them, on either provider.
 *
 *   npx tsx bench/coldstart.ts [--provider local|swarm] [--runs N] [--quick] [--functions a,b]
 *   (default: local (or env BENCH_PROVIDER), 30 runs (--quick or BENCH_QUICK=1: 5),
 *   hello-node and echo-python from stack.yml)
 *
 * Per function, interleaved run by run, after one unmeasured warm-up of each path:
 * - gateway: platform.scale(fn, 0) waits until no replica is left (local: no watchdog
 *   process; swarm: no container), then one POST /function/<fn> is timed until its 200
 *   (the gateway's scale-from-zero: provider scale, wait for a ready replica, proxy).
 * - raw orchestrator, the same function with no gateway or provider in the way:
 *   local: the watchdog started directly (`node dist/fwatchdog.cjs` with the argv, env
 *     and cwd a provider-local replica of that function had, read from /proc, on a new
 *     port), timed from spawn until POST / on its port answers 200;
 *   swarm: `docker service scale --detach <fn>=1` on the function's own service (at
 *     zero), timed until the task's published port answers POST / with 200. This path
 *     does not wait for the image's HEALTHCHECK, which swarm needs before it reports a
 *     task `running` (what the provider waits for): the template images check every 3 s
 *     with a 5 s start period, so that interval is a floor of the swarm gateway figure.
 * Prints a markdown table (p50/p95/p99/max/min in ms) to stdout; progress on stderr.
 */
import { execFile, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { processEnv, startPlatform, type BenchPlatform, type ProviderKind } from './lib/platform.js';

const execFileP = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

export interface ColdStartArgs {
  provider: ProviderKind;
  runs: number;
  functions: string[];
}

export function parseColdStartArgs(argv: string[], env: Readonly<Record<string, string | undefined>> = {}): ColdStartArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      provider: { type: 'string', default: env.BENCH_PROVIDER ?? 'local' },
      runs: { type: 'string' },
      functions: { type: 'string', default: 'hello-node,echo-python' },
      // the harness's common flags (bench/lib/report.ts): --quick = 5 runs; charts are not drawn here
      quick: { type: 'boolean' },
      charts: { type: 'string' },
    },
    strict: true,
  });
  const provider = values.provider;
  values.runs ??= values.quick || env.BENCH_QUICK === '1' ? '5' : '30';
  if (provider !== 'local' && provider !== 'swarm') throw new Error(`--provider: local or swarm, got ${provider}`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error(`--runs: 1..1000, got ${values.runs}`);
  return { provider, runs, functions: values.functions.split(',').map((s) => s.trim()).filter(Boolean) };
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function post(url: string, timeoutMs: number): Promise<number> {
  const res = await request(url, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  await res.body.text();
  return res.statusCode;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** How a provider-local replica of `fn` was started, so the baseline starts the same watchdog. */
interface WatchdogLaunch {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

async function captureLaunch(platform: BenchPlatform, fn: string): Promise<WatchdogLaunch> {
  const wd = (await platform.processes()).find((p) => p.component.startsWith(`watchdog:${fn}/`));
  if (!wd) throw new Error(`no running watchdog of ${fn} to copy`);
  const { readFileSync } = await import('node:fs');
  const argv = readFileSync(`/proc/${wd.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return { argv, cwd: await readlink(`/proc/${wd.pid}/cwd`), env: processEnv(wd.pid) };
}

/** Spawn → first 200 on POST / of a watchdog started directly (what provider-local launches). */
async function rawLocal(launch: WatchdogLaunch): Promise<number> {
  const tmp = await mkdtemp(join(tmpdir(), 'coldstart-wd-'));
  const httpPort = String(await freePort());
  const oldHttpPort = launch.env.http_port;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(launch.env)) env[k] = oldHttpPort ? v.split(`:${oldHttpPort}`).join(`:${httpPort}`) : v;
  Object.assign(env, { port: '0', metrics_port: '0', http_port: httpPort, TMPDIR: tmp, lock_path: join(tmp, '.lock') });
  const started = performance.now();
  const child = spawn(launch.argv[0]!, launch.argv.slice(1), { cwd: launch.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`watchdog printed no port within 30 s:\n${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Listening on port: (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`watchdog exited with ${code}:\n${out}`)));
    });
    await until(async () => (await post(`http://127.0.0.1:${port}/`, 5_000)) === 200, 30_000, 'direct watchdog answering 200');
    return performance.now() - started;
  } finally {
    const gone = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    if (child.exitCode === null && child.signalCode === null) await gone;
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * One POST with node:http, a fresh connection and a 1 s limit: before the task listens, a
 * published port may accept and then stall a connection, which must not eat a long timeout.
 */
function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'POST', agent: false, timeout: 1_000, headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end('x');
  });
}

interface TaskView {
  Status?: { State?: string; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
}

/** `docker service scale --detach fn=1` → first 200 on the task's published port (ports read from the Engine API). */
async function rawSwarm(fn: string): Promise<number> {
  const Docker = (await import('dockerode')).default;
  const engine = new Docker({ socketPath: '/var/run/docker.sock' });
  const started = performance.now();
  await execFileP('docker', ['service', 'scale', '--detach', `${fn}=1`], { timeout: 60_000 });
  let port = 0;
  await until(
    async () => {
      const tasks = (await engine.listTasks({ filters: { service: [fn], 'desired-state': ['running'] } })) as TaskView[];
      port = tasks.map((t) => t.Status?.PortStatus?.Ports?.[0]?.PublishedPort ?? 0).find((p) => p > 0) ?? 0;
      return port > 0;
    },
    120_000,
    `${fn} task port`,
    20,
  );
  await until(async () => (await probe(`http://127.0.0.1:${port}/`)) === 200, 120_000, `${fn} task answering 200`, 20);
  return performance.now() - started;
}

async function gatewayCold(platform: BenchPlatform, fn: string): Promise<number> {
  const started = performance.now();
  const status = await post(`${platform.gatewayUrl}/function/${fn}`, 180_000);
  if (status !== 200) throw new Error(`cold call of ${fn} answered ${status}`);
  return performance.now() - started;
}

export interface ColdStartResult {
  fn: string;
  gateway: number[];
  raw: number[];
}

export async function measureColdStarts(platform: BenchPlatform, fn: string, runs: number, log: (l: string) => void): Promise<ColdStartResult> {
  await platform.deploy([fn], { replicas: 1 });
  const launch = platform.provider === 'local' ? await captureLaunch(platform, fn) : undefined;
  const gateway: number[] = [];
  const raw: number[] = [];
  for (let i = -1; i < runs; i++) {
    await platform.scale(fn, 0);
    const g = await gatewayCold(platform, fn);
    let r: number;
    if (launch) {
      r = await rawLocal(launch);
    } else {
      await platform.scale(fn, 0);
      r = await rawSwarm(fn);
    }
    if (i >= 0) {
      gateway.push(g);
      raw.push(r);
    }
    log(`${fn} ${i < 0 ? 'warm-up' : `run ${i + 1}/${runs}`}: gateway ${g.toFixed(0)} ms, raw ${r.toFixed(0)} ms`);
  }
  return { fn, gateway, raw };
}

export function coldStartTable(provider: ProviderKind, results: ColdStartResult[]): string {
  const rawName = provider === 'local' ? 'fwatchdog started directly → 200' : '`docker service scale fn=1` → task port 200';
  const row = (fn: string, path: string, xs: number[]) =>
    `| ${fn} | ${path} | ${xs.length} | ${[50, 95, 99].map((p) => percentile(xs, p).toFixed(0)).join(' | ')} | ${Math.max(...xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} |`;
  const lines = [
    `| function | path (${provider}) | runs | p50 ms | p95 ms | p99 ms | max ms | min ms |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(row(r.fn, 'gateway, scale from zero → 200', r.gateway));
    lines.push(row(r.fn, `raw: ${rawName}`, r.raw));
    lines.push(`| ${r.fn} | gateway − raw (p50) | | ${(percentile(r.gateway, 50) - percentile(r.raw, 50)).toFixed(0)} | | | | |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseColdStartArgs(process.argv.slice(2), process.env);
  const t0 = Date.now();
  const log = (l: string) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)}s ${l}\n`);
  const platform = await startPlatform({ provider: args.provider, root, log: (l) => (process.env.BENCH_VERBOSE ? log(l) : undefined) });
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void platform.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const results: ColdStartResult[] = [];
    for (const fn of args.functions) results.push(await measureColdStarts(platform, fn, args.runs, log));
    console.log(`### Cold start (${args.provider}), ${args.runs} forced scale-from-zero calls per function, interleaved with the raw path, one warm-up excluded\n`);
    console.log(coldStartTable(args.provider, results));
    console.log(`\n(total ${((Date.now() - t0) / 1000).toFixed(0)} s, Node ${process.version})`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) await platform.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
