/**
 * Gateway overhead benchmark (not a test): the same hello function (the
 * node20 template's inproc mode on a real fwatchdog replica) called directly
 * on its watchdog and through the gateway, with autocannon at c = 1, 10, 50.
 *
 *   npm run build:watchdog && npx tsx bench/gateway.ts [seconds-per-run]
 *
 * The gateway (+ provider-local, as `faas-ts up` runs it) lives in a child
 * process bundled by esbuild and run by plain node, so its RSS is measured
 * without the TypeScript loader. autocannon runs in this process. Output: a
 * markdown table of req/s, p50, p99 (autocannon, whole ms), an exact
 * sequential p50/p99 in µs (to resolve sub-millisecond added latency), and
 * the gateway's idle RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const runSeconds = Number(process.argv[2] ?? 5);
const CONCURRENCY = [1, 10, 50];
const SEQUENTIAL_REQUESTS = 3000;

/** The child: provider-local with one hello replica, and the gateway in front of it. */
const SERVER_ENTRY = `
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig, startGateway } from './gateway/index.js';
import { createLocalProvider } from './provider-local/index.js';

const [root, watchdog] = process.argv.slice(2);
const dataDir = await mkdtemp(join(tmpdir(), 'bench-gw-'));
const provider = await createLocalProvider({ dataDir, watchdogCommand: [process.execPath, watchdog] });
const src = join(dataDir, 'src', 'hello');
await mkdir(join(src, 'function'), { recursive: true });
await cp(join(root, 'functions/hello-node/handler.js'), join(src, 'function', 'handler.js'));
await provider.bundles.add('hello-node:latest', src, { mode: 'inproc', inproc_handler: 'function/handler.js', prefix_logs: 'false' });
await provider.deploy({ service: 'hello', image: 'hello-node:latest' });
let endpoints = [];
for (let i = 0; i < 600 && endpoints.length === 0; i++) {
  endpoints = await provider.endpoints('hello');
  if (endpoints.length === 0) await new Promise((r) => setTimeout(r, 50));
}
if (endpoints.length === 0) throw new Error('hello never became ready');
const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), { provider });
console.log(JSON.stringify({ gateway: gw.url, direct: endpoints[0].baseUrl }));
const stop = async () => {
  await gw.close();
  await provider.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/**
 * The gateway alone, as deployed in front of a remote faas-provider (the REST
 * client provider; never called while idle): its idle RSS without provider-local.
 */
const GATEWAY_ONLY_ENTRY = `
import { loadGatewayConfig, startGateway } from './gateway/index.js';
import { createRestProvider } from './provider/rest.js';
const provider = createRestProvider({ baseUrl: 'http://127.0.0.1:9', defaultNamespace: 'openfaas-fn' });
const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), { provider });
console.log(JSON.stringify({ gateway: gw.url, direct: '' }));
process.on('SIGTERM', async () => {
  await gw.close();
  process.exit(0);
});
`;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Child pids of `pid` (the watchdog replica is a child of the gateway + provider process). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Cores used by each process while `fn` runs. */
async function cpuDuring<T>(pids: Record<string, number>, fn: () => Promise<T>): Promise<{ result: T; cores: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const t0 = Date.now();
  const result = await fn();
  const wall = (Date.now() - t0) / 1000;
  const cores = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (cpuSeconds(pid) - before[k]!) / wall]));
  return { result, cores };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function startServer(entry: string, name: string): Promise<{ child: ChildProcess; gateway: string; direct: string }> {
  const outDir = `${root}/dist/bench`;
  await mkdir(outDir, { recursive: true });
  const outfile = `${outDir}/${name}.mjs`;
  await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: `${name}.ts` },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  const child = spawn(process.execPath, [outfile, root, `${root}/dist/fwatchdog.cjs`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) {
      const { gateway, direct } = JSON.parse(line) as { gateway: string; direct: string };
      return { child, gateway, direct };
    }
  }
  throw new Error('benchmark server exited before it was ready');
}

async function cannon(url: string, connections: number, seconds: number): Promise<Run> {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Sequential requests on one keep-alive connection; exact percentiles in µs. */
async function sequential(url: string, n: number): Promise<{ p50: number; p99: number }> {
  const { Pool } = await import('undici');
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const res = await pool.request({ path: u.pathname, method: 'GET' });
    await res.body.text();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await pool.close();
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(n * 0.5)]!, p99: samples[Math.floor(n * 0.99)]! };
}

function stopChild(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
}

const alone = await startServer(GATEWAY_ONLY_ENTRY, 'gateway-only');
await new Promise((r) => setTimeout(r, 1000));
const gatewayOnlyRss = rssMb(alone.child.pid!);
stopChild(alone.child);

const { child, gateway, direct } = await startServer(SERVER_ENTRY, 'gateway-server');
const stop = () => stopChild(child);
process.on('exit', stop);
try {
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(child.pid!);
  const gwUrl = `${gateway}/function/hello`;
  const directUrl = `${direct}/`;

  // Warm both paths (JIT, connection pools) before measuring.
  await cannon(directUrl, 10, 1);
  await cannon(gwUrl, 10, 1);

  const watchdogPid = childPids(child.pid!)[0]!;
  const pids = { loadgen: process.pid, gateway: child.pid!, watchdog: watchdogPid };
  const rows: string[] = [];
  const cpuRows: string[] = [];
  const fmt = (c: Record<string, number>) => `load generator ${c.loadgen!.toFixed(2)}, gateway ${c.gateway!.toFixed(2)}, watchdog ${c.watchdog!.toFixed(2)}`;
  for (const c of CONCURRENCY) {
    const { result: d, cores: dc } = await cpuDuring(pids, () => cannon(directUrl, c, runSeconds));
    const { result: g, cores: gc } = await cpuDuring(pids, () => cannon(gwUrl, c, runSeconds));
    cpuRows.push(`c=${c}: direct run: ${fmt(dc)}; gateway run: ${fmt(gc)}`);
    rows.push(
      `| ${c} | ${d.rps.toFixed(0)} | ${g.rps.toFixed(0)} | ${(g.rps / d.rps).toFixed(2)}× | ${d.p50} / ${d.p99} | ${g.p50} / ${g.p99} | ${d.errors + g.errors} |`,
    );
  }
  const sd = await sequential(directUrl, SEQUENTIAL_REQUESTS);
  const sg = await sequential(gwUrl, SEQUENTIAL_REQUESTS);
  await new Promise((r) => setTimeout(r, 2000));
  const afterRss = rssMb(child.pid!);

  console.log(`\nGateway vs direct-to-watchdog, hello-node (inproc), ${runSeconds} s per run, ${process.arch}\n`);
  console.log('| c | direct req/s | gateway req/s | ratio | direct p50 / p99 (ms) | gateway p50 / p99 (ms) | errors |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(
    `\nSequential (c=1, ${SEQUENTIAL_REQUESTS} requests): direct p50 ${sd.p50.toFixed(0)} µs / p99 ${sd.p99.toFixed(0)} µs; ` +
      `gateway p50 ${sg.p50.toFixed(0)} µs / p99 ${sg.p99.toFixed(0)} µs; added p50 ${((sg.p50 - sd.p50) / 1000).toFixed(3)} ms`,
  );
  console.log(`\nCPU cores used per process (machine has ${(await import('node:os')).cpus().length}):`);
  for (const row of cpuRows) console.log(`- ${row}`);
  console.log(
    `Idle RSS (plain node): gateway alone (REST provider client) ${gatewayOnlyRss.toFixed(1)} MB; ` +
      `gateway + provider-local ${idleRss.toFixed(1)} MB after start, ${afterRss.toFixed(1)} MB after the runs`,
  );
} finally {
  stop();
}
