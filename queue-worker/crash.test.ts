/**
 * Crash tests with real processes on JetStream: the queue worker runs as a
 * child process (queue-worker/main.ts) and is killed with SIGKILL in the
 * middle of 2,000 queued calls, then restarted; every call must run at least
 * once and get a callback. Also: queued work across a nats-server restart,
 * and a running worker riding through one.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { until } from '../test/helpers.js';
import { createJetStreamQueuer } from './index.js';
import { gatewayEnv, kill9, queueRequest, servers, spawnWorker, startNats, stopChild } from './test-support.js';

const TOTAL = 2000;

t.test('JetStream: kill -9 the worker mid-way through 2,000 calls, restart, nothing lost', async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const logDir = mkdtempSync(join(tmpdir(), 'qw-crash-'));
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const { fn, cb, executed, callbacks } = await servers(t);

  const queuer = await createJetStreamQueuer({ servers: nats.url });
  const pubs: Promise<void>[] = [];
  for (let i = 0; i < TOTAL; i++) {
    pubs.push(queuer.enqueue(queueRequest('crashy', `id-${i}`, { callbackUrl: `${cb.url}/cb`, callId: `id-${i}` }) as never));
  }
  await Promise.all(pubs);
  await queuer.close();

  const port = new URL(nats.url).port;
  const env = {
    ...gatewayEnv(fn),
    faas_nats_address: '127.0.0.1',
    faas_nats_port: port,
    max_inflight: '20',
    ack_wait: '2s',
    max_retry_attempts: '5',
    initial_retry_wait: '100ms',
  };
  const first = spawnWorker(env, logDir, '1');
  t.teardown(() => stopChild(first));
  await until(() => executed.size >= 500, 30_000, '500 calls executed by the first worker');
  await kill9(first);
  const atKill = executed.size;
  t.ok(atKill < TOTAL, `killed after ${atKill} of ${TOTAL}`);

  const second = spawnWorker(env, logDir, '2');
  t.teardown(() => stopChild(second));
  await until(() => executed.size === TOTAL && callbacks.size === TOTAL, 45_000, 'every call executed with a callback');
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await until(
    async () => {
      const ci = await jsm.consumers.info('faas-request', 'faas');
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    15_000,
    'consumer drained',
  );
  t.equal((await jsm.streams.info('faas-request')).state.messages, 0, 'work stream empty');
  t.equal((await jsm.streams.info('faas-request_DLQ')).state.messages, 0, 'nothing dead-lettered');
  const dups = [...executed.values()].filter((n) => n > 1).length;
  t.comment(`duplicates (at-least-once, in flight at the kill): ${dups}`);
  t.ok(dups <= 100, 'duplicates bounded by what was in flight');
  t.equal(fn.requests.length, TOTAL + [...executed.values()].reduce((a, n) => a + n - 1, 0));

  // Graceful drain on SIGTERM: exits 0.
  const exit = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
  second.kill('SIGTERM');
  t.equal(await exit, 0, 'SIGTERM drains and exits 0');
});

t.test('JetStream: queued work survives a nats-server restart and a new gateway publisher', async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const { fn, cb, executed, callbacks } = await servers(t);
  // "Gateway" #1 queues 100 calls and goes away.
  const first = await createJetStreamQueuer({ servers: nats.url });
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => first.enqueue(queueRequest('later', `r-${i}`, { callbackUrl: cb.url, callId: `r-${i}` }) as never)),
  );
  await first.close();
  await nats.restart();
  // "Gateway" #2 (a restarted gateway) queues 100 more against the restarted server.
  const second = await createJetStreamQueuer({ servers: nats.url });
  t.teardown(() => second.close());
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => second.enqueue(queueRequest('later', `s-${i}`, { callbackUrl: cb.url, callId: `s-${i}` }) as never)),
  );
  const logDir = mkdtempSync(join(tmpdir(), 'qw-restart-'));
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const worker = spawnWorker(
    { ...gatewayEnv(fn), faas_nats_address: '127.0.0.1', faas_nats_port: new URL(nats.url).port, max_inflight: '10', ack_wait: '2s' },
    logDir,
    'r',
  );
  t.teardown(() => stopChild(worker));
  await until(() => executed.size === 200 && callbacks.size === 200, 30_000, 'all 200 executed');
  t.ok([...executed.keys()].some((k) => k.startsWith('r-')), 'messages queued before the restart ran');
});

t.test('JetStream: a running worker rides through a nats-server restart', async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const { fn, executed } = await servers(t);
  const q = await createJetStreamQueuer({ servers: nats.url });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => q.enqueue(queueRequest('steady', `m-${i}`) as never)));
  await q.close();
  const { createJetStreamSource, createQueueWorker } = await import('./index.js');
  const source = await createJetStreamSource({ servers: nats.url, ackWaitMs: 2000, batch: 10, maxAckPending: 10, reconnectTimeWaitMs: 200 });
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, concurrency: 10 });
  t.teardown(async () => {
    await worker.close();
    await source.close();
  });
  await until(() => executed.size >= 300, 20_000, '300 executed');
  await nats.restart();
  await until(() => executed.size === 1000, 40_000, 'all 1,000 executed after the restart');
  t.equal(worker.stats().deadLettered, 0);
});
