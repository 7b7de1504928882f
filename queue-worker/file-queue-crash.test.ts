/**
 * Crash tests with real processes on the embedded file queue: the consumer
 * (queue-worker/main.ts with queue_dir) is killed with SIGKILL in the middle
 * of 2,000 queued calls and restarted, and a producer is killed while
 * enqueuing: every enqueue that resolved must still be in the queue.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../test/helpers.js';
import { createFileQueue } from './index.js';
import { adopt, gatewayEnv, kill9, queueRequest, servers, spawnWorker, stopChild } from './test-support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TOTAL = 2000;

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
