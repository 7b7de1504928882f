import t from 'tap';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../test/helpers.js';
import { createFileQueue, createQueueWorker, type Delivery, type FileQueue } from './index.js';
import { queueRequest, startRecordingServer } from './test-support.js';

function tmp(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qw-fq-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function drain(q: FileQueue, n: number): Promise<Delivery[]> {
  const src = q.source();
  const out: Delivery[] = [];
  while (out.length < n) out.push((await src.next())!);
  return out;
}

const text = (d: Delivery) => Buffer.from(d.data).toString();

t.test('enqueue, consume in order, ack; unacked messages survive a reopen', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir });
  for (let i = 0; i < 5; i++) await q.enqueueRaw(Buffer.from(`m${i}`));
  const ds = await drain(q, 3);
  t.same(ds.map(text), ['m0', 'm1', 'm2']);
  t.same(ds.map((d) => d.attempt), [1, 1, 1]);
  await ds[0]!.ack();
  await ds[2]!.ack();
  t.match(q.stats(), { live: 3, ready: 2, leased: 1 });
  await q.close();

  q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  t.match(q.stats(), { live: 3, ready: 3, leased: 0 });
  const again = await drain(q, 3);
  t.same(again.map(text), ['m1', 'm3', 'm4']);
  t.same(again.map((d) => d.attempt), [2, 1, 1], 'the delivery before the restart counts');
  await Promise.all(again.map((d) => d.ack()));
  t.equal(q.stats().live, 0);
});

t.test('a second opener is refused while the owner lives; a stale lock is taken over', async (t) => {
  const dir = tmp(t);
  const q = await createFileQueue({ dir });
  await t.rejects(createFileQueue({ dir }), { code: 'QW_ERR_LOCKED' });
  await q.close();
  appendFileSync(join(dir, 'LOCK'), '999999999'); // a pid that does not exist
  const q2 = await createFileQueue({ dir });
  await q2.close();
});

t.test('a torn record at the end of the last segment is cut off; earlier ones stay', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir });
  await q.enqueueRaw(Buffer.from('first'));
  await q.enqueueRaw(Buffer.from('second'));
  await q.close();
  const seg = join(dir, 'segments', readdirSync(join(dir, 'segments'))[0]!);
  const before = statSync(seg).size;
  appendFileSync(seg, Buffer.from([0, 0, 0, 50, 1, 2, 3, 4, 0, 0, 0])); // header promising 50 bytes, 3 present
  q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  t.equal(statSync(seg).size, before, 'truncated back to the last whole record');
  t.same((await drain(q, 2)).map(text), ['first', 'second']);
  await q.enqueueRaw(Buffer.from('third'));
  t.same((await drain(q, 1)).map(text), ['third'], 'appends continue after the cut');
});

t.test('retry(delay) is honoured and persisted across a reopen', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir });
  await q.enqueueRaw(Buffer.from('later'));
  const [d] = await drain(q, 1);
  await d!.retry(600);
  t.match(q.stats(), { delayed: 1 });
  await q.close();
  q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  t.match(q.stats(), { delayed: 1, ready: 0 }, 'still waiting after the reopen');
  const start = Date.now();
  const [again] = await drain(q, 1);
  t.equal(text(again!), 'later');
  t.equal(again!.attempt, 2);
  t.ok(Date.now() - start < 2000);
  await again!.ack();
});

t.test('dead letters: stored with the reason, listed, replayed, discarded, across reopen', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir });
  await q.enqueueRaw(Buffer.from([0xff, 0x00, 0x41]));
  await q.enqueueRaw(Buffer.from('{"Function":"f"}'));
  const [a, b] = await drain(q, 2);
  await a!.deadLetter({ reason: 'malformed', detail: 'not JSON', attempts: 1 });
  await b!.deadLetter({ reason: 'max-attempts', detail: 'function answered 500', attempts: 3, lastStatus: 500, function: 'f' });
  t.equal(q.stats().live, 0);
  await q.close();

  q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  const list = await q.deadLetters.list();
  t.equal(list.length, 2);
  t.match(list[1], { id: '2', reason: 'max-attempts', attempts: 3, lastStatus: 500, function: 'f', payload: '{"Function":"f"}' });
  t.notOk('payloadBase64' in list[0]!);
  t.equal(await q.deadLetters.replay(['1']), 1);
  const [back] = await drain(q, 1);
  t.same(Buffer.from(back!.data), Buffer.from([0xff, 0x00, 0x41]), 'replayed byte for byte');
  t.equal(back!.attempt, 1, 'a replay starts with fresh attempts');
  await back!.ack();
  t.equal(await q.deadLetters.discard(['2', '77']), 1);
  t.same(await q.deadLetters.list(), []);
  await t.rejects(q.deadLetters.replay(['2']), { code: 'QW_ERR_NOT_FOUND' });
});

t.test('segments roll and are deleted once done; the journal compacts; state survives', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir, segmentBytes: 2000, journalCompactBytes: 2000, fsync: 'never' });
  const N = 600;
  for (let i = 0; i < N; i += 20) {
    // 20 at a time: one group commit each, so segments roll between them.
    await Promise.all(
      Array.from({ length: 20 }, (_, j) => q.enqueueRaw(Buffer.from(`message-${String(i + j).padStart(4, '0')}-${'x'.repeat(40)}`))),
    );
  }
  t.ok(q.stats().segments > 5, `rolled into ${q.stats().segments} segments`);
  const ds = await drain(q, N);
  // Ack all but every 50th.
  await Promise.all(ds.filter((_, i) => i % 50 !== 0).map((d) => d.ack()));
  await until(() => readdirSync(join(dir, 'segments')).length < q.stats().segments + 1, 2000, 'segments dropped');
  const journalBytes = statSync(join(dir, 'journal.log')).size;
  t.ok(journalBytes < 4000, `journal was compacted (${journalBytes} bytes)`);
  await q.close();
  t.ok(readdirSync(join(dir, 'segments')).length <= 13, 'done segments deleted');
  q = await createFileQueue({ dir, fsync: 'never' });
  t.teardown(() => q.close());
  t.equal(q.stats().live, N / 50);
  const left = await drain(q, N / 50);
  t.same(
    left.map((d) => text(d).slice(0, 12)),
    Array.from({ length: N / 50 }, (_, i) => `message-${String(i * 50).padStart(4, '0')}`),
  );
  await q.enqueueRaw(Buffer.from('new'));
  const [fresh] = await drain(q, 1);
  t.equal(text(fresh!), 'new');
  t.ok(Number(fresh!.id) > N, 'sequence numbers keep growing after a reopen');
});

t.test('oversized messages are refused; enqueue after close is refused', async (t) => {
  const dir = tmp(t);
  const q = await createFileQueue({ dir, maxMsgBytes: 10 });
  await t.rejects(q.enqueueRaw(Buffer.alloc(11)), { code: 'QW_ERR_TOO_LARGE' });
  await q.close();
  await t.rejects(q.enqueueRaw(Buffer.alloc(1)), { code: 'QW_ERR_CLOSED' });
});

t.test('worker on the file queue: retries, callback, malformed → dead letter', async (t) => {
  const dir = tmp(t);
  const fn = await startRecordingServer((_r, res, n) => (n === 1 ? res.writeHead(502).end() : res.writeHead(200).end('yes')));
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const q = await createFileQueue({ dir });
  const worker = createQueueWorker({ source: q.source(), gatewayUrl: fn.url, concurrency: 4, retry: { initialDelayMs: 50 } });
  t.teardown(async () => {
    await worker.close();
    await q.close();
  });
  await q.enqueueRaw(Buffer.from('garbage'));
  await q.enqueue(queueRequest('fq', 'hi', { callbackUrl: cb.url, callId: 'fq-1' }) as never);
  await until(() => cb.requests.length === 1, 10_000, 'callback');
  t.equal(fn.requests.length, 2);
  t.equal(cb.requests[0]!.headers['x-function-status'], '200');
  t.equal(cb.requests[0]!.headers['x-call-id'], 'fq-1');
  await until(() => q.stats().live === 0, 5000, 'queue empty');
  const dl = await q.deadLetters.list();
  t.equal(dl.length, 1);
  t.match(dl[0], { reason: 'malformed', payload: 'garbage' });
});

t.test('journal compaction while enqueues and acks interleave loses nothing', async (t) => {
  const dir = tmp(t);
  let q = await createFileQueue({ dir, journalCompactBytes: 300, segmentBytes: 4000 });
  const src = q.source();
  const acked = new Set<string>();
  const all = new Set<string>();
  let consumed = 0;
  const consumer = (async () => {
    while (consumed < 1500) {
      const d = (await src.next())!;
      consumed++;
      const body = text(d);
      // Ack two of three; leave the rest leased (they stay live).
      if (consumed % 3 !== 0) {
        await d.ack();
        acked.add(body);
      }
    }
  })();
  for (let i = 0; i < 2000; i += 25) {
    await Promise.all(
      Array.from({ length: 25 }, (_, j) => {
        all.add(`n${i + j}`);
        return q.enqueueRaw(Buffer.from(`n${i + j}`));
      }),
    );
  }
  await consumer;
  await q.close();
  q = await createFileQueue({ dir });
  t.teardown(() => q.close());
  const expected = [...all].filter((b) => !acked.has(b)).sort();
  const left = (await drain(q, q.stats().live)).map(text).sort();
  t.equal(left.length, expected.length);
  t.same(left, expected, 'exactly the unacked messages are back');
});
