import t from 'tap';
import { connect } from 'nats';
import { Registry } from 'prom-client';
import { until } from '../test/helpers.js';
import { createJetStreamQueuer, createJetStreamSource, createQueueWorker, type JetStreamSourceOptions } from './index.js';
import { queueRequest, startNats, startRecordingServer, type NatsServer } from './test-support.js';

let nats: NatsServer;
t.before(async () => {
  nats = await startNats();
});
t.teardown(() => nats?.stop());

let streamNo = 0;
/** A fresh stream + subject per test so tests do not see each other's messages. */
function names() {
  streamNo++;
  return { stream: `S${streamNo}`, subject: `faas-request-${streamNo}` };
}

async function setup(t: { teardown(fn: () => unknown): void }, extra: Partial<JetStreamSourceOptions> = {}) {
  const n = names();
  const queuer = await createJetStreamQueuer({ servers: nats.url, ...n });
  const source = await createJetStreamSource({ servers: nats.url, ...n, ackWaitMs: 1000, batch: 8, maxAckPending: 8, ...extra });
  t.teardown(async () => {
    await queuer.close();
    await source.close();
  });
  return { queuer, source, ...n };
}

t.test('enqueue → executed through /function → callback with upstream headers', async (t) => {
  const fn = await startRecordingServer((req, res) => {
    res.writeHead(201, { 'Content-Type': 'application/json', 'X-Fn': 'yes' }).end(JSON.stringify({ got: req.body.toString() }));
  });
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source } = await setup(t);
  const registry = new Registry();
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, concurrency: 2, registry });
  t.teardown(() => worker.close());

  await queuer.enqueue(
    queueRequest('echo.fns', 'hello', { callbackUrl: `${cb.url}/done?x=1`, callId: 'call-1', path: '/a/b', query: 'q=2' }),
  );
  await until(() => cb.requests.length === 1, 10_000, 'callback');
  t.equal(fn.requests.length, 1);
  const inv = fn.requests[0]!;
  t.equal(inv.method, 'POST');
  t.equal(inv.url, '/function/echo.fns/a/b?q=2');
  t.equal(inv.body.toString(), 'hello');
  t.equal(inv.headers['x-call-id'], 'call-1');
  t.equal(inv.headers['content-type'], 'text/plain');
  t.equal(inv.headers['user-agent'], 'faas-ts/queue-worker');

  const c = cb.requests[0]!;
  t.equal(c.method, 'POST');
  t.equal(c.url, '/done?x=1');
  t.equal(c.body.toString(), '{"got":"hello"}');
  t.equal(c.headers['x-call-id'], 'call-1');
  t.equal(c.headers['x-function-status'], '201');
  t.equal(c.headers['x-function-name'], 'echo.fns');
  t.match(c.headers['x-duration-seconds'], /^\d+\.\d{6}$/);
  t.equal(c.headers['x-fn'], 'yes', 'function response headers are copied');
  t.equal(c.headers['content-type'], 'application/json');

  await until(async () => (await source.pending!()) === 0 && worker.stats().acked === 1, 5000, 'acked');
  const text = await registry.metrics();
  t.match(text, /queue_worker_invocations_total\{function="echo.fns",code="201"\} 1/);
  t.match(text, /queue_worker_callbacks_total\{result="success"\} 1/);
});

t.test('retries injected 503 and 429, then succeeds; one callback', async (t) => {
  const fn = await startRecordingServer((_r, res, n) => {
    if (n === 1) res.writeHead(503).end('busy');
    else if (n === 2) res.writeHead(429).end('slow down');
    else res.writeHead(200).end('ok');
  });
  const cb = await startRecordingServer((_r, res) => res.writeHead(204).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source } = await setup(t);
  const registry = new Registry();
  const worker = createQueueWorker({
    source,
    gatewayUrl: fn.url,
    retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 400 },
    registry,
  });
  t.teardown(() => worker.close());
  await queuer.enqueue(queueRequest('flaky', 'x', { callbackUrl: cb.url, callId: 'c2' }));
  await until(() => cb.requests.length === 1, 10_000, 'callback');
  t.equal(fn.requests.length, 3, 'invoked three times');
  t.equal(cb.requests[0]!.headers['x-function-status'], '200');
  t.equal(cb.requests[0]!.body.toString(), 'ok');
  t.equal(worker.stats().retried, 2);
  const text = await registry.metrics();
  t.match(text, /queue_worker_retried_total\{function="flaky",reason="503"\} 1/);
  t.match(text, /queue_worker_retried_total\{function="flaky",reason="429"\} 1/);
  await until(() => worker.stats().acked === 1, 5000, 'acked');
  t.equal(cb.requests.length, 1, 'callback posted once');
});

t.test('a non-retryable status (400) is a result: callback, ack, no retry', async (t) => {
  const fn = await startRecordingServer((_r, res) => res.writeHead(400).end('bad input'));
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source } = await setup(t);
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, retry: { initialDelayMs: 50 } });
  t.teardown(() => worker.close());
  await queuer.enqueue(queueRequest('strict', 'x', { callbackUrl: cb.url }));
  await until(() => cb.requests.length === 1 && worker.stats().acked === 1, 10_000, 'callback');
  t.equal(fn.requests.length, 1);
  t.equal(cb.requests[0]!.headers['x-function-status'], '400');
  t.equal(cb.requests[0]!.headers['x-call-id'], undefined, 'no X-Call-Id when none was stored');
});

t.test('dead-letter after max attempts, list, then replay', async (t) => {
  let healthy = false;
  const fn = await startRecordingServer((_r, res) => (healthy ? res.writeHead(200).end('fine') : res.writeHead(500).end('boom')));
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source, stream } = await setup(t);
  const registry = new Registry();
  const worker = createQueueWorker({
    source,
    gatewayUrl: fn.url,
    retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 },
    registry,
  });
  t.teardown(() => worker.close());
  await queuer.enqueue(queueRequest('broken', 'payload', { callbackUrl: cb.url, callId: 'dl-1' }));
  await until(async () => (await source.deadLetters.list()).length === 1, 10_000, 'dead letter');
  t.equal(fn.requests.length, 3, 'tried maxAttempts times');
  t.equal(cb.requests.length, 1, 'one callback with the final failure');
  t.equal(cb.requests[0]!.headers['x-function-status'], '500');
  t.equal(cb.requests[0]!.body.toString(), 'boom');
  const [dl] = await source.deadLetters.list();
  t.match(dl, { reason: 'max-attempts', attempts: 3, lastStatus: 500, function: 'broken', detail: 'function answered 500' });
  t.match(JSON.parse(dl!.payload), { Function: 'broken', Header: { 'X-Call-Id': ['dl-1'] } });
  t.match(await registry.metrics(), /queue_worker_dead_lettered_total\{function="broken",reason="max-attempts"\} 1/);

  // Work stream is empty (terminated message removed), DLQ holds it.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await until(async () => (await jsm.streams.info(stream)).state.messages === 0, 5000, 'work stream empty');
  t.equal((await jsm.streams.info(`${stream}_DLQ`)).state.messages, 1);

  healthy = true;
  t.equal(await source.deadLetters.replay([dl!.id]), 1);
  await until(() => cb.requests.length === 2, 10_000, 'callback after replay');
  t.equal(cb.requests[1]!.headers['x-function-status'], '200');
  t.equal(cb.requests[1]!.headers['x-call-id'], 'dl-1');
  t.same(await source.deadLetters.list(), []);
  await t.rejects(source.deadLetters.replay(['999']), { code: 'QW_ERR_NOT_FOUND' });
});

t.test('transport errors count as 503: retried, then callback 503 with empty body and dead-letter', async (t) => {
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  const gone = await startRecordingServer();
  const deadUrl = gone.url;
  await gone.close();
  t.teardown(() => cb.close());
  const { queuer, source } = await setup(t);
  const worker = createQueueWorker({ source, gatewayUrl: deadUrl, retry: { maxAttempts: 2, initialDelayMs: 50 } });
  t.teardown(() => worker.close());
  await queuer.enqueue(queueRequest('nowhere', 'x', { callbackUrl: cb.url, callId: 't-1' }));
  await until(() => cb.requests.length === 1, 10_000, 'callback');
  t.equal(cb.requests[0]!.headers['x-function-status'], '503');
  t.equal(cb.requests[0]!.body.length, 0);
  await until(async () => (await source.deadLetters.list()).length === 1, 5000, 'dead letter');
  t.match((await source.deadLetters.list())[0], { reason: 'max-attempts', lastStatus: 503, attempts: 2 });
});

t.test('malformed messages are dead-lettered, not retried; the worker keeps going', async (t) => {
  const fn = await startRecordingServer();
  t.teardown(() => fn.close());
  const { queuer, source, stream } = await setup(t);
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, concurrency: 2 });
  t.teardown(() => worker.close());
  await queuer.publishRaw(Buffer.from('this is not json'));
  await queuer.publishRaw(Buffer.from('{"Function":""}'));
  await queuer.publishRaw(Buffer.from('{"Function":"x","Body":"***"}'));
  await queuer.publishRaw(Buffer.from([0xff, 0xfe, 0x00]));
  await queuer.enqueue(queueRequest('good', 'after'));
  await until(() => fn.requests.length === 1, 10_000, 'good message runs');
  await until(async () => (await source.deadLetters.list()).length === 4, 10_000, 'four dead letters');
  const dls = await source.deadLetters.list();
  t.ok(dls.every((d) => d.reason === 'malformed' && d.attempts === 1));
  t.equal(dls[0]!.payload, 'this is not json');
  t.match(dls[1]!.detail, /Function is missing/);
  t.match(dls[2]!.detail, /base64/);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await until(async () => (await jsm.streams.info(stream)).state.messages === 0, 5000, 'work stream empty');
  t.equal(worker.stats().received, 5, 'each malformed message was delivered exactly once');
  t.equal(await source.deadLetters.discard(dls.map((d) => d.id)), 4);
  t.same(await source.deadLetters.list(), []);
});

t.test('a function longer than ack_wait runs once (working() heartbeats)', async (t) => {
  const fn = await startRecordingServer(async (_r, res) => {
    await new Promise((r) => setTimeout(r, 3500));
    res.writeHead(200).end('slow');
  });
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source } = await setup(t); // ack_wait 1 s
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, concurrency: 2 });
  t.teardown(() => worker.close());
  await queuer.enqueue(queueRequest('slow', 'x', { callbackUrl: cb.url }));
  await until(() => cb.requests.length === 1, 15_000, 'callback');
  await until(() => worker.stats().acked === 1, 5000, 'acked');
  // If the heartbeat failed, the message would be redelivered after 1 s and run again.
  t.equal(fn.requests.length, 1);
  t.equal(worker.stats().received, 1);
});

t.test('per-function concurrency limit; other functions still flow', async (t) => {
  const running = new Map<string, number>();
  const maxSeen = new Map<string, number>();
  const fn = await startRecordingServer(async (req, res) => {
    const name = req.url.split('/')[2]!;
    running.set(name, (running.get(name) ?? 0) + 1);
    maxSeen.set(name, Math.max(maxSeen.get(name) ?? 0, running.get(name)!));
    await new Promise((r) => setTimeout(r, name === 'slowfn' ? 300 : 10));
    running.set(name, running.get(name)! - 1);
    res.writeHead(200).end();
  });
  t.teardown(() => fn.close());
  const { queuer, source } = await setup(t, { batch: 8, maxAckPending: 8 });
  const worker = createQueueWorker({ source, gatewayUrl: fn.url, concurrency: 4, perFunctionConcurrency: 1 });
  t.teardown(() => worker.close());
  for (let i = 0; i < 4; i++) await queuer.enqueue(queueRequest('slowfn', String(i)));
  for (let i = 0; i < 6; i++) await queuer.enqueue(queueRequest('fastfn', String(i)));
  await until(() => fn.requests.length === 10 && worker.stats().acked === 10, 15_000, 'all done');
  t.equal(maxSeen.get('slowfn'), 1);
  t.equal(maxSeen.get('fastfn'), 1);
  const fastDone = fn.requests.findIndex((r) => r.url.includes('fastfn'));
  t.ok(fastDone < 3, 'fastfn did not wait behind every slowfn call');
});

t.test('close() drains: running invocation finishes and is acked, not redelivered', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const fn = await startRecordingServer(async (_r, res) => {
    await gate;
    res.writeHead(200).end('done');
  });
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  const { queuer, source, stream } = await setup(t);
  const worker = createQueueWorker({ source, gatewayUrl: fn.url });
  await queuer.enqueue(queueRequest('drain', 'x', { callbackUrl: cb.url }));
  await until(() => fn.requests.length === 1, 10_000, 'started');
  const closing = worker.close();
  setTimeout(release, 200);
  await closing;
  t.equal(cb.requests.length, 1, 'callback sent before close resolved');
  t.equal(worker.stats().acked, 1);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await until(async () => (await jsm.streams.info(stream)).state.messages === 0, 5000, 'acked on the server');
});
