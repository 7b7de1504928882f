/**
 * Autoscaling benchmark (not a test): `npx tsx bench/autoscale.ts [runs=3] [coldStarts=30]`
 * (runs 0 = cold starts only).
 *
 * 1. Reaction time: from load start (about 40 req/s on one function) to the
 *    extra replicas being ready (availableReplicas >= 3), for
 *    a. the embedded rule engine, with the shipped alert.rules.yml (eval 1 s,
 *       `for: 5s`, 10 s window) and with the Prometheus run's rule timings, and
 *    b. Debian's prometheus + alertmanager with the shipped configs rendered
 *       with test timings (scrape/eval 1 s, for 1 s, 5 s window, group_wait 1 s).
 *    The Prometheus numbers exclude its ~5.5 s to the first scrape (the
 *    targets are up before load starts).
 * 2. Scale-from-zero: ≥ 30 forced cold starts on provider-local (scale to 0
 *    through the API, wait until no replica runs, time the first call).
 * Prints markdown tables.
 */
import { renderRules } from '../gateway/scaling/monitoring-config.js';
import { until } from '../test/helpers.js';
import { loadLoop, startMonitoring, startStack, type Stack } from '../test/autoscale-support.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const runs = Number(process.argv[2] ?? 3);
const coldStarts = Number(process.argv[3] ?? 30);
const LABELS = { 'com.openfaas.scale.max': '4', 'com.openfaas.scale.factor': '50' };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function reaction(stack: Stack, name: string): Promise<{ scaled: number; ready: number }> {
  await stack.deploy(name, LABELS);
  const t0 = performance.now();
  const load = loadLoop(stack, name, 40, 60_000);
  let scaled = 0;
  try {
    await until(async () => (await stack.status(name)).replicas >= 3, 50_000, 'scaled');
    scaled = performance.now() - t0;
    await until(async () => (await stack.status(name)).availableReplicas >= 3, 20_000, 'ready');
  } finally {
    load.stop();
    await load.done;
  }
  const ready = performance.now() - t0;
  await stack.api('DELETE', '/system/functions', { functionName: name });
  return { scaled, ready };
}

async function embedded(tuned: boolean): Promise<Array<{ scaled: number; ready: number }>> {
  const env: Record<string, string> = { embedded_autoscaler: 'true', alert_cooldown: '1s' };
  let dir: string | undefined;
  if (tuned) {
    // The same rule timings as the Prometheus run below.
    dir = await mkdtemp(join(tmpdir(), 'bench-rules-'));
    env.autoscaler_rules = join(dir, 'alert.rules.yml');
    await writeFile(env.autoscaler_rules, renderRules('alert.rules.yml', { ruleFor: '1s', rateWindow: '5s' }));
  }
  const stack = await startStack(env);
  try {
    const out = [];
    for (let i = 0; i < runs; i++) out.push(await reaction(stack, `emb${i}`));
    return out;
  } finally {
    await stack.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

async function prometheus(): Promise<Array<{ scaled: number; ready: number }>> {
  const stack = await startStack({ alert_cooldown: '1s' });
  const mon = await startMonitoring(stack, {
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    ruleFor: '1s',
    rateWindow: '5s',
    groupWait: '1s',
    groupInterval: '2s',
    repeatInterval: '3s',
  });
  try {
    const out = [];
    for (let i = 0; i < runs; i++) out.push(await reaction(stack, `prom${i}`));
    return out;
  } finally {
    await mon.stop();
    await stack.stop();
  }
}

async function cold(): Promise<number[]> {
  const stack = await startStack();
  try {
    await stack.deploy('cold');
    const times: number[] = [];
    for (let i = 0; i < coldStarts; i++) {
      await stack.api('POST', '/system/scale-function/cold', { serviceName: 'cold', replicas: 0 });
      await until(async () => (await stack.status('cold')).availableReplicas === 0, 10_000, 'at zero');
      const t0 = performance.now();
      const code = await stack.invoke('cold');
      if (code !== 200) throw new Error(`cold start ${i}: ${code}`);
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    await stack.stop();
  }
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const emb = runs > 0 ? await embedded(false) : [];
const embTuned = runs > 0 ? await embedded(true) : [];
const prom = runs > 0 ? await prometheus() : [];
const c = await cold();

if (runs > 0) console.log('\n## Load start → 3 replicas (max 4, factor 50: one alert step from 1 to 3)\n');
if (runs > 0) console.log('| engine | runs | scaled (median) | ready (median) | ready (max) |');
if (runs > 0) console.log('|---|---|---|---|---|');
for (const [name, xs] of (runs === 0 ? [] : [
  ['embedded, shipped rule (eval 1s, 10s window, for 5s)', emb],
  ['embedded, same rule timings as below (eval 1s, 5s window, for 1s)', embTuned],
  ['Prometheus + Alertmanager (1s scrape/eval, 5s window, for 1s, group_wait 1s)', prom],
] as const)) {
  console.log(`| ${name} | ${xs.length} | ${fmt(pct(xs.map((x) => x.scaled), 50))} | ${fmt(pct(xs.map((x) => x.ready), 50))} | ${fmt(Math.max(...xs.map((x) => x.ready)))} |`);
}
console.log('\n## Scale from zero, first response (provider-local, inproc node watchdog)\n');
console.log('| cold starts | p50 | p95 | max |');
console.log('|---|---|---|---|');
console.log(`| ${c.length} | ${pct(c, 50).toFixed(0)} ms | ${pct(c, 95).toFixed(0)} ms | ${Math.max(...c).toFixed(0)} ms |`);
