/**
 * Async invocation throughput benchmark (not a test): NATS JetStream vs the
 * embedded file queue, for a hello function.
 *
 *   npx tsx bench/async.ts [count]        (default 20,000 calls per run)
 *
 * Per backend, four bounded runs of `count` calls each:
 *   0. enqueue():  the RequestQueuer API directly (256 in flight), no HTTP; the
 *                  backlog is then drained and not timed.
 *   1. enqueue:    autocannon POSTs /async-function/hello to a gateway made of
 *                  the real async route plugin (202 = durably stored); no worker.
 *   2. drain:      a queue worker (max_inflight 64) empties that backlog through
 *                  the gateway's /function/hello (answers "Hello"); completion
 *                  rate = count / time until the last invocation.
 *   3. end to end: worker running while autocannon enqueues; time from the first
 *                  request to the last invocation.
 * A reference row runs the same route with a queue that stores nothing: the
 * HTTP ceiling of the machine, which bounds every HTTP enqueue figure.
 * "lost" = calls answered 202 that were never invoked (after the queue reports
 * empty). Gateway and worker share the main thread (as in `npm start`);
 * autocannon runs in a worker thread; nats-server is its own process; 2 cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { connect } from 'nats';
import type { RequestQueuer } from '../provider/index.js';
import { asyncFunctionRoutes } from '../gateway/routes/async-function.js';
import {
  createFileQueue,
  createJetStreamQueuer,
  createJetStreamSource,
  createQueueWorker,
  type QueueSource,
} from '../queue-worker/index.js';
import { startNats } from '../queue-worker/test-support.js';

const COUNT = Number(process.argv[2] ?? 20_000);
const CONNECTIONS = 64;
const INFLIGHT = 64;

interface Row {
  backend: string;
  run: string;
  count: number;
  seconds: number;
  rate: number;
  non202: number;
  lost: number;
}

async function gateway(queue: RequestQueuer, invoked: { n: number }): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  await app.register(asyncFunctionRoutes({ queue, maxBodyBytes: 256_000 }));
  app.post('/function/hello', async (_req, reply) => {
    invoked.n++;
    return reply.type('text/plain').send('Hello');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

async function enqueueLoad(url: string, amount: number): Promise<{ seconds: number; non202: number }> {
  const start = process.hrtime.bigint();
  const result = await autocannon({
    url: `${url}/async-function/hello`,
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'world',
    connections: CONNECTIONS,
    amount,
    timeout: 30,
    // The load generator gets its own thread (and core), not the gateway's.
    workers: 1,
  });
  void start;
  // autocannon's own clock: from its first request to its last answer (thread start-up excluded).
  const seconds = result.duration;
  const ok = result.statusCodeStats?.['202' as keyof typeof result.statusCodeStats]?.count ?? 0;
  return { seconds, non202: amount - Number(ok) };
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out (${String(check)})`);
    if (process.env.BENCH_DEBUG) console.error('waiting', debugState());
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Backend {
  name: string;
  queue: RequestQueuer;
  /** A fresh consumer (a stopped one cannot be restarted). */
  source(): Promise<QueueSource>;
  empty(): Promise<boolean>;
  deadLetters(): Promise<number>;
  close(): Promise<void>;
}

async function runBackend(b: Backend, rows: Row[]): Promise<void> {
  const invoked = { n: 0 };
  const gw = await gateway(b.queue, invoked);
  try {
    // 0. the queue's own capacity: RequestQueuer.enqueue() with 256 in flight, no HTTP.
    {
      const body = Buffer.from('world').toString('base64');
      const t0 = process.hrtime.bigint();
      const inFlight = new Set<Promise<void>>();
      let failed = 0;
      for (let i = 0; i < COUNT; i++) {
        const p = b.queue
          .enqueue({ Function: 'hello', Method: 'POST', Body: body, Header: { 'X-Call-Id': [`direct-${i}`], 'Content-Type': ['text/plain'] } })
          .catch(() => void failed++);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        if (inFlight.size >= 256) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      rows.push({ backend: b.name, run: 'enqueue() API, 256 in flight', count: COUNT, seconds: secs, rate: COUNT / secs, non202: failed, lost: NaN });
      const worker = createQueueWorker({ source: await b.source(), gatewayUrl: gw.url, concurrency: INFLIGHT });
      await waitFor(() => invoked.n >= COUNT - failed, 120_000);
      await waitFor(() => b.empty(), 30_000);
      await worker.close();
      invoked.n = 0;
    }

    // 1. enqueue only
    const e = await enqueueLoad(gw.url, COUNT);
    rows.push({ backend: b.name, run: 'enqueue (no worker)', count: COUNT, seconds: e.seconds, rate: COUNT / e.seconds, non202: e.non202, lost: NaN });

    // 2. drain the backlog
    let start = process.hrtime.bigint();
    let worker = createQueueWorker({ source: await b.source(), gatewayUrl: gw.url, concurrency: INFLIGHT });
    debugState = () => ({ invoked: invoked.n, ...worker.stats() });
    await waitFor(() => invoked.n >= COUNT - e.non202, 120_000);
    let seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await waitFor(() => b.empty(), 30_000);
    rows.push({ backend: b.name, run: 'drain backlog (worker)', count: COUNT, seconds, rate: COUNT / seconds, non202: 0, lost: Math.max(0, COUNT - e.non202 - invoked.n) });
    await worker.close();

    // 3. end to end, worker running while enqueueing
    invoked.n = 0;
    worker = createQueueWorker({ source: await b.source(), gatewayUrl: gw.url, concurrency: INFLIGHT });
    start = process.hrtime.bigint();
    const e2 = await enqueueLoad(gw.url, COUNT);
    const accepted = COUNT - e2.non202;
    await waitFor(() => invoked.n >= accepted, 120_000);
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await waitFor(() => b.empty(), 30_000);
    rows.push({ backend: b.name, run: 'end to end (enqueue ‖ worker)', count: COUNT, seconds, rate: COUNT / seconds, non202: e2.non202, lost: Math.max(0, accepted - invoked.n) });
    rows.push({ backend: b.name, run: `  … enqueue rate during that run`, count: COUNT, seconds: e2.seconds, rate: COUNT / e2.seconds, non202: e2.non202, lost: NaN });
    await worker.close();
    const dl = await b.deadLetters();
    if (dl > 0) console.error(`${b.name}: ${dl} dead letters`);
  } finally {
    await gw.app.close();
  }
}

const rows: Row[] = [];

// Reference: the same route with a queue that stores nothing (the HTTP ceiling of this machine).
{
  const gw = await gateway({ enqueue: async () => undefined, close: async () => undefined }, { n: 0 });
  const e = await enqueueLoad(gw.url, COUNT);
  rows.push({ backend: 'none (no-op queue)', run: 'HTTP ceiling: same route, nothing stored', count: COUNT, seconds: e.seconds, rate: COUNT / e.seconds, non202: e.non202, lost: NaN });
  await gw.app.close();
}
let debugState: () => unknown = () => '';

{
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  const queue = await createJetStreamQueuer({ servers: nats.url });
  const sources: Array<{ close(): Promise<void> }> = [];
  try {
    await runBackend(
      {
        name: 'NATS JetStream',
        queue,
        source: async () => {
          const s = await createJetStreamSource({ servers: nats.url, ackWaitMs: 30_000, batch: INFLIGHT, maxAckPending: INFLIGHT * 4 });
          sources.push(s);
          return s;
        },
        empty: async () => {
          const ci = await jsm.consumers.info('faas-request', 'faas');
          return ci.num_pending === 0 && ci.num_ack_pending === 0;
        },
        deadLetters: async () => (await jsm.streams.info('faas-request_DLQ')).state.messages,
        close: async () => undefined,
      },
      rows,
    );
  } finally {
    await queue.close();
    for (const s of sources) await s.close();
    await nc.close();
    await nats.stop();
  }
}

{
  const dir = mkdtempSync(join(tmpdir(), 'bench-fq-'));
  const fq = await createFileQueue({ dir });
  try {
    await runBackend(
      {
        name: 'file queue (fsync)',
        queue: fq,
        source: async () => fq.source(),
        empty: async () => fq.stats().live === 0,
        deadLetters: async () => (await fq.deadLetters.list()).length,
        close: async () => undefined,
      },
      rows,
    );
  } finally {
    await fq.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
console.log(`\nAsync invocation, hello function, ${fmt(COUNT)} calls per run, ${CONNECTIONS} client connections, worker max_inflight ${INFLIGHT}\n`);
console.log('| backend | run | calls | seconds | msg/s | failed / non-202 | lost |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.run} | ${fmt(r.count)} | ${fmt(r.seconds, 2)} | ${fmt(r.rate)} | ${fmt(r.non202)} | ${fmt(r.lost)} |`);
}
process.exit(0);
