/**
 * Crash tests with real processes: the queue worker runs as a child process
 * (queue-worker/main.ts) and is killed with SIGKILL in the middle of 2,000
 * queued calls, then restarted. Every call must run at least once and get a
 * callback. Same for the embedded file queue, plus a producer killed while
 * enqueuing: every enqueue that resolved must still be in the queue.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { until } from '../test/helpers.js';
import { createFileQueue, createJetStreamQueuer } from './index.js';
import { adopt, queueRequest, startNats, startRecordingServer, stopChild, type RecordingServer } from './test-support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TOTAL = 2000;

function spawnWorker(env: Record<string, string>, logDir: string, tag: string): ChildProcess {
  const log = openSync(join(logDir, `worker-${tag}.log`), 'a');
  return adopt(
    spawn(process.execPath, ['--import', 'tsx', join(root, 'queue-worker/main.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', log, log],
    }),
  );
}

async function kill9(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGKILL');
  await gone;
}

/** A function that echoes its body after a short pause, and a callback sink. */
async function servers(t: { teardown(fn: () => unknown): void }) {
  const executed = new Map<string, number>();
  const fn = await startRecordingServer(async (req, res) => {
    const id = req.body.toString();
    executed.set(id, (executed.get(id) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 2));
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`done ${id}`);
  });
  const callbacks = new Map<string, number>();
  const cb = await startRecordingServer((req, res) => {
    const id = String(req.headers['x-call-id']);
    callbacks.set(id, (callbacks.get(id) ?? 0) + 1);
    res.writeHead(200).end();
  });
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  return { fn, cb, executed, callbacks };
}

function gatewayEnv(fn: RecordingServer): Record<string, string> {
  const u = new URL(fn.url);
  return { faas_gateway_address: u.hostname, faas_gateway_port: u.port };
}

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

t.test('file queue: kill -9 the consumer mid-way through 2,000 calls, restart, nothing lost', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qw-crash-fq-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { fn, cb, executed, callbacks } = await servers(t);
  const q = await createFileQueue({ dir: join(dir, 'queue') });
  await Promise.all(
    Array.from({ length: TOTAL }, (_, i) =>
      q.enqueue(queueRequest('crashy', `id-${i}`, { callbackUrl: `${cb.url}/cb`, callId: `id-${i}` }) as never),
    ),
  );
  await q.close();

  const env = { ...gatewayEnv(fn), queue_dir: join(dir, 'queue'), max_inflight: '20', initial_retry_wait: '100ms' };
  const first = spawnWorker(env, dir, '1');
  t.teardown(() => stopChild(first));
  await until(() => executed.size >= 500, 30_000, '500 calls executed by the first worker');
  await kill9(first);
  const atKill = executed.size;
  t.ok(atKill < TOTAL, `killed after ${atKill} of ${TOTAL}`);

  const second = spawnWorker(env, dir, '2');
  t.teardown(() => stopChild(second));
  await until(() => executed.size === TOTAL && callbacks.size === TOTAL, 45_000, 'every call executed with a callback');
  const dups = [...executed.values()].filter((n) => n > 1).length;
  t.comment(`duplicates (at-least-once, in flight at the kill): ${dups}`);
  t.ok(dups <= 100, 'duplicates bounded by what was in flight');
  const exit = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
  second.kill('SIGTERM');
  t.equal(await exit, 0, 'SIGTERM drains and exits 0');

  const reopened = await createFileQueue({ dir: join(dir, 'queue') });
  t.teardown(() => reopened.close());
  t.equal(reopened.stats().live, 0, 'nothing left in the queue');
  t.same(await reopened.deadLetters.list(), [], 'nothing dead-lettered');
});

t.test('file queue: a producer killed while enqueuing loses no acknowledged message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qw-crash-prod-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = adopt(
    spawn(process.execPath, ['--import', 'tsx', join(root, 'queue-worker/testdata/enqueue-child.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', QUEUE_DIR: dir, COUNT: '200000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  t.teardown(() => stopChild(child));
  const acked = new Set<number>();
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.startsWith('ok ')) acked.add(Number(l.slice(3)));
  });
  await until(() => acked.size >= 3000, 30_000, '3,000 durable enqueues');
  await kill9(child);
  t.ok(acked.size < 200000, `killed after ${acked.size} acknowledged enqueues`);

  const q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  const src = q.source();
  const found = new Set<number>();
  const live = q.stats().live;
  for (let i = 0; i < live; i++) {
    const d = (await src.next())!;
    const body = Buffer.from(JSON.parse(Buffer.from(d.data).toString()).Body, 'base64').toString();
    found.add(Number(body.slice(1)));
    await d.ack();
  }
  const missing = [...acked].filter((i) => !found.has(i));
  t.same(missing, [], 'every acknowledged enqueue survived the kill');
  t.ok(found.size >= acked.size);
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
