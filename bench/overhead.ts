/**
 * Overhead suite (issue #11, suite 1): what each layer adds to one call.
 * The same hello-world function is measured
 *   - directly: a plain Node HTTP server (no watchdog), the baseline;
 *   - through fwatchdog in each mode: http (proxy to that same server),
 *     inproc (handler loaded into the watchdog), streaming and classic (a
 *     process forked per request);
 *   - through the gateway: the platform's hello-node replica called directly
 *     on its watchdog, and the same function via /function/hello-node.
 * Closed loop at c = 1, 5, 10, 20, 50, 100 (the research's `hey` levels).
 * Prints markdown to stdout; charts go to the chart directory.
 *
 *   node --import tsx bench/overhead.ts [--quick] [--provider local|swarm] [--charts DIR]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlatform, suiteContext, type BenchPlatform } from './lib/report.js';
import { freePort } from '../test/helpers.js';
import { startServer, startWatchdog, type Started } from './lib/procs.js';
import { fmtSpread, spread } from './lib/stats.js';
import { detailTable, metricTable, p, runSweep, runsText, success, sweepCharts, throughput, type SweepTarget } from './lib/sweep.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ctx = suiteContext(process.argv.slice(2), process.env, root);
const LEVELS = [1, 5, 10, 20, 50, 100];
const settings = ctx.quick
  ? { runs: 1, warmupMs: 200, durationMs: 500 }
  : { runs: 3, warmupMs: 300, durationMs: 1000 };

const fixtures = join(root, 'watchdog/fixtures');
const bundle = join(root, 'dist/fwatchdog.cjs');
if (!existsSync(bundle)) {
  console.error(`overhead: ${bundle} is missing; run npm run build:watchdog first`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'bench-overhead-'));
const started: Started[] = [];
let platform: BenchPlatform | undefined;
const cleanup = async (): Promise<void> => {
  for (const s of started) s.stop();
  started.length = 0;
  await platform?.close().catch(() => undefined);
  platform = undefined;
  rmSync(work, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

try {
  const t0 = Date.now();
  ctx.log('overhead: starting the function server and one fwatchdog per mode');
  const direct = await startServer('direct', join(fixtures, 'hello-server.cjs'), work);
  started.push(direct);
  // http mode starts its own copy of the server on another port.
  const httpPort = await freePort();
  const forkCmd = `${process.execPath} ${join(fixtures, 'hello-fork.cjs')}`;
  const modes: Array<[string, Record<string, string>]> = [
    ['fwatchdog http', { mode: 'http', fprocess: `${process.execPath} ${join(fixtures, 'hello-server.cjs')}`, upstream_url: `http://127.0.0.1:${httpPort}`, http_port: String(httpPort) }],
    ['fwatchdog inproc', { mode: 'inproc', inproc_handler: join(fixtures, 'hello-handler.cjs') }],
    ['fwatchdog streaming (fork)', { mode: 'streaming', fprocess: forkCmd }],
    ['fwatchdog classic (fork)', { mode: 'classic', fprocess: forkCmd }],
  ];
  for (const [name, env] of modes) started.push(await startWatchdog(name, bundle, env, work));

  ctx.log(`overhead: starting the platform (${ctx.provider}) and deploying hello-node`);
  const { startPlatform } = await loadPlatform(process.env);
  platform = await startPlatform({ provider: ctx.provider, root, log: ctx.log });
  await platform.deploy(['hello-node'], { replicas: 1 });
  let replica: string | undefined;
  try {
    replica = await platform.replicaUrl('hello-node');
  } catch (err) {
    ctx.log(`overhead: no direct replica URL (${(err as Error).message}); the replica row is left out`);
  }

  const targets: SweepTarget[] = [
    { name: 'direct (node http, no watchdog)', request: { url: direct.url } },
    ...started.slice(1).map((s) => ({ name: s.name, request: { url: s.url } })),
    ...(replica ? [{ name: 'hello-node replica (watchdog, no gateway)', request: { url: replica.replace(/\/?$/, '/') } }] : []),
    { name: `gateway → hello-node (${ctx.provider})`, request: { url: `${platform.gatewayUrl}/function/hello-node` } },
  ];
  const sweep = await runSweep({ kind: 'closed', targets, levels: LEVELS, ...settings, maxRequests: 20_000, timeoutMs: 15_000, log: ctx.log });
  const runs = runsText(settings.runs);
  const perRun = `${settings.warmupMs} ms warm-up then ${settings.durationMs} ms measured per run`;

  const out: string[] = [];
  out.push(
    `Overhead of each layer for a hello-world function, closed loop (each client waits for its answer), ${perRun}; ` +
      `every cell: ${runs}. The fork modes start a Node process per request.`,
    '',
    `**Throughput, successful req/s** (${runs})`,
    '',
    metricTable(sweep, throughput),
    '',
    `**p50 latency, ms** (${runs})`,
    '',
    metricTable(sweep, p(0.5)),
    '',
    `**Mean latency, ms** (the figure the research reports; ${runs})`,
    '',
    metricTable(sweep, (r) => r.latency.mean),
    '',
    `**p99 latency, ms** (${runs})`,
    '',
    metricTable(sweep, p(0.99)),
    '',
    `**Success rate, %** (${runs})`,
    '',
    metricTable(sweep, success, 1),
    '',
  );
  // What each layer adds at c = 1, against the baseline (difference of medians).
  const base = sweep.metric(targets[0]!.name, 1, p(0.5)).median;
  const rows = targets.slice(1).map((t) => {
    const m = sweep.metric(t.name, 1, p(0.5));
    const added = spread(sweep.runsOf(t.name, 1).map((r) => r.latency.quantile(0.5) - base));
    return `| ${t.name} | ${fmtSpread(m)} | ${fmtSpread(added)} |`;
  });
  out.push(
    `**Added latency at c = 1** (p50 minus the direct server's median p50 of ${base.toFixed(3)} ms; ${runs})`,
    '',
    '| path | p50 ms | added ms |',
    '|---|---:|---:|',
    ...rows,
    '',
    ...sweepCharts(ctx, sweep, 'overhead', 'Overhead').map((l) => `${l}\n`),
    '<details><summary>All percentiles per target and level</summary>',
    '',
    detailTable(sweep),
    '',
    '</details>',
    '',
    `(overhead suite took ${Math.round((Date.now() - t0) / 1000)} s)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await cleanup();
}
