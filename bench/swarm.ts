/**
 * Docker Swarm benchmark (not a test): cold start and warm throughput of
 * provider-swarm behind the gateway, on the real swarm test/docker.ts sets up.
 *
 *   npm run build:watchdog && npx tsx bench/swarm.ts [runs=20]
 *   env BENCH_HEALTHCHECK_INTERVAL (default 250ms): the bench image's HEALTHCHECK interval
 *
 * Cold start, interleaved in the same run (one unmeasured warm-up of each first):
 * - gateway: a function at 0 replicas, one POST through the gateway (scale from zero:
 *   provider.scale, then endpoints() polled until a task is running — swarm reports
 *   `running` only once the HEALTHCHECK passed — and its watchdog answered /_/health),
 *   time to the first 200;
 * - raw Docker: `docker service scale --detach NAME=1` on a twin service (same spec), then
 *   the task's host-mode published port read from the Engine API and polled every 20 ms (test/helpers until()),
 *   time to the first 200. This path does not wait for the HEALTHCHECK.
 * Both services use the classic-watchdog image (scripts/images/build-classic.sh, fprocess
 * `cat`) built with a short HEALTHCHECK interval: the first check runs one interval after
 * the container starts, so the interval is a floor of the gateway figure (the test
 * image's 2 s gave ~2.8 s p50). `healthcheck_interval=100ms` in the function env makes
 * the watchdog's shutdown drain short, so scaling back to zero between runs is quick.
 *
 * Warm: autocannon through the gateway to the same function at 1 and 3 replicas, c=10
 * and c=50, 5 s each, plus the 1-replica task's own port at c=10 for reference.
 * Everything created is named with a run id and removed at the end (image included).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createSwarmProvider } from '../provider-swarm/index.js';
import { dockerCli, ensureClassicImage, ensureSwarm, removeByPrefix } from '../test/docker.js';
import { until } from '../test/helpers.js';

const run = promisify(execFile);
const runs = Math.max(1, Number(process.argv[2] ?? 20));
const interval = process.env.BENCH_HEALTHCHECK_INTERVAL ?? '250ms';
const WARM_SECONDS = 5;
const id = `b${randomBytes(3).toString('hex')}`;
const imageTag = `faas-ts-bench/classic:${id}`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const engine = await ensureSwarm();
  const image = await ensureClassicImage(imageTag, interval);
  const provider = createSwarmProvider({ network: `${id}-net`, endpointMode: 'dnsrr-hostport', restartDelayMs: 0 });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), { provider });
  const fn = `${id}-gw`;
  const raw = `${id}-raw`;
  const spec = (service: string) => ({ service, image, envProcess: 'cat', envVars: { healthcheck_interval: '100ms' } });

  const containers = async (service: string) => {
    const out = await dockerCli(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]);
    return out ? out.split('\n').length : 0;
  };
  /** Scale to zero and wait until no container of the service runs (its host port is free). */
  const toZero = async (service: string) => {
    await provider.scale(service, 0);
    await until(async () => (await containers(service)) === 0, 60_000, `${service} at zero`);
  };
  const invokeGateway = async () => {
    const res = await request(`${gw.url}/function/${fn}`, { method: 'POST', body: 'x', headersTimeout: 120_000 });
    await res.body.text();
    return res.statusCode;
  };
  /** The published port of the service's running task, once the Engine reports it. */
  const taskPort = async (service: string): Promise<number | undefined> => {
    const tasks = (await provider.docker.listTasks({ filters: { service: [service], 'desired-state': ['running'] } })) as Array<{
      Status?: { State?: string; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
    }>;
    for (const t of tasks) {
      const port = t.Status?.PortStatus?.Ports?.[0]?.PublishedPort;
      if (port) return port;
    }
    return undefined;
  };
  const rawColdStart = async (): Promise<number> => {
    const started = performance.now();
    await run('docker', ['service', 'scale', '--detach', `${raw}=1`]);
    let port: number | undefined;
    await until(async () => (port = await taskPort(raw)) !== undefined, 60_000, 'raw task port');
    await until(async () => {
      try {
        const res = await request(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x', headersTimeout: 5_000 });
        await res.body.text();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    }, 60_000, 'raw task answers 200');
    return performance.now() - started;
  };
  const gatewayColdStart = async (): Promise<number> => {
    const started = performance.now();
    const status = await invokeGateway();
    if (status !== 200) throw new Error(`cold invocation answered ${status}`);
    return performance.now() - started;
  };

  try {
    await provider.deploy(spec(fn));
    await provider.deploy(spec(raw));
    await until(async () => (await provider.get(fn))?.availableReplicas === 1 && (await provider.get(raw))?.availableReplicas === 1, 60_000, 'both services available');

    const gatewayMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = -1; i < runs; i++) {
      await toZero(fn);
      const g = await gatewayColdStart();
      await toZero(raw);
      const r = await rawColdStart();
      if (i >= 0) {
        gatewayMs.push(g);
        rawMs.push(r);
      }
      process.stderr.write(`run ${i + 1}/${runs}: gateway ${g.toFixed(0)} ms, raw ${r.toFixed(0)} ms\n`);
    }
    await toZero(raw);

    const { default: autocannon } = await import('autocannon');
    const cannon = async (url: string, connections: number) => {
      const r = await autocannon({ url, connections, duration: WARM_SECONDS, method: 'POST', body: 'x' });
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
    };
    const warm: Array<{ target: string; replicas: number; c: number; r: Awaited<ReturnType<typeof cannon>> }> = [];
    for (const replicas of [1, 3]) {
      await provider.scale(fn, replicas);
      await until(async () => (await provider.get(fn))?.availableReplicas === replicas, 60_000, `${replicas} available`);
      await until(async () => (await provider.endpoints(fn)).length === replicas, 60_000, `${replicas} endpoints`);
      for (const c of [10, 50]) warm.push({ target: 'gateway', replicas, c, r: await cannon(`${gw.url}/function/${fn}`, c) });
      if (replicas === 1) {
        const direct = (await provider.endpoints(fn))[0]!.baseUrl;
        warm.push({ target: 'task port (direct)', replicas, c: 10, r: await cannon(`${direct}/`, 10) });
      }
    }

    const p = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });
    const g = p(gatewayMs);
    const r = p(rawMs);
    const lines = [
      `Docker ${engine} in swarm mode, provider-swarm endpoint mode dnsrr-hostport, gateway on the host;`,
      `image: classic watchdog (fprocess \`cat\`) on the local Node base, HEALTHCHECK interval ${interval}; ${runs} runs each, interleaved, after one warm-up.`,
      '',
      '| cold start (0 → first 200) | p50 ms | p95 ms | min ms | max ms |',
      '|---|---|---|---|---|',
      `| through the gateway (scale from zero) | ${g.p50.toFixed(0)} | ${g.p95.toFixed(0)} | ${Math.min(...gatewayMs).toFixed(0)} | ${Math.max(...gatewayMs).toFixed(0)} |`,
      `| raw \`docker service scale NAME=1\` → task port | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${Math.min(...rawMs).toFixed(0)} | ${Math.max(...rawMs).toFixed(0)} |`,
      `| ratio gateway / raw | ${(g.p50 / r.p50).toFixed(2)}× | ${(g.p95 / r.p95).toFixed(2)}× | | |`,
      '',
      `Target: gateway within 1.2× of raw — p50 ${g.p50 / r.p50 <= 1.2 ? 'met' : 'NOT met'}.`,
      '',
      `| warm (${WARM_SECONDS} s, POST) | replicas | connections | req/s | p50 ms | p99 ms | errors |`,
      '|---|---|---|---|---|---|---|',
      ...warm.map((w) => `| ${w.target} | ${w.replicas} | ${w.c} | ${w.r.rps.toFixed(0)} | ${w.r.p50} | ${w.r.p99} | ${w.r.errors} |`),
    ];
    console.log(lines.join('\n'));
  } finally {
    await gw.close();
    for (const s of [fn, raw]) await provider.remove(s).catch(() => undefined);
    await provider.close();
    await removeByPrefix(id);
    // the removed tasks' containers go away asynchronously and hold the image until then
    await until(async () => {
      await dockerCli(['image', 'rm', imageTag]).catch(() => undefined);
      return !(await dockerCli(['image', 'ls', '-q', imageTag]));
    }, 60_000, `${imageTag} removed`).catch(() => console.error(`could not remove ${imageTag}`));
  }
}

await main();
