/**
 * Test and benchmark support for the connectors: a real mosquitto broker on
 * a loopback port, and a real faas-ts stack (gateway + provider-local with
 * bundled watchdogs + the durable file queue and its worker) with a few
 * functions. Not imported by the connectors themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Registry } from 'prom-client';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createFileQueue, createQueueWorker } from '../queue-worker/index.js';
import { freePort, until } from '../test/helpers.js';

export { freePort, until };

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Broker {
  port: number;
  url: string;
  start(): Promise<void>;
  /** Kill by pid and wait for the exit. */
  stop(): Promise<void>;
}

/** A mosquitto on 127.0.0.1 with a generated config (anonymous, no persistence). */
export async function createBroker(dir: string): Promise<Broker> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      // no cap on the per-client queue: a connector acking one message at a time must not lose a burst
      'max_queued_messages 0',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const broker: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const c = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child = c;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      let dead = false;
      void exited.then(() => (dead = true));
      await until(async () => {
        if (dead) throw new Error(`mosquitto exited: ${err}`);
        return canConnect(port);
      }, 10_000, 'mosquitto listening').catch((e: Error) => {
        throw new Error(`${e.message} ${err}`);
      });
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  await broker.start();
  return broker;
}

/** Appends one JSON line per call to RECORD_FILE: what arrived, and answers "ok <bytes>". */
export const RECORDER = `'use strict';
const { appendFileSync } = require('node:fs');
module.exports = async (event, context) => {
  const body = Buffer.isBuffer(event.body) ? event.body : Buffer.from(typeof event.body === 'string' ? event.body : '');
  appendFileSync(process.env.RECORD_FILE, JSON.stringify({
    topic: event.headers['x-topic'] || '',
    connector: event.headers['x-connector'] || '',
    body: body.toString('base64'),
  }) + '\\n');
  return context.status(200).succeed('ok ' + body.length);
};
`;

/** Upper-cases the body; method, query and content-type echoed in headers; ?status=N answers N; ?size=N answers N bytes. */
export const ECHO = `'use strict';
module.exports = async (event, context) => {
  const q = event.query || {};
  const body = Buffer.isBuffer(event.body) ? event.body : Buffer.from(typeof event.body === 'string' ? event.body : '');
  const headers = {
    'content-type': event.headers['content-type'] || 'text/plain',
    'x-method': event.method,
    'x-query': JSON.stringify(q),
    'x-path': event.path || '',
  };
  if (q.status) return context.status(Number(q.status)).headers(headers).succeed(body.toString('latin1').toUpperCase());
  if (q.size) return context.status(200).headers(headers).succeed(Buffer.alloc(Number(q.size), 'x'));
  if (q.fail) throw new Error('asked to fail');
  return context.status(200).headers(headers).succeed(Buffer.from(body.toString('latin1').toUpperCase(), 'latin1'));
};
`;

/** Always fails with 500. */
export const FAIL = `'use strict';
module.exports = async (event, context) => context.status(500).succeed('this function always fails');
`;

export interface Stack {
  url: string;
  credentials: { user: string; password: string };
  dataDir: string;
  deploy(spec: { service: string; image: string; annotations?: Record<string, string>; envVars?: Record<string, string> }): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

const RAW_ENV = {
  mode: 'inproc',
  inproc_handler: 'function/handler.js',
  exec_timeout: '10s',
  prefix_logs: 'false',
  RAW_BODY: 'true',
  MAX_RAW_SIZE: '8mb',
};

/** Gateway + provider-local + file queue + worker, bundles recorder:latest, echo:latest and fail:latest. */
export async function startStack(watchdogCommand: string[]): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conn-e2e-'));
  const credentials = { user: 'admin', password: 'conn-secret' };
  const provider = await createLocalProvider({ dataDir, watchdogCommand, timings: { stopGraceMs: 2000 } });
  const registry = new Registry();
  const queue = await createFileQueue({ dir: join(dataDir, 'queue') });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true' }), {
    provider,
    credentials,
    queue,
    registry,
  });
  const url = gw.url.replace(/\/+$/, '');
  const worker = createQueueWorker({ source: queue.source(), gatewayUrl: url, concurrency: 8, registry });
  for (const [image, code] of [['recorder:latest', RECORDER], ['echo:latest', ECHO], ['fail:latest', FAIL]] as const) {
    const src = join(dataDir, 'src', image.split(':')[0]!);
    await mkdir(join(src, 'function'), { recursive: true });
    await writeFile(join(src, 'function', 'handler.js'), code);
    await provider.bundles.add(image, src, RAW_ENV);
  }
  const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(url + path, {
      method: method as 'GET',
      headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  return {
    url,
    credentials,
    dataDir,
    async deploy(spec) {
      const res = await api('POST', '/system/functions', { labels: {}, annotations: {}, ...spec });
      if (res.status !== 202) throw new Error(`deploy ${spec.service}: ${res.status} ${res.text}`);
      await until(async () => {
        const s = await api('GET', `/system/function/${spec.service}`);
        return s.status === 200 && ((JSON.parse(s.text) as { availableReplicas?: number }).availableReplicas ?? 0) > 0;
      }, 30_000, `${spec.service} ready`);
    },
    async remove(name) {
      await api('DELETE', '/system/functions', { functionName: name });
    },
    async close() {
      await worker.close();
      await gw.close();
      await queue.close();
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
