/**
 * Watchdog benchmark (not a test): one hello-world Node function
 * (a) called directly, (b) through fwatchdog mode=http, (c) mode=inproc,
 * (d) mode=streaming (fork per request), under autocannon at c=1, 10, 50.
 * Prints a markdown table: req/s, p50, p99 and the watchdog's RSS.
 *
 *   npx tsx bench/watchdog.ts [seconds-per-run]
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'watchdog/fixtures');
const bundle = join(root, 'dist/fwatchdog.cjs');
const seconds = Number(process.argv[2] ?? 5);
const CONNECTIONS = [1, 10, 50];

interface Target {
  name: string;
  port: number;
  /** pid whose RSS is reported (the watchdog), if any */
  pid?: number;
  procs: ChildProcess[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number | undefined): string {
  if (!pid) return '–';
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) / 1024).toFixed(1) : '–';
  } catch {
    return '–';
  }
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${ms}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startDirect(): Promise<Target> {
  const port = await freePort();
  const p = spawn(process.execPath, [join(fixtures, 'hello-server.cjs')], {
    env: { ...process.env, http_port: String(port) },
    stdio: 'ignore',
  });
  await waitFor(async () => (await get(port, '/')) === 200, 'direct server');
  return { name: 'direct (plain node http)', port, procs: [p] };
}

async function startWatchdog(name: string, env: Record<string, string>, cwd: string): Promise<Target> {
  // Logs go to a file: a pipe read by this (busy) process would throttle the watchdog.
  const logFile = join(cwd, `${name.replace(/\W+/g, '-')}.log`);
  const fd = openSync(logFile, 'w');
  const p = spawn(process.execPath, [bundle], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, port: '0', metrics_port: '0', bind_address: '127.0.0.1', lock_path: join(cwd, '.lock'), ...env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const err = (): string => readFileSync(logFile, 'utf8');
  await waitFor(async () => /Listening on port: \d+/.test(err()), `${name} listener`);
  const port = Number(/Listening on port: (\d+)/.exec(err())![1]);
  await waitFor(async () => (await get(port, '/_/ready')) === 200, `${name} readiness`);
  return { name, port, pid: p.pid, procs: [p] };
}

function stop(t: Target): void {
  for (const p of t.procs) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      p.kill('SIGKILL');
    }
  }
}

/** Sequential keep-alive requests timed with hrtime: sub-millisecond p50/p99 at c=1. */
async function preciseLatency(port: number, n: number): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  return { p50: q(0.5), p99: q(0.99) };
}

interface Row {
  mode: string;
  c: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssIdle: string;
  rssAfter: string;
}

async function load(port: number, connections: number): Promise<autocannon.Result> {
  return autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds, pipelining: 1 });
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--watchdog-only'], { stdio: 'inherit' });
  const work = mkdtempSync(join(tmpdir(), 'wd-bench-'));
  const rows: Row[] = [];
  const precise: Array<{ mode: string; p50: number; p99: number }> = [];
  const starters: Array<() => Promise<Target>> = [
    startDirect,
    async () => {
      const up = await freePort();
      return startWatchdog(
        'http',
        {
          mode: 'http',
          fprocess: `${process.execPath} ${join(fixtures, 'hello-server.cjs')}`,
          upstream_url: `http://127.0.0.1:${up}`,
          http_port: String(up),
        },
        work,
      );
    },
    () => startWatchdog('inproc', { mode: 'inproc', inproc_handler: join(fixtures, 'hello-handler.cjs') }, work),
    () => startWatchdog('streaming (fork)', { mode: 'streaming', fprocess: `${process.execPath} ${join(fixtures, 'hello-fork.cjs')}` }, work),
  ];
  try {
    for (const start of starters) {
      const target = await start();
      await new Promise((r) => setTimeout(r, 1000));
      const rssIdle = rssMb(target.pid);
      try {
        const lat = await preciseLatency(target.port, 3000);
        precise.push({ mode: target.name, ...lat });
        for (const c of CONNECTIONS) {
          const r = await load(target.port, c);
          rows.push({
            mode: target.name,
            c,
            rps: r.requests.average,
            p50: r.latency.p50,
            p99: r.latency.p99,
            errors: r.errors + r.non2xx + r.timeouts,
            rssIdle,
            rssAfter: rssMb(target.pid),
          });
          process.stderr.write(`${target.name} c=${c}: ${r.requests.average} req/s\n`);
        }
      } finally {
        stop(target);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const lines = [
    `| mode | c | req/s | p50 ms | p99 ms | errors | watchdog RSS idle MB | RSS after load MB |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.c} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.rssIdle} | ${r.rssAfter} |`,
    ),
  ];
  const latLines = [
    `| mode | p50 ms | p99 ms |`,
    `|---|---:|---:|`,
    ...precise.map((r) => `| ${r.mode} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} |`),
  ];
  process.stdout.write(
    `\nfwatchdog benchmark, ${seconds}s per autocannon run, Node ${process.version}\n\n${lines.join('\n')}\n\n` +
      `Sequential keep-alive latency (c=1, hrtime, up to 3000 requests):\n\n${latLines.join('\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
