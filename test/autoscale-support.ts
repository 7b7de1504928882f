/**
 * Shared setup for the autoscaling tests and bench/autoscale.ts: provider-local
 * with real fwatchdog replicas (inproc node handler), the gateway on loopback
 * ports with basic auth, one deployed function, a bounded load loop, and
 * Debian's prometheus + alertmanager started from the shipped configs.
 * Every process started here is killed by pid in stop() and on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { writeMonitoringConfig, type MonitoringOptions } from '../gateway/scaling/monitoring-config.js';
import { createLocalProvider } from '../provider-local/index.js';
import { freePort, until, watchdogCommand } from './helpers.js';

export const CREDS = { user: 'admin', password: 'autoscale-secret' };
export const AUTH = { authorization: `Basic ${Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64')}` };

const HANDLER = `'use strict';
module.exports = async (event, context) => {
  const ms = Number((event.query && event.query.sleep) || 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  return context.status(200).succeed('ok');
};
`;

export interface Stack {
  dir: string;
  url: string;
  metricsUrl: string;
  provider: Awaited<ReturnType<typeof createLocalProvider>>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }>;
  status(name: string): Promise<{ replicas: number; availableReplicas: number }>;
  deploy(name: string, labels?: Record<string, string>): Promise<void>;
  invoke(name: string, query?: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startStack(
  env: Record<string, string> = {},
  logger?: import('pino').Logger,
  queue?: import('../provider/index.js').RequestQueuer,
): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'autoscale-'));
  const provider = await createLocalProvider({ dataDir: dir, watchdogCommand: watchdogCommand(), timings: { stopGraceMs: 2000 } });
  const gw = await startGateway(
    loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true', scale_to_zero: 'false', ...env }),
    { provider, credentials: CREDS, ...(logger ? { logger } : {}), ...(queue ? { queue } : {}) },
  );
  const src = join(dir, 'src', 'fn');
  await mkdir(join(src, 'function'), { recursive: true });
  await writeFile(join(src, 'function', 'handler.js'), HANDLER);
  await provider.bundles.add('ok:latest', src, { mode: 'inproc', inproc_handler: 'function/handler.js', prefix_logs: 'false' });

  const api: Stack['api'] = async (method, path, body) => {
    const res = await request(gw.url + path, {
      method: method as 'GET',
      headers: { ...AUTH, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const stack: Stack = {
    dir,
    url: gw.url,
    metricsUrl: gw.metricsUrl ?? gw.url,
    provider,
    api,
    async status(name) {
      const r = await api('GET', `/system/function/${name}`);
      if (r.status !== 200) throw new Error(`status ${name}: ${r.status} ${r.text}`);
      // Upstream omits zero counts (omitempty).
      const j = JSON.parse(r.text) as { replicas?: number; availableReplicas?: number };
      return { replicas: j.replicas ?? 0, availableReplicas: j.availableReplicas ?? 0 };
    },
    async deploy(name, labels = {}) {
      const r = await api('POST', '/system/functions', { service: name, image: 'ok:latest', labels, annotations: {} });
      if (r.status !== 200 && r.status !== 202) throw new Error(`deploy ${name}: ${r.status} ${r.text}`);
      await until(async () => (await stack.status(name)).availableReplicas > 0, 15_000, `${name} ready`);
    },
    async invoke(name, query = '') {
      const res = await request(`${gw.url}/function/${name}${query}`, { method: 'POST', body: 'x' });
      await res.body.dump();
      return res.statusCode;
    },
    async stop() {
      await gw.close();
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/**
 * Invoke `name` at about `rps` requests per second until `stop()` (or at
 * most `maxMs`): a bounded loop. Resolves with the count of 200s.
 */
export function loadLoop(stack: Stack, name: string, rps: number, maxMs: number): { stop(): void; done: Promise<number> } {
  let stopped = false;
  const done = (async () => {
    const end = Date.now() + maxMs;
    let ok = 0;
    while (!stopped && Date.now() < end) {
      const t0 = Date.now();
      const codes = await Promise.all(Array.from({ length: Math.max(1, Math.round(rps / 10)) }, () => stack.invoke(name).catch(() => 0)));
      ok += codes.filter((c) => c === 200).length;
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t0))));
    }
    return ok;
  })();
  return { stop: () => void (stopped = true), done };
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null && p.pid) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function run(dir: string, name: string, cmd: string, args: string[]): ChildProcess {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', log, log] });
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.pid && p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

export interface Monitoring {
  promUrl: string;
  amUrl: string;
  stop(): Promise<void>;
}

/** Debian's prometheus + alertmanager on loopback, from the shipped configs rendered with `timings`. */
export async function startMonitoring(stack: Stack, timings: Partial<MonitoringOptions>): Promise<Monitoring> {
  const dir = join(stack.dir, 'monitoring');
  await mkdir(dir, { recursive: true });
  const passwordFile = join(dir, 'basic-auth-password');
  await writeFile(passwordFile, CREDS.password, { mode: 0o600 });
  const [amPort, promPort] = [await freePort(), await freePort()];
  const files = writeMonitoringConfig(dir, {
    gatewayMetrics: new URL(stack.metricsUrl).host,
    gatewayUrl: stack.url,
    alertmanager: `127.0.0.1:${amPort}`,
    username: CREDS.user,
    passwordFile,
    ...timings,
  });
  const am = run(dir, 'alertmanager', '/usr/bin/prometheus-alertmanager', [
    `--config.file=${files.alertmanager}`,
    `--storage.path=${dir}/am`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    `--web.external-url=http://127.0.0.1:${amPort}/`,
    '--cluster.listen-address=',
  ]);
  const prom = run(dir, 'prometheus', '/usr/bin/prometheus', [
    `--config.file=${files.prometheus}`,
    `--storage.tsdb.path=${dir}/prom`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    `--web.external-url=http://127.0.0.1:${promPort}/`,
  ]);
  const m: Monitoring = {
    promUrl: `http://127.0.0.1:${promPort}`,
    amUrl: `http://127.0.0.1:${amPort}`,
    async stop() {
      await Promise.all([stopProc(prom), stopProc(am)]);
    },
  };
  try {
    const ok = (u: string) => async () => (await fetch(u)).ok;
    await until(ok(`${m.amUrl}/-/ready`), 15_000, 'alertmanager ready');
    await until(ok(`${m.promUrl}/-/ready`), 15_000, 'prometheus ready');
    // The first scrape comes ~5.5 s after start (service discovery batching).
    await until(
      async () => {
        const j = (await (await fetch(`${m.promUrl}/api/v1/targets?state=active`)).json()) as {
          data: { activeTargets: Array<{ health: string }> };
        };
        return j.data.activeTargets.length > 0 && j.data.activeTargets.every((x) => x.health === 'up');
      },
      20_000,
      'prometheus targets up',
    );
  } catch (err) {
    await m.stop();
    throw err;
  }
  return m;
}
