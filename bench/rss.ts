/**
 * Memory benchmark (not a test): idle and loaded resident set size (VmRSS from
 * /proc/PID/status) of every component of the platform, on either provider.
 *
 *   npx tsx bench/rss.ts [--provider local|swarm] [--requests N] [--seconds S] [--connections C] [--quick]
 *   (defaults: local (or env BENCH_PROVIDER), 4000 requests, at most 20 s, 8 connections;
 *   --quick or BENCH_QUICK=1: 600 requests, at most 5 s)
 *
 * Functions: hello-node and sieve (node20, inproc watchdog mode), iot-predict switched to
 * the watchdog's http mode (node20 template's `mode=http`), echo-python and har-cnn
 * (python3-http, http mode: watchdog + Python server), and `rss-classic`, the generic
 * image (`functions/alpine`, fprocess `cat`) in classic fork-per-request mode.
 * Components: see bench/lib/platform.ts (local: one `faas-ts up` process holds gateway,
 * provider-local, file queue and queue worker; swarm: gateway, provider-swarm,
 * queue-worker and nats-server are separate host processes, and each task's container
 * init process is its watchdog).
 *
 * Idle: after every function answered 20 warm-up calls and one async call, 2 s of
 * quiet, then the median of 5 samples 200 ms apart. Loaded: the peak while a bounded
 * closed-loop load runs through the gateway (round robin over the functions, plus one
 * /async-function call in 20 so the queue path works too), sampled every 200 ms; the
 * load stops at the request count or the time limit, whichever comes first.
 * Classic-mode children live for one request only: their peak is not sampled reliably.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { processEnv, readRssKb, startPlatform, type BenchPlatform, type ProviderKind } from './lib/platform.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS = ['hello-node', 'sieve', 'iot-predict', 'echo-python', 'har-cnn'] as const;
const CLASSIC = 'rss-classic';
/** One valid request per function (sieve n=1000 as in the tinyFaaS workload; har-cnn's synthetic window). */
const CALLS: Record<string, { path: string; method: 'GET' | 'POST'; body?: string; type?: string }> = {
  'hello-node': { path: '/function/hello-node', method: 'POST', body: 'bench', type: 'text/plain' },
  sieve: { path: '/function/sieve?n=1000', method: 'GET' },
  'iot-predict': { path: '/function/iot-predict', method: 'POST', body: '{"features":[71.5,230.2,101.3,40.1,1480]}', type: 'application/json' },
  'echo-python': { path: '/function/echo-python', method: 'POST', body: 'bench', type: 'text/plain' },
  'har-cnn': { path: '/function/har-cnn?seed=1', method: 'GET' },
  [CLASSIC]: { path: '/function/rss-classic', method: 'POST', body: 'bench', type: 'text/plain' },
};

interface Args {
  provider: ProviderKind;
  requests: number;
  seconds: number;
  connections: number;
}

function parse(argv: string[], env: Readonly<Record<string, string | undefined>>): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      provider: { type: 'string', default: env.BENCH_PROVIDER ?? 'local' },
      requests: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string', default: '8' },
      // the harness's common flags (bench/lib/report.ts): --quick = 600 requests / 5 s
      quick: { type: 'boolean' },
      charts: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true || env.BENCH_QUICK === '1';
  values.requests ??= quick ? '600' : '4000';
  values.seconds ??= quick ? '5' : '20';
  if (values.provider !== 'local' && values.provider !== 'swarm') throw new Error(`--provider: local or swarm, got ${values.provider}`);
  const int = (k: string, v: string, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${k}: 1..${max}, got ${v}`);
    return n;
  };
  return {
    provider: values.provider,
    requests: int('requests', values.requests, 1_000_000),
    seconds: int('seconds', values.seconds, 600),
    connections: int('connections', values.connections, 256),
  };
}

async function call(platform: BenchPlatform, fn: string, async = false): Promise<number> {
  const c = CALLS[fn]!;
  const url = `${platform.gatewayUrl}${async ? c.path.replace('/function/', '/async-function/') : c.path}`;
  // async invocations are POSTs
  const method = async ? 'POST' : c.method;
  const res = await request(url, {
    method,
    body: method === 'POST' ? (c.body ?? '') : undefined,
    headers: c.type ? { 'content-type': c.type } : {},
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  await res.body.text();
  return res.statusCode;
}

/** Components keyed without replica ids where there is one replica (stable across samples). */
async function snapshot(platform: BenchPlatform): Promise<Map<string, { pid: number; rssKb: number }[]>> {
  const out = new Map<string, { pid: number; rssKb: number }[]>();
  for (const p of await platform.processes()) {
    const rss = await readRssKb(p.pid);
    if (rss === undefined) continue;
    const key = p.component.replace(/\/[^/]+$/, '');
    const list = out.get(key) ?? [];
    list.push({ pid: p.pid, rssKb: rss });
    out.set(key, list);
  }
  return out;
}

const sum = (xs: { rssKb: number }[]) => xs.reduce((a, b) => a + b.rssKb, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function deployClassic(platform: BenchPlatform): Promise<void> {
  let image = 'functions/alpine:latest';
  if (platform.provider === 'swarm') {
    const { ensureClassicImage } = await import('../test/docker.js');
    image = await ensureClassicImage();
  }
  const res = await request(`${platform.gatewayUrl}/system/functions`, {
    method: 'POST',
    headers: { authorization: platform.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ service: CLASSIC, image, envProcess: 'cat', envVars: { healthcheck_interval: '1s' } }),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`deploy ${CLASSIC}: ${res.statusCode} ${text}`);
  const deadline = Date.now() + 120_000;
  while ((await call(platform, CLASSIC).catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${CLASSIC} not answering`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function removeClassic(platform: BenchPlatform): Promise<void> {
  const res = await request(`${platform.gatewayUrl}/system/functions`, {
    method: 'DELETE',
    headers: { authorization: platform.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ functionName: CLASSIC }),
  }).catch(() => undefined);
  await res?.body.text();
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2), process.env);
  const t0 = Date.now();
  const log = (l: string) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)}s ${l}\n`);
  const platform = await startPlatform({ provider: args.provider, root, log: (l) => (process.env.BENCH_VERBOSE ? log(l) : undefined) });
  let classicDeployed = false;
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void (classicDeployed ? removeClassic(platform) : Promise.resolve()).finally(() => platform.close().finally(() => process.exit(130)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await platform.deploy(['hello-node', 'sieve', 'echo-python', 'har-cnn']);
    await platform.deploy(['iot-predict'], { env: { mode: 'http' } });
    classicDeployed = true;
    await deployClassic(platform);
    const names = [...FUNCTIONS, CLASSIC];
    log(`deployed ${names.join(', ')}`);

    // warm-up, then quiet
    for (const fn of names) for (let i = 0; i < 20; i++) await call(platform, fn);
    for (const fn of names) await call(platform, fn, true);
    await new Promise((r) => setTimeout(r, 2_000));
    const idleSamples: Array<Map<string, { pid: number; rssKb: number }[]>> = [];
    for (let i = 0; i < 5; i++) {
      idleSamples.push(await snapshot(platform));
      await new Promise((r) => setTimeout(r, 200));
    }
    const modes = new Map<string, string>();
    for (const p of await platform.processes()) {
      if (p.component.startsWith('watchdog:')) modes.set(p.component.replace(/\/[^/]+$/, ''), processEnv(p.pid).mode ?? '?');
    }

    // loaded
    log(`load: ${args.requests} requests or ${args.seconds} s, ${args.connections} connections`);
    const peaks = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const [k, v] of await snapshot(platform)) peaks.set(k, Math.max(peaks.get(k) ?? 0, sum(v)));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    let issued = 0;
    let ok = 0;
    let failed = 0;
    const failures = new Map<string, number>();
    const deadline = Date.now() + args.seconds * 1000;
    const loadStart = Date.now();
    await Promise.all(
      Array.from({ length: args.connections }, async () => {
        while (issued < args.requests && Date.now() < deadline) {
          const n = issued++;
          const fn = names[n % names.length]!;
          const status = await call(platform, fn, n % 20 === 19).catch(() => 0);
          if (status === 200 || status === 202) ok++;
          else {
            failed++;
            const key = `${fn}:${status}`;
            failures.set(key, (failures.get(key) ?? 0) + 1);
          }
        }
      }),
    );
    const loadMs = Date.now() - loadStart;
    sampling = false;
    await sampler;

    const keys = [...new Set([...idleSamples[0]!.keys(), ...peaks.keys()])].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    const lines = [
      `### RSS per component (${args.provider}), MB (VmRSS)`,
      '',
      `Load: ${issued} requests (${ok} ok, ${failed} failed) in ${(loadMs / 1000).toFixed(1)} s over ${args.connections} connections, round robin over ${names.length} functions through the gateway, 1 in 20 async.${failed > 0 ? ` Failures (function:status): ${[...failures].map(([k, v]) => `${k}×${v}`).join(', ')}.` : ''}`,
      '',
      '| component | watchdog mode | processes | idle MB | loaded peak MB | Δ MB |',
      '|---|---|---|---|---|---|',
    ];
    let idleTotal = 0;
    let peakTotal = 0;
    for (const k of keys) {
      const idle = median(idleSamples.map((s) => sum(s.get(k) ?? [])));
      const peak = Math.max(peaks.get(k) ?? 0, idle);
      idleTotal += idle;
      peakTotal += peak;
      const count = idleSamples[0]!.get(k)?.length ?? 0;
      const mode = k.startsWith('watchdog:') ? (modes.get(k) ?? '') : k.startsWith('function:') ? (modes.get(k.replace('function:', 'watchdog:')) ?? '') : '';
      lines.push(`| ${k} | ${mode} | ${count} | ${mb(idle)} | ${mb(peak)} | ${mb(peak - idle)} |`);
    }
    lines.push(`| **total** | | | ${mb(idleTotal)} | ${mb(peakTotal)} | ${mb(peakTotal - idleTotal)} |`);
    lines.push('', `(total ${((Date.now() - t0) / 1000).toFixed(0)} s, Node ${process.version}; host processes run esbuild bundles of the sources, not tsx)`);
    console.log(lines.join('\n'));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) {
      if (classicDeployed) await removeClassic(platform);
      await platform.close();
    }
  }
}

function order(component: string): number {
  if (component.startsWith('watchdog:')) return 2;
  if (component.startsWith('function:')) return 3;
  return 1;
}

await main();
