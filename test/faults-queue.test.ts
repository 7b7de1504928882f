/**
 * Fault injection, async path on NATS JetStream with every piece real: a
 * nats-server process, the gateway (in this process) publishing
 * /async-function calls, a queue-worker child process invoking through that
 * gateway, and provider-local replicas running a function that counts its
 * executions through a side effect (an HTTP sink), while async calls keep
 * arriving. Faults: kill -9 of the worker, then kill -9 of nats-server
 * (restarted on the same port and storage).
 *
 * Expectation: every call answered 202 is executed at least once after
 * recovery (lost = 0); while nats-server is down the gateway answers a
 * bounded 5xx instead of 202 or a hang; duplicates are counted and reported.
 *
 * Then nats-server down for longer than faas_max_reconnect allows: the worker
 * must exit non-zero with a log line (it used to end silently with status
 * 0), and the gateway's publisher must reconnect once the server is back (it
 * used to fail every enqueue until restarted).
 *
 * Already covered elsewhere (not repeated): a worker killed while draining a
 * pre-filled stream, and a graceful (SIGTERM) nats-server restart with no
 * producer running (queue-worker/crash.test.ts).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createJetStreamQueuer } from '../queue-worker/index.js';
import { adopt, gatewayEnv, kill9, NATS_SERVER, queueRequest, servers, spawnWorker, stopChild } from '../queue-worker/test-support.js';
import { readFileSync } from 'node:fs';
import { describeCounts, diff, figure, startLoad, startSink, tally } from './faults-support.js';
import { freePort, until, watchdogCommand } from './helpers.js';

const COUNTER = `'use strict';
module.exports = async (event, context) => {
  const body = Buffer.isBuffer(event.body) ? event.body.toString() : String(event.body ?? '');
  const res = await fetch(process.env.sink_url, { method: 'POST', body });
  if (!res.ok) throw new Error('sink answered ' + res.status);
  return context.status(200).succeed('counted ' + body);
};
`;

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** nats-server -js on a fixed port and storage dir, killable with -9 and restartable. */
async function natsServer(port: number, dir: string): Promise<ChildProcess> {
  const child = adopt(spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' }));
  await until(async () => child.exitCode !== null || (await tcpOpen(port)), 15_000, 'nats-server listening');
  if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
  return child;
}

t.test('JetStream async path: kill -9 of the queue-worker and of nats-server under load', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faults-queue-'));
  const natsPort = await freePort();
  let nats = await natsServer(natsPort, join(base, 'nats'));
  const sink = await startSink((_h, body) => body);
  const registry = new Registry();
  const provider = await createLocalProvider({ dataDir: join(base, 'data'), watchdogCommand: watchdogCommand(), registry, timings: { stopGraceMs: 3000 } });
  const queue = await createJetStreamQueuer({ servers: `nats://127.0.0.1:${natsPort}`, reconnectTimeWaitMs: 200, maxReconnectAttempts: -1 });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), { provider, queue, registry });
  const workers: ChildProcess[] = [];
  t.teardown(async () => {
    for (const w of workers) await stopChild(w, 2000);
    await gw.close();
    await queue.close();
    await provider.close();
    await stopChild(nats, 2000);
    await sink.close();
    await rm(base, { recursive: true, force: true });
  });

  await mkdir(join(base, 'src', 'function'), { recursive: true });
  await writeFile(join(base, 'src', 'function', 'handler.js'), COUNTER);
  await provider.bundles.add('counter:latest', join(base, 'src'), { mode: 'inproc', inproc_handler: 'function/handler.js', exec_timeout: '10s' });
  await provider.deploy({ service: 'counter', image: 'counter:latest', envVars: { sink_url: `${sink.url}/exec` }, labels: { 'com.openfaas.scale.min': '2' } });
  await until(async () => (await provider.get('counter'))?.availableReplicas === 2, 20_000, 'counter ready');

  const gwPort = new URL(gw.url).port;
  const workerEnv = {
    faas_gateway_address: '127.0.0.1',
    faas_gateway_port: gwPort,
    faas_nats_address: '127.0.0.1',
    faas_nats_port: String(natsPort),
    faas_reconnect_delay: '200ms',
    faas_max_reconnect: '-1',
    max_inflight: '10',
    ack_wait: '2s',
    initial_retry_wait: '100ms',
    max_retry_wait: '1s',
  };
  const logDir = join(base, 'logs');
  await mkdir(logDir);
  const startWorker = (tag: string) => {
    const w = spawnWorker(workerEnv, logDir, tag);
    workers.push(w);
    return w;
  };
  let worker = startWorker('1');

  const accepted = new Set<string>();
  // Paced (each loop pauses 10 ms between calls) so the backlog stays a few thousand messages on a busy 2-core machine.
  const load = startLoad({
    concurrency: 3,
    maxCalls: 20_000,
    maxMs: 50_000,
    call: async (i) => {
      const id = `a-${i}`;
      const res = await request(`${gw.url}/async-function/counter`, { method: 'POST', body: id, headersTimeout: 30_000 });
      await res.body.dump();
      if (res.statusCode === 202) accepted.add(id);
      await new Promise((r) => setTimeout(r, 10));
      return res.statusCode;
    },
  });
  t.teardown(() => load.stop());
  const executedCount = () => [...accepted].filter((id) => sink.seen.has(id)).length;

  await t.test('kill -9 the queue-worker', async (t) => {
    await until(() => executedCount() >= 200, 20_000, '200 async calls executed');
    const l0 = load.snapshot();
    const killedAt = Date.now();
    await kill9(worker);
    worker = startWorker('2');
    const mark = executedCount();
    await until(() => executedCount() >= mark + 100, 20_000, 'the new worker executes');
    const recoveryMs = Date.now() - killedAt;
    const win = diff(load.snapshot(), l0);
    t.equal(win.failed, 0, `the gateway accepted every call while the worker was down (${describeCounts(win)})`);
    figure(t, 'kill -9 queue-worker (JetStream)', { enqueue: describeCounts(win), recoveryMs });
  });

  await t.test('kill -9 nats-server, restart it on the same storage', async (t) => {
    const l0 = load.snapshot();
    const acceptedAtKill = accepted.size;
    const killedAt = Date.now();
    await kill9(nats);
    // While it is down: the gateway answers, with a 5xx, not a 202 and not a hang.
    await until(() => load.counts.failed > l0.failed, 30_000, 'an enqueue failed while nats-server was down');
    const health = await request(`${gw.url}/healthz`);
    t.equal(health.statusCode, 200, '/healthz answers while nats-server is down');
    await health.body.dump();
    nats = await natsServer(natsPort, join(base, 'nats'));
    const mark = accepted.size;
    await until(() => accepted.size >= mark + 100, 30_000, 'enqueues accepted again after the restart');
    const recoveryMs = Date.now() - killedAt;
    const win = diff(load.snapshot(), l0);
    t.ok(Object.keys(win.byOutcome).every((k) => k === '202' || /^5\d\d$/.test(k)), `only 202 or 5xx (${describeCounts(win)})`);
    figure(t, 'kill -9 nats-server (JetStream)', { enqueue: describeCounts(win), acceptedAtKill, recoveryMs });
  });

  const final = await load.stop();
  await until(() => executedCount() === accepted.size, 45_000, 'every accepted async call executed').catch((err: Error) =>
    t.comment(`${err.message}: ${accepted.size - executedCount()} of ${accepted.size} not executed yet`),
  );
  const seen = new Map([...sink.seen].filter(([k]) => accepted.has(k)));
  const { lost, duplicates } = tally(accepted, seen);
  t.same(lost, [], 'no accepted async call lost');
  const metrics = await (await request(`${gw.url}/metrics`)).body.text();
  t.match(metrics, /gateway_function_invocation_total\{[^}]*function_name="counter\.openfaas-fn"[^}]*code="200"/, 'worker invocations are in the gateway metrics');
  figure(t, 'JetStream totals', { enqueue: describeCounts(final), accepted: accepted.size, executed: accepted.size - lost.length, lost: lost.length, duplicates });
});

t.test('nats-server down longer than faas_max_reconnect: the worker exits 1 loudly, the publisher reconnects', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faults-queue-lost-'));
  const natsPort = await freePort();
  let nats = await natsServer(natsPort, join(base, 'nats'));
  const { fn, executed } = await servers(t);
  const queue = await createJetStreamQueuer({ servers: `nats://127.0.0.1:${natsPort}`, maxReconnectAttempts: 2, reconnectTimeWaitMs: 200 });
  const workers: ChildProcess[] = [];
  t.teardown(async () => {
    for (const w of workers) await stopChild(w, 2000);
    await queue.close();
    await stopChild(nats, 2000);
    await rm(base, { recursive: true, force: true });
  });
  const env = {
    ...gatewayEnv(fn),
    faas_nats_address: '127.0.0.1',
    faas_nats_port: String(natsPort),
    faas_max_reconnect: '2',
    faas_reconnect_delay: '200ms',
    ack_wait: '2s',
  };
  const first = spawnWorker(env, base, '1');
  workers.push(first);
  await queue.enqueue(queueRequest('f', 'one') as never);
  await until(() => executed.has('one'), 15_000, 'executed before the outage');

  const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
  await kill9(nats);
  t.equal(await exited, 1, 'the worker exits 1 once it gives up on NATS');
  t.match(readFileSync(join(base, 'worker-1.log'), 'utf8'), /QW_ERR_CONNECTION_LOST/, 'and says why in its log');
  await t.rejects(queue.enqueue(queueRequest('f', 'down') as never), { code: 'QW_ERR_ENQUEUE' }, 'enqueue fails while NATS is down');

  nats = await natsServer(natsPort, join(base, 'nats'));
  // Was: CONNECTION_CLOSED on every enqueue until the process was restarted.
  await until(
    async () => {
      await queue.enqueue(queueRequest('f', 'two') as never);
      return true;
    },
    15_000,
    'the publisher reconnected',
  );
  workers.push(spawnWorker(env, base, '2'));
  // Generous: a loaded CI box needs a while to start the worker and for JetStream to recover its stream.
  await until(() => executed.has('two'), 45_000, 'executed after the outage by a restarted worker').catch((err: Error) => {
    t.comment(`worker-2 log:\n${readFileSync(join(base, 'worker-2.log'), 'utf8').slice(-3000)}`);
    throw err;
  });
  figure(t, 'nats-server down > faas_max_reconnect', { workerExit: 1, publisherReconnected: 'yes' });
});
