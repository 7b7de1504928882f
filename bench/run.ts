/**
 * `npm run bench`: run benchmark suites one after another and write one
 * results file. Not part of `npm test`.
 *
 *   npm run bench -- [--provider local|swarm] [--quick] [--list] [suite ...]
 *
 * With no suite named, every suite that runs on the chosen provider (soak
 * never: it takes 30 minutes; name it). Results: bench/results/<date>-<provider>.md
 * (`-quick` added for --quick runs, so a smoke check never overwrites a full
 * run), charts in the folder of the same name beside it, the machine facts and
 * load average at the top and a summary of the suites at the end. Each suite
 * runs as its own process (stdout = its markdown, stderr = progress on the
 * terminal) and is stopped when it overruns its time limit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtDuration, fmtLoad, machineFacts, table, type ProviderKind } from './lib/report.js';

interface Plan {
  readonly args: readonly string[];
  /** Expected duration on the reference 2-core machine (ms). */
  readonly expectMs: number;
}

interface SuiteDef {
  readonly name: string;
  readonly what: string;
  /** Providers the suite measures (others run it on its own local components). */
  readonly providers: readonly ProviderKind[];
  /** Left out of the default list (soak). */
  readonly onDemand?: boolean;
  /** What it needs besides Node (for the "skipped" reason). */
  readonly needs?: string;
  plan(quick: boolean, provider: ProviderKind): Plan;
}

const s = 1000;
const min = 60 * s;
const SUITES: readonly SuiteDef[] = [
  {
    name: 'watchdog',
    what: 'fwatchdog modes under autocannon (c = 1, 10, 50) and sequential latency',
    providers: ['local'],
    plan: (q) => (q ? { args: ['1'], expectMs: 25 * s } : { args: ['5'], expectMs: 85 * s }),
  },
  {
    name: 'gateway',
    what: 'gateway vs direct replica, autocannon c = 1, 10, 50, idle RSS',
    providers: ['local'],
    plan: (q) => (q ? { args: ['1'], expectMs: 20 * s } : { args: ['5'], expectMs: 50 * s }),
  },
  {
    name: 'async',
    what: 'async enqueue and completion rate, NATS JetStream vs the file queue',
    providers: ['local'],
    needs: 'nats-server',
    plan: (q) => (q ? { args: ['2000'], expectMs: 40 * s } : { args: ['20000'], expectMs: 2 * min + 15 * s }),
  },
  {
    name: 'autoscale',
    what: 'autoscaling reaction time (rule engine, Prometheus) and cold starts',
    providers: ['local'],
    needs: 'prometheus + alertmanager',
    plan: (q) => (q ? { args: ['1', '5'], expectMs: 30 * s } : { args: ['2', '30'], expectMs: 50 * s }),
  },
  {
    name: 'connectors',
    what: 'MQTT connector rate, CoAP vs HTTP at 1..64 clients',
    providers: ['local'],
    needs: 'mosquitto',
    plan: (q) => (q ? { args: ['200', '100'], expectMs: 20 * s } : { args: ['2000', '1000'], expectMs: 55 * s }),
  },
  {
    name: 'swarm',
    what: 'provider-swarm cold start vs raw docker service scale, warm req/s',
    providers: ['local', 'swarm'],
    needs: 'dockerd',
    plan: (q) => (q ? { args: ['3'], expectMs: 90 * s } : { args: ['10'], expectMs: 3 * min + 10 * s }),
  },
  {
    name: 'overhead',
    what: 'direct vs fwatchdog (http, inproc, streaming, classic) vs gateway, c = 1..100',
    providers: ['local', 'swarm'],
    plan: (q) => ({ args: [], expectMs: q ? 55 * s : 3 * min + 45 * s }),
  },
  {
    name: 'workloads',
    what: 'research functions at 1–20 clients, sieve at 1–1024 clients, open-loop hello-node',
    providers: ['local', 'swarm'],
    plan: (q) => ({ args: [], expectMs: q ? 50 * s : 5 * min + 45 * s }),
  },
  {
    name: 'coldstart',
    what: 'forced scale-from-zero through the gateway vs the raw orchestrator',
    providers: ['local', 'swarm'],
    // swarm: each forced cold start waits for a container and its HEALTHCHECK (~4 s), and scaling back to zero takes longer still.
    plan: (q, p) => ({
      args: ['--provider', p, '--runs', q ? '5' : '30'],
      expectMs: p === 'swarm' ? (q ? 3 * min : 18 * min) : q ? 40 * s : 2 * min + 30 * s,
    }),
  },
  {
    name: 'rss',
    what: 'idle and loaded RSS of every platform component',
    providers: ['local', 'swarm'],
    plan: (q, p) => (q ? { args: ['--provider', p, '--requests', '500', '--seconds', '5'], expectMs: 30 * s } : { args: ['--provider', p], expectMs: 40 * s }),
  },
  {
    name: 'offload',
    what: 'edge-to-cloud offload (issue #14)',
    providers: ['local'],
    plan: (q) => (q ? { args: ['1', '200'], expectMs: 25 * s } : { args: ['5', '1000'], expectMs: 50 * s }),
  },
  {
    name: 'soak',
    what: '30-minute mixed sync/async soak with kills (only when named)',
    providers: ['local'],
    onDemand: true,
    plan: (q) => (q ? { args: ['--minutes', '2'], expectMs: 3 * min } : { args: [], expectMs: 36 * min }),
  },
];

function usage(): string {
  return [
    'Usage: npm run bench -- [--provider local|swarm] [--quick] [--list] [suite ...]',
    '',
    'Suites (expected duration full / --quick, on a 2-core machine):',
    ...SUITES.map((d) => {
      const f = d.plan(false, 'local').expectMs;
      const q = d.plan(true, 'local').expectMs;
      return `  ${d.name.padEnd(11)} ${`${fmtDuration(f)} / ${fmtDuration(q)}`.padEnd(26)} ${d.what}${d.needs ? ` [needs ${d.needs}]` : ''}`;
    }),
  ].join('\n');
}

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { provider: { type: 'string' }, quick: { type: 'boolean' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
  strict: true,
});
if (values.help || values.list) {
  console.log(usage());
  process.exit(0);
}
const provider = (values.provider ?? 'local') as ProviderKind;
if (provider !== 'local' && provider !== 'swarm') {
  console.error(`--provider must be local or swarm, got ${values.provider}\n\n${usage()}`);
  process.exit(2);
}
const quick = values.quick === true;
const unknown = positionals.filter((n) => !SUITES.some((d) => d.name === n));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}\n\n${usage()}`);
  process.exit(2);
}
const chosen = positionals.length > 0 ? SUITES.filter((d) => positionals.includes(d.name)) : SUITES.filter((d) => !d.onDemand && d.providers.includes(provider));

const day = new Date().toISOString().slice(0, 10);
const base = `${day}-${provider}${quick ? '-quick' : ''}`;
const resultsDir = join(root, 'bench/results');
const chartDir = join(resultsDir, base);
const out = join(resultsDir, `${base}.md`);
mkdirSync(chartDir, { recursive: true });

const expected = chosen.reduce((a, d) => a + d.plan(quick, provider).expectMs, 0);
console.error(`bench: ${chosen.length} suite(s) on ${provider}${quick ? ' (quick)' : ''}, expected about ${fmtDuration(expected)}:`);
for (const d of chosen) console.error(`  ${d.name.padEnd(11)} ~${fmtDuration(d.plan(quick, provider).expectMs)}`);

// The watchdog bundle the suites start (npm run bench builds everything first;
// this also covers running this file directly when the full build is broken).
execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--watchdog-only'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

const facts = machineFacts();
const started = new Date();
writeFileSync(
  out,
  [
    `# faas-ts benchmarks: ${provider} provider${quick ? ' (quick smoke run: fewer and shorter runs)' : ''}`,
    '',
    `Started ${started.toISOString()}; command \`npm run bench -- --provider ${provider}${quick ? ' --quick' : ''}${positionals.length ? ` ${positionals.join(' ')}` : ''}\`. ` +
      'How to read these tables: bench/README.md.',
    '',
    table(
      ['machine', ''],
      [
        ['CPU', `${facts.cpuModel}, ${facts.cores} cores`],
        ['RAM', `${facts.memGiB.toFixed(1)} GiB (${facts.freeGiB.toFixed(1)} GiB free at start)`],
        ['OS', facts.kernel],
        ['Node', facts.node],
        ['load average 1/5/15 min at start', fmtLoad(facts.loadavg)],
      ],
    ),
    '',
    '',
  ].join('\n'),
);

interface Outcome {
  readonly suite: string;
  readonly status: string;
  readonly expectMs: number;
  readonly tookMs: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

let current: number | undefined;
let stopping = false;
process.once('SIGINT', () => {
  // Suites run in their own process group: pass the interrupt on.
  stopping = true;
  if (current !== undefined) {
    try {
      process.kill(-current, 'SIGTERM');
    } catch {
      // gone
    }
  }
});

/** Runs one suite; its stdout goes to the terminal and the results file. */
function runSuite(d: SuiteDef, plan: Plan): Promise<{ code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `bench/${d.name}.ts`, ...plan.args], {
      cwd: root,
      env: {
        ...process.env,
        BENCH_PROVIDER: provider,
        BENCH_CHART_DIR: chartDir,
        BENCH_CHART_LINK: base,
        ...(quick ? { BENCH_QUICK: '1' } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    current = child.pid;
    const limitMs = plan.expectMs * 3 + 2 * min;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`bench: ${d.name} overran ${fmtDuration(limitMs)}; stopping it`);
      try {
        process.kill(-child.pid!, 'SIGTERM');
        setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 15 * s).unref();
      } catch {
        // gone
      }
    }, limitMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      appendFileSync(out, chunk);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code, timedOut });
    });
  });
}

const outcomes: Outcome[] = [];
for (const d of chosen) {
  if (stopping) break;
  const plan = d.plan(quick, provider);
  appendFileSync(out, `\n## ${d.name}\n\n_${d.what}._ Command: \`node --import tsx bench/${d.name}.ts${plan.args.length ? ` ${plan.args.join(' ')}` : ''}\`` +
    `${d.providers.includes(provider) ? '' : ` (runs on its own local components, not the ${provider} provider)`}.\n\n`);
  const loadBefore = loadavg()[0]!;
  if (!existsSync(join(root, `bench/${d.name}.ts`))) {
    const line = `Suite ${d.name}: not available (bench/${d.name}.ts does not exist in this checkout).`;
    console.error(`bench: ${line}`);
    appendFileSync(out, `${line}\n`);
    outcomes.push({ suite: d.name, status: 'not available', expectMs: plan.expectMs, tookMs: 0, loadBefore, loadAfter: loadBefore });
    continue;
  }
  console.error(`\nbench: ${d.name} (expected ~${fmtDuration(plan.expectMs)})`);
  const t0 = Date.now();
  const { code, timedOut } = await runSuite(d, plan);
  const tookMs = Date.now() - t0;
  const status = timedOut ? 'stopped: over time' : code === 0 ? 'ok' : `failed (exit ${code})`;
  if (status !== 'ok') {
    appendFileSync(out, `\n(suite ${d.name}: ${status}${d.needs ? `; it needs ${d.needs}` : ''}; see the terminal output)\n`);
  }
  const loadAfter = loadavg()[0]!;
  appendFileSync(out, `\n_${d.name}: ${fmtDuration(tookMs)} (expected ~${fmtDuration(plan.expectMs)}); 1-min load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after._\n`);
  outcomes.push({ suite: d.name, status, expectMs: plan.expectMs, tookMs, loadBefore, loadAfter });
}

const ended = new Date();
appendFileSync(
  out,
  [
    '',
    '## Summary',
    '',
    table(
      ['suite', 'status', 'took', 'expected', 'load avg before', 'load avg after'],
      outcomes.map((o) => [o.suite, o.status, fmtDuration(o.tookMs), fmtDuration(o.expectMs), o.loadBefore.toFixed(2), o.loadAfter.toFixed(2)]),
      [2, 3, 4, 5],
    ),
    '',
    `Finished ${ended.toISOString()} after ${fmtDuration(ended.getTime() - started.getTime())}; ` +
      `load average 1/5/15 min at the end: ${fmtLoad(loadavg())}.`,
    '',
  ].join('\n'),
);
console.error(`\nbench: results written to ${out} (charts in ${chartDir})`);
process.exit(outcomes.some((o) => o.status !== 'ok' && o.status !== 'not available') ? 1 : 0);
