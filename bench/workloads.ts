/**
 * Workloads suite (issue #11, suite 2): the research's functions through the
 * gateway of a running platform (bench/lib/platform.ts), one replica each.
 *
 * 1. JMeter protocol of the serverless-edge ML paper: hello-node,
 *    echo-python, sieve (n = 1,000), har-cnn and iot-predict at 1, 5, 10, 15
 *    and 20 closed-loop clients.
 * 2. tinyFaaS protocol: the sieve at 1, 2, 4 … 1024 closed-loop clients; an
 *    answer slower than 1 s counts as a failure, as in that evaluation.
 * 3. Open loop: hello-node at fixed rates, latency measured from each
 *    request's intended start (no coordinated omission).
 *
 *   node --import tsx bench/workloads.ts [--quick] [--provider local|swarm] [--charts DIR]
 */
import { fileURLToPath } from 'node:url';
import { loadPlatform, suiteContext, table, type BenchPlatform } from './lib/report.js';
import { fmtSpread, spread } from './lib/stats.js';
import { detailTable, metricTable, p, runSweep, runsText, success, sweepCharts, throughput, type SweepTarget } from './lib/sweep.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ctx = suiteContext(process.argv.slice(2), process.env, root);
const JMETER_LEVELS = [1, 5, 10, 15, 20];
const TINYFAAS_LEVELS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const full = {
  runs: 3,
  warmupMs: 500,
  durationMs: 2000,
  openRates: [100, 500, 1000, 2000, 4000, 8000],
};
const quick = {
  runs: 1,
  warmupMs: 200,
  durationMs: 600,
  openRates: [100, 1000, 4000],
};
const settings = ctx.quick ? quick : full;
const FUNCTIONS = ['hello-node', 'echo-python', 'sieve', 'har-cnn', 'iot-predict'];

let platform: BenchPlatform | undefined;
const cleanup = async (): Promise<void> => {
  await platform?.close().catch(() => undefined);
  platform = undefined;
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

try {
  const t0 = Date.now();
  ctx.log(`workloads: starting the platform (${ctx.provider}) and deploying ${FUNCTIONS.join(', ')}`);
  const { startPlatform } = await loadPlatform(process.env);
  platform = await startPlatform({ provider: ctx.provider, root, log: ctx.log });
  await platform.deploy(FUNCTIONS, { replicas: 1 });
  const fn = (name: string, query = ''): string => `${platform!.gatewayUrl}/function/${name}${query}`;
  const runs = runsText(settings.runs);
  const phase = `${settings.warmupMs} ms warm-up then ${settings.durationMs} ms measured per run`;
  const closedPhase = `${phase} (at least one measured request per client)`;
  const out: string[] = [];

  // 1. JMeter protocol.
  const jmeter: SweepTarget[] = [
    { name: 'hello-node', request: { url: fn('hello-node'), method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'bench' } },
    { name: 'echo-python', request: { url: fn('echo-python'), method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'bench' } },
    { name: 'sieve n=1000', request: { url: fn('sieve', '?n=1000') } },
    { name: 'har-cnn', request: { url: fn('har-cnn', '?seed=7') } },
    {
      name: 'iot-predict',
      request: { url: fn('iot-predict'), method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: [82.5, 4.1, 5.2, 40, 1650] }) },
    },
  ];
  ctx.log('workloads: JMeter protocol (1/5/10/15/20 clients)');
  const js = await runSweep({ kind: 'closed', targets: jmeter, levels: JMETER_LEVELS, ...settings, timeoutMs: 60_000, log: ctx.log });
  out.push(
    '### Research functions at 1–20 clients (JMeter protocol)',
    '',
    `Closed loop through the gateway, one replica per function, ${closedPhase}; cells: ${runs}.`,
    '',
    `**Mean response time, ms** (the figure the papers report; ${runs})`,
    '',
    metricTable(js, (r) => r.latency.mean),
    '',
    `**p50 latency, ms** (${runs})`,
    '',
    metricTable(js, p(0.5)),
    '',
    `**p99 latency, ms** (${runs})`,
    '',
    metricTable(js, p(0.99)),
    '',
    `**Throughput, successful req/s** (${runs})`,
    '',
    metricTable(js, throughput),
    '',
    `**Success rate, %** (${runs})`,
    '',
    metricTable(js, success, 1),
    '',
  );
  // Python vs Node (the ML paper's ratio) on the hello functions.
  const ratioRows = JMETER_LEVELS.map((c) => {
    const r = spread(
      js.runsOf('echo-python', c).map((py, i) => {
        const node = js.runsOf('hello-node', c)[i];
        return node ? py.latency.mean / node.latency.mean : Number.NaN;
      }),
    );
    return [String(c), fmtSpread(js.metric('hello-node', c, (x) => x.latency.mean)), fmtSpread(js.metric('echo-python', c, (x) => x.latency.mean)), fmtSpread(r)];
  });
  out.push(
    `**Python vs Node hello functions** (mean response time and the per-run ratio; ${runs})`,
    '',
    table(['clients', 'hello-node ms', 'echo-python ms', 'Python / Node'], ratioRows, [0, 1, 2, 3]),
    '',
    ...sweepCharts(ctx, js, 'workloads-jmeter', 'Research functions').map((l) => `${l}\n`),
    '<details><summary>All percentiles per function and client count</summary>',
    '',
    detailTable(js),
    '',
    '</details>',
    '',
  );

  // 2. tinyFaaS protocol.
  ctx.log('workloads: sieve at 1..1024 clients (tinyFaaS protocol)');
  const ts = await runSweep({
    kind: 'closed',
    targets: [{ name: 'sieve n=1000', request: { url: fn('sieve', '?n=1000') } }],
    levels: TINYFAAS_LEVELS,
    ...settings,
    timeoutMs: 10_000,
    slowMs: 1000,
    log: ctx.log,
  });
  const s = 'sieve n=1000';
  const tinyRows = TINYFAAS_LEVELS.map((c) => [
    String(c),
    fmtSpread(ts.metric(s, c, throughput)),
    fmtSpread(ts.metric(s, c, (r) => r.latency.mean)),
    fmtSpread(ts.metric(s, c, p(0.5))),
    fmtSpread(ts.metric(s, c, p(0.99))),
    fmtSpread(ts.metric(s, c, success), 1),
    String(ts.runsOf(s, c).reduce((a, r) => a + r.sent, 0)),
  ]);
  out.push(
    '### Sieve of Eratosthenes (n = 1,000) at 1–1024 clients (tinyFaaS protocol)',
    '',
    `Closed loop through the gateway, one replica; a request fails when it errors, is not 2xx or takes over 1 s. ${closedPhase}; cells: ${runs}.`,
    '',
    table(['clients', 'successful req/s', 'mean ms', 'p50 ms', 'p99 ms', 'success %', 'requests (all runs)'], tinyRows, [0, 1, 2, 3, 4, 5, 6]),
    '',
    ...sweepCharts(ctx, ts, 'workloads-sieve', 'Sieve n=1000').map((l) => `${l}\n`),
  );

  // 3. Open loop.
  ctx.log('workloads: hello-node open loop at fixed rates');
  const os = await runSweep({
    kind: 'open',
    targets: [{ name: 'hello-node', request: { url: fn('hello-node'), method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'bench' } }],
    levels: settings.openRates,
    ...settings,
    connections: 64,
    timeoutMs: 5000,
    log: ctx.log,
  });
  const openRows = settings.openRates.map((rate) => [
    String(rate),
    fmtSpread(os.metric('hello-node', rate, throughput)),
    fmtSpread(os.metric('hello-node', rate, p(0.5))),
    fmtSpread(os.metric('hello-node', rate, p(0.9))),
    fmtSpread(os.metric('hello-node', rate, p(0.99))),
    fmtSpread(os.metric('hello-node', rate, p(0.999))),
    fmtSpread(os.metric('hello-node', rate, (r) => r.latency.max)),
    fmtSpread(os.metric('hello-node', rate, (r) => r.sendLag.quantile(0.5))),
    fmtSpread(os.metric('hello-node', rate, (r) => r.sendLag.quantile(0.99))),
    fmtSpread(os.metric('hello-node', rate, success), 1),
  ]);
  out.push(
    '### hello-node at fixed request rates (open loop)',
    '',
    `Requests leave on a fixed schedule over up to 64 connections; latency runs from each request's intended send time, ` +
      `so queueing behind a slow answer is counted. "send lag" is how late the load generator itself sent (part of the latency: ` +
      `Node timers wake about a millisecond late, so open-loop latencies sit about 1 ms above closed-loop ones at low load). ${phase}; cells: ${runs}.`,
    '',
    table(['offered req/s', 'achieved req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'send lag p50 ms', 'send lag p99 ms', 'success %'], openRows, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    '',
    ...sweepCharts(ctx, os, 'workloads-open', 'hello-node open loop').map((l) => `${l}\n`),
    `(workloads suite took ${Math.round((Date.now() - t0) / 1000)} s)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await cleanup();
}
