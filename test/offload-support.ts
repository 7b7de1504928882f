/**
 * Layers for the offload tests and bench/offload.ts: a real gateway in front
 * of its own provider-local running real fwatchdog replicas (inproc mode),
 * optionally with the embedded file queue and a queue worker. Needs
 * dist/fwatchdog.cjs (`npm run build:watchdog`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadGatewayConfig, startGateway, type RunningGateway } from '../gateway/index.js';
import { createLocalProvider, type LocalProvider } from '../provider-local/index.js';
import { createFileQueue, createQueueWorker, type FileQueue, type QueueWorker } from '../queue-worker/index.js';
import { until, watchdogCommand } from './helpers.js';

const INPROC = { mode: 'inproc', inproc_handler: 'function/handler.js', exec_timeout: '20s', prefix_logs: 'false' };

/** Handlers by bundle name: echo the body, or sleep `ms` then answer `text`. */
export const HANDLERS = {
  echo: `'use strict';
module.exports = async (event, context) => context.status(200).succeed(event.method + ' ' + (event.body ? String(event.body) : ''));
`,
  sleep: (ms: number, text: string) => `'use strict';
module.exports = async (event, context) => {
  await new Promise((r) => setTimeout(r, ${ms}));
  return context.status(200).succeed(${JSON.stringify(text)});
};
`,
};

export interface Layer {
  readonly name: string;
  readonly url: string;
  readonly provider: LocalProvider;
  readonly queue?: FileQueue;
  readonly worker?: QueueWorker;
  /** Register `handler` as bundle `image` in this layer's provider. */
  bundle(image: string, handler: string): Promise<void>;
  /** Deploy and wait until `replicas` are ready (0 = deploy, then scale to zero). */
  deploy(name: string, image: string, opts?: { envVars?: Record<string, string>; labels?: Record<string, string>; replicas?: number }): Promise<void>;
  /** Start another gateway in front of this layer's provider, with other settings. */
  gateway(env: Record<string, string>): Promise<RunningGateway>;
  /** Text of this layer's /metrics. */
  metrics(): Promise<string>;
  /** Stop the gateway only (the "parent is down" case); close() still cleans up the rest. */
  stopGateway(): Promise<void>;
  close(): Promise<void>;
}

export interface LayerOptions {
  name: string;
  /** Extra gateway env (offload_parent_url, ...). Host load thresholds default to 1 (off) so the busy test machine does not offload. */
  env?: Record<string, string>;
  /** Also run the embedded file queue and a worker (for /async-function). */
  queue?: boolean;
  workerConcurrency?: number;
}

/** Sum of the samples of `metric` whose labels include every `labels` pair. */
export function metricValue(text: string, metric: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(metric.length + 1, close);
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}

export async function startLayer(opts: LayerOptions): Promise<Layer> {
  const dataDir = await mkdtemp(join(tmpdir(), `offload-${opts.name}-`));
  const provider = await createLocalProvider({ dataDir: join(dataDir, 'data'), watchdogCommand: watchdogCommand(), timings: { stopGraceMs: 2000 } });
  const extra: RunningGateway[] = [];
  let queue: FileQueue | undefined;
  let worker: QueueWorker | undefined;
  let gw: RunningGateway | undefined;
  const env = (more: Record<string, string>) =>
    loadGatewayConfig({
      port: '0',
      metrics_port: '0',
      offload_layer: opts.name,
      offload_cpu_threshold: '1',
      offload_memory_threshold: '1',
      ...opts.env,
      ...more,
    });
  try {
    if (opts.queue) queue = await createFileQueue({ dir: join(dataDir, 'queue') });
    gw = await startGateway(env({}), { provider, ...(queue ? { queue } : {}) });
    if (queue) {
      worker = createQueueWorker({
        source: queue.source(),
        gatewayUrl: gw.url,
        concurrency: opts.workerConcurrency ?? 4,
        retry: { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 1000 },
        callbackTimeoutMs: 5000,
        drainTimeoutMs: 2000,
      });
    }
  } catch (err) {
    await gw?.close();
    await queue?.close();
    await provider.close();
    throw err;
  }
  let gatewayStopped: Promise<void> | undefined;
  const running = gw;
  const layer: Layer = {
    name: opts.name,
    url: running.url,
    provider,
    ...(queue ? { queue } : {}),
    ...(worker ? { worker } : {}),
    async bundle(image, handler) {
      const src = join(dataDir, 'src', image.replace(/[^a-z0-9]/gi, '_'));
      await mkdir(join(src, 'function'), { recursive: true });
      await writeFile(join(src, 'function', 'handler.js'), handler);
      await provider.bundles.add(image, src, INPROC);
    },
    async deploy(name, image, o = {}) {
      await provider.deploy({ service: name, image, ...(o.envVars ? { envVars: o.envVars } : {}), ...(o.labels ? { labels: o.labels } : {}) });
      const replicas = o.replicas ?? 1;
      if (replicas !== 1) await provider.scale(name, replicas);
      await until(async () => (await provider.endpoints(name)).length === replicas, 30_000, `${opts.name}: ${name} has ${replicas} ready replica(s)`);
    },
    async gateway(more) {
      const g = await startGateway(env(more), { provider });
      extra.push(g);
      return g;
    },
    async metrics() {
      return (await request(`${running.url}/metrics`)).body.text();
    },
    stopGateway() {
      gatewayStopped ??= (async () => {
        await worker?.close();
        await running.close();
      })();
      return gatewayStopped;
    },
    async close() {
      await layer.stopGateway();
      for (const g of extra) await g.close();
      await queue?.close();
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return layer;
}

/** One call; the answer with the offload headers. */
export async function call(
  url: string,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; layer?: string; offload?: string; hops?: string; error?: string; callId?: string }> {
  const res = await request(url, {
    method: (opts.method ?? (opts.body === undefined ? 'GET' : 'POST')) as 'GET',
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const h = (k: string) => {
    const v = res.headers[k];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  return {
    status: res.statusCode,
    text: await res.body.text(),
    ...(h('x-faas-ts-layer') !== undefined ? { layer: h('x-faas-ts-layer') } : {}),
    ...(h('x-faas-ts-offload') !== undefined ? { offload: h('x-faas-ts-offload') } : {}),
    ...(h('x-faas-ts-hops') !== undefined ? { hops: h('x-faas-ts-hops') } : {}),
    ...(h('x-faas-ts-offload-error') !== undefined ? { error: h('x-faas-ts-offload-error') } : {}),
    ...(h('x-call-id') !== undefined ? { callId: h('x-call-id') } : {}),
  };
}
