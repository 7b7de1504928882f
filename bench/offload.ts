/**
 * Offload benchmark (issue #14, not a test). Four layers, each its own
 * process (gateway + provider-local + real fwatchdog replicas, bundled by
 * esbuild and run by plain node), as separate boxes would be:
 *
 *   edge ──parent──▶ fog ──parent──▶ cloud        lonely (no parent, no offload)
 *
 * - Latency added by offload hops: `hello` (hello-node, inproc) deployed only
 *   at the cloud, called sequentially at the cloud (0 hops), through the fog
 *   (1 hop) and through the edge (2 hops); exact p50/p99 in µs.
 * - Cost of the offload policy on a local call: `local` (hello-node) at the
 *   edge (offload configured) and at `lonely` (offload off).
 * - Saturated child: `slow` (sleeps 50 ms) with max_inflight=2 at the edge
 *   and at `lonely`, and without a limit at the fog; autocannon at c=20 on
 *   the edge (overflow goes up) and on `lonely` (overflow answered 429).
 *
 *   npm run build:watchdog && npx tsx bench/offload.ts [seconds-per-run] [sequential-requests]
 *
 * Output: markdown tables on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const runSeconds = Math.max(1, Math.min(60, Number(process.argv[2] ?? 5)));
const sequentialRequests = Math.max(100, Math.min(10_000, Number(process.argv[3] ?? 1000)));
const SATURATION_CONNECTIONS = 20;
const SLOW_MS = 50;

/** One layer: argv = root, watchdog, name, parentUrl ('' = none), functions JSON. */
const LAYER_ENTRY = `
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig, startGateway } from './gateway/index.js';
import { createLocalProvider } from './provider-local/index.js';

const [root, watchdog, name, parentUrl, functionsJson] = process.argv.slice(2);
const functions = JSON.parse(functionsJson);
const dataDir = await mkdtemp(join(tmpdir(), 'bench-offload-' + name + '-'));
const provider = await createLocalProvider({ dataDir, watchdogCommand: [process.execPath, watchdog] });
const inproc = { mode: 'inproc', inproc_handler: 'function/handler.js', prefix_logs: 'false' };
const hello = join(dataDir, 'src', 'hello');
await mkdir(join(hello, 'function'), { recursive: true });
await cp(join(root, 'functions/hello-node/handler.js'), join(hello, 'function', 'handler.js'));
await provider.bundles.add('hello-node:latest', hello, inproc);
const slow = join(dataDir, 'src', 'slow');
await mkdir(join(slow, 'function'), { recursive: true });
await writeFile(join(slow, 'function', 'handler.js'),
  "module.exports = async (event, context) => { await new Promise((r) => setTimeout(r, ${SLOW_MS})); return context.status(200).succeed('ok'); };");
await provider.bundles.add('slow:latest', slow, inproc);
for (const fn of functions) {
  await provider.deploy({ service: fn.name, image: fn.image, ...(fn.envVars ? { envVars: fn.envVars } : {}) });
  for (let i = 0; i < 600; i++) {
    if ((await provider.endpoints(fn.name)).length > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const env = { port: '0', metrics_port: '0' };
if (parentUrl) Object.assign(env, { offload_layer: name, offload_parent_url: parentUrl, offload_cpu_threshold: '1', offload_memory_threshold: '1' });
const gw = await startGateway(loadGatewayConfig(env), { provider });
console.log(JSON.stringify({ url: gw.url }));
const stop = async () => {
  await gw.close();
  await provider.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

interface Fn {
  name: string;
  image: string;
  envVars?: Record<string, string>;
}

const children: ChildProcess[] = [];

function stopAll(): void {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function bundle(): Promise<string> {
  const outDir = `${root}/dist/bench`;
  await mkdir(outDir, { recursive: true });
  const outfile = `${outDir}/offload-layer.mjs`;
  await build({
    stdin: { contents: LAYER_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'offload-layer.ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

async function startLayer(entry: string, name: string, parentUrl: string, functions: Fn[]): Promise<string> {
  const child = spawn(process.execPath, [entry, root, `${root}/dist/fwatchdog.cjs`, name, parentUrl, JSON.stringify(functions)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('{')) return (JSON.parse(line) as { url: string }).url;
  }
  throw new Error(`layer ${name} exited before it was ready`);
}

/** Sequential GETs on one keep-alive connection; exact percentiles in µs. */
async function sequential(url: string, n: number): Promise<{ p50: number; p99: number; errors: number }> {
  const { Pool } = await import('undici');
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const samples: number[] = [];
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const res = await pool.request({ path: u.pathname, method: 'GET' });
    await res.body.text();
    if (res.statusCode !== 200) errors++;
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await pool.close();
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(n * 0.5)]!, p99: samples[Math.floor(n * 0.99)]!, errors };
}

async function cannon(url: string, connections: number, seconds: number) {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration: seconds });
  const ok = r['2xx'];
  return { okRps: ok / seconds, non2xx: r.non2xx, errors: r.errors, p50: r.latency.p50, p99: r.latency.p99 };
}

process.on('exit', stopAll);
try {
  const entry = await bundle();
  const hello: Fn = { name: 'hello', image: 'hello-node:latest' };
  const local: Fn = { name: 'local', image: 'hello-node:latest' };
  const slow: Fn = { name: 'slow', image: 'slow:latest' };
  const limited: Fn = { ...slow, envVars: { max_inflight: '2' } };
  const cloud = await startLayer(entry, 'cloud', '', [hello]);
  const fog = await startLayer(entry, 'fog', cloud, [slow]);
  const [edge, lonely] = await Promise.all([startLayer(entry, 'edge', fog, [local, limited]), startLayer(entry, 'lonely', '', [local, limited])]);

  // Warm-up: JIT and connection pools on every path.
  for (const url of [`${cloud}/function/hello`, `${fog}/function/hello`, `${edge}/function/hello`, `${edge}/function/local`, `${lonely}/function/local`]) {
    await sequential(url, 200);
  }

  const hops = [
    ['0 (at the cloud)', await sequential(`${cloud}/function/hello`, sequentialRequests)],
    ['1 (fog → cloud)', await sequential(`${fog}/function/hello`, sequentialRequests)],
    ['2 (edge → fog → cloud)', await sequential(`${edge}/function/hello`, sequentialRequests)],
  ] as const;
  const localOff = await sequential(`${lonely}/function/local`, sequentialRequests);
  const localOn = await sequential(`${edge}/function/local`, sequentialRequests);

  await cannon(`${edge}/function/slow`, SATURATION_CONNECTIONS, 1);
  await cannon(`${lonely}/function/slow`, SATURATION_CONNECTIONS, 1);
  const satParent = await cannon(`${edge}/function/slow`, SATURATION_CONNECTIONS, runSeconds);
  const satAlone = await cannon(`${lonely}/function/slow`, SATURATION_CONNECTIONS, runSeconds);

  const base = hops[0][1].p50;
  console.log(`\nOffload hops: hello-node (inproc) deployed only at the cloud, ${sequentialRequests} sequential GETs per row, one process per layer\n`);
  console.log('| offload hops | p50 (µs) | p99 (µs) | added p50 vs 0 hops (ms) | errors |');
  console.log('|---|---|---|---|---|');
  for (const [label, r] of hops) {
    console.log(`| ${label} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${((r.p50 - base) / 1000).toFixed(3)} | ${r.errors} |`);
  }
  console.log(`\nLocal call (no offload happens), ${sequentialRequests} sequential GETs\n`);
  console.log('| gateway | p50 (µs) | p99 (µs) | errors |');
  console.log('|---|---|---|---|');
  console.log(`| offload off (no parent) | ${localOff.p50.toFixed(0)} | ${localOff.p99.toFixed(0)} | ${localOff.errors} |`);
  console.log(`| offload on (parent configured, call stays local) | ${localOn.p50.toFixed(0)} | ${localOn.p99.toFixed(0)} | ${localOn.errors} |`);
  console.log(
    `\nSaturated child: slow (${SLOW_MS} ms) with max_inflight=2 on one replica, autocannon c=${SATURATION_CONNECTIONS}, ${runSeconds} s\n`,
  );
  console.log('| child | 2xx req/s | non-2xx (429) | errors | p50 / p99 (ms) |');
  console.log('|---|---|---|---|---|');
  console.log(`| without a parent | ${satAlone.okRps.toFixed(0)} | ${satAlone.non2xx} | ${satAlone.errors} | ${satAlone.p50} / ${satAlone.p99} |`);
  console.log(`| with a parent (overflow → fog) | ${satParent.okRps.toFixed(0)} | ${satParent.non2xx} | ${satParent.errors} | ${satParent.p50} / ${satParent.p99} |`);
  console.log(`\n(ideal for the child alone: 2 / ${SLOW_MS} ms = ${(2000 / SLOW_MS).toFixed(0)} req/s)`);
} finally {
  stopAll();
}
