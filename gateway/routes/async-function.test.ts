import t from 'tap';
import Fastify from 'fastify';
import type { QueueRequest, RequestQueuer } from '../../provider/index.js';
import { asyncFunctionRoutes, canonicalHeaderName, toGoUrl } from './async-function.js';

/** A RequestQueuer that records what it is given, or fails on demand. */
function recordingQueue(fail?: Error): RequestQueuer & { items: QueueRequest[] } {
  const items: QueueRequest[] = [];
  return {
    items,
    async enqueue(req) {
      if (fail) throw fail;
      items.push(JSON.parse(JSON.stringify(req)) as QueueRequest);
    },
    async close() {},
  };
}

async function build(t: { teardown(fn: () => unknown): void }, queue: RequestQueuer, maxBodyBytes = 1024) {
  const app = Fastify();
  await app.register(asyncFunctionRoutes({ queue, maxBodyBytes, version: '1.2.3' }));
  t.teardown(() => app.close());
  return app;
}

t.test('POST is queued as a QueueRequest and answered 202 with call headers', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue);
  const res = await app.inject({
    method: 'POST',
    url: '/async-function/echo.fns/a/b?x=1&y=2',
    headers: { 'content-type': 'application/octet-stream', 'x-callback-url': 'http://cb.local:8888/done?k=v', authorization: 'Bearer z', host: 'gw:8080' },
    payload: Buffer.from([0, 1, 2, 255]),
  });
  t.equal(res.statusCode, 202);
  t.equal(res.body, '');
  t.match(res.headers['x-call-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.match(res.headers['x-start-time'], /^\d{19}$/);
  t.equal(res.headers['x-served-by'], 'openfaas-ce/1.2.3');
  t.equal(queue.items.length, 1);
  const q = queue.items[0]!;
  t.equal(q.Function, 'echo.fns');
  t.equal(q.Method, 'POST');
  t.equal(q.Path, '/a/b');
  t.equal(q.QueryString, 'x=1&y=2');
  t.equal(q.Host, 'gw:8080');
  t.equal(q.Body, Buffer.from([0, 1, 2, 255]).toString('base64'));
  t.same(q.Header!['X-Call-Id'], [res.headers['x-call-id']]);
  t.same(q.Header!['X-Start-Time'], [res.headers['x-start-time']]);
  t.same(q.Header!['X-Callback-Url'], ['http://cb.local:8888/done?k=v']);
  t.same(q.Header!['Authorization'], ['Bearer z']);
  t.same(q.Header!['Content-Type'], ['application/octet-stream']);
  t.notOk('Host' in q.Header!, 'Host is a field of its own, as in Go');
  t.same(q.CallbackUrl, {
    Scheme: 'http',
    Opaque: '',
    User: null,
    Host: 'cb.local:8888',
    Path: '/done',
    RawPath: '',
    OmitHost: false,
    ForceQuery: false,
    RawQuery: 'k=v',
    Fragment: '',
    RawFragment: '',
  });
});

t.test('a client X-Call-Id is kept and not echoed; X-Start-Time is appended', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue);
  const res = await app.inject({
    method: 'POST',
    url: '/async-function/fn',
    headers: { 'x-call-id': 'mine', 'x-start-time': '1' },
    payload: 'hi',
  });
  t.equal(res.statusCode, 202);
  t.equal(res.headers['x-call-id'], undefined);
  const q = queue.items[0]!;
  t.same(q.Header!['X-Call-Id'], ['mine']);
  t.same(q.Header!['X-Start-Time'], ['1', res.headers['x-start-time']]);
  t.notOk('Path' in q, 'empty Path omitted');
  t.notOk('QueryString' in q);
  t.notOk('CallbackUrl' in q, 'no callback when the header is absent');
  t.equal(Buffer.from(q.Body!, 'base64').toString(), 'hi');
});

t.test('trailing slash and empty body', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue);
  const res = await app.inject({ method: 'POST', url: '/async-function/fn/' });
  t.equal(res.statusCode, 202);
  t.equal(queue.items[0]!.Path, '/');
  t.notOk('Body' in queue.items[0]!);
});

t.test('other methods get an empty 405 on all three route shapes', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue);
  for (const url of ['/async-function/fn', '/async-function/fn/', '/async-function/fn/x/y']) {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url });
      t.equal(res.statusCode, 405, `${method} ${url}`);
      t.equal(res.body, '');
    }
  }
  t.equal(queue.items.length, 0);
});

t.test('an invalid function name is 404', async (t) => {
  const app = await build(t, recordingQueue());
  const res = await app.inject({ method: 'POST', url: '/async-function/bad%20name' });
  t.equal(res.statusCode, 404);
});

t.test('an X-Callback-Url that does not parse is 400 and nothing is queued', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue);
  const res = await app.inject({ method: 'POST', url: '/async-function/fn', headers: { 'x-callback-url': 'not a url' }, payload: 'x' });
  t.equal(res.statusCode, 400);
  t.match(res.body, /X-Callback-Url/);
  t.equal(queue.items.length, 0);
});

t.test('a body over maxBodyBytes is 413 with a clear message', async (t) => {
  const queue = recordingQueue();
  const app = await build(t, queue, 100);
  const res = await app.inject({ method: 'POST', url: '/async-function/fn', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(101) });
  t.equal(res.statusCode, 413);
  t.match(res.body, /limit for async invocations is 100 bytes/);
  const ok = await app.inject({ method: 'POST', url: '/async-function/fn', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(100) });
  t.equal(ok.statusCode, 202);
  t.equal(queue.items.length, 1);
});

t.test('an enqueue failure is 500 "Error queuing request: <err>"', async (t) => {
  const app = await build(t, recordingQueue(new Error('nats: connection closed')));
  const res = await app.inject({ method: 'POST', url: '/async-function/fn', payload: 'x' });
  t.equal(res.statusCode, 500);
  t.equal(res.body, 'Error queuing request: nats: connection closed\n');
});

t.test('a queue that refuses the size answers 413', async (t) => {
  const err = Object.assign(new Error('message of 2000 bytes exceeds the maximum'), { code: 'QW_ERR_TOO_LARGE' });
  const app = await build(t, recordingQueue(err));
  const res = await app.inject({ method: 'POST', url: '/async-function/fn', payload: 'x' });
  t.equal(res.statusCode, 413);
});

t.test('canonical header names and Go URL structs', async (t) => {
  t.equal(canonicalHeaderName('x-call-id'), 'X-Call-Id');
  t.equal(canonicalHeaderName('CONTENT-TYPE'), 'Content-Type');
  t.equal(canonicalHeaderName('www-authenticate'), 'Www-Authenticate');
  t.equal(canonicalHeaderName('bad header'), 'bad header');
  t.match(toGoUrl('https://h/a%20b?q=1#frag'), { Scheme: 'https', Host: 'h', Path: '/a b', RawPath: '/a%20b', RawQuery: 'q=1', Fragment: 'frag' });
  t.throws(() => toGoUrl('::nope'));
});

t.test('end to end: HTTP enqueue → queue → worker → /function → callback (file queue and JetStream)', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const qw = await import('../../queue-worker/index.js');
  const { startNats, startRecordingServer } = await import('../../queue-worker/test-support.js');
  const { until } = await import('../../test/helpers.js');

  const dir = mkdtempSync(join(tmpdir(), 'async-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const cb = await startRecordingServer((_r, res) => res.writeHead(200).end());
  t.teardown(() => cb.close());

  const fileQueue = await qw.createFileQueue({ dir });
  const jsQueuer = await qw.createJetStreamQueuer({ servers: nats.url });
  const jsSource = await qw.createJetStreamSource({ servers: nats.url, ackWaitMs: 2000 });
  t.teardown(async () => {
    await jsQueuer.close();
    await jsSource.close();
    await fileQueue.close();
  });

  for (const [label, queue, source] of [
    ['file', fileQueue, fileQueue.source()],
    ['jetstream', jsQueuer, jsSource],
  ] as const) {
    // A minimal gateway: the async plugin plus a /function route playing the function.
    const app = Fastify();
    await app.register(asyncFunctionRoutes({ queue, maxBodyBytes: 1 << 20 }));
    app.post('/function/*', async (request, reply) =>
      reply.header('x-echo-path', request.url).send(`${label}:${String(request.body)}`),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address() as { port: number };
    const worker = qw.createQueueWorker({ source, gatewayUrl: `http://127.0.0.1:${addr.port}`, concurrency: 4 });
    const before = cb.requests.length;
    const res = await fetch(`http://127.0.0.1:${addr.port}/async-function/hello/sub?z=9`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-callback-url': `${cb.url}/cb` },
      body: 'world',
    });
    t.equal(res.status, 202, label);
    const callId = res.headers.get('x-call-id');
    await until(() => cb.requests.length === before + 1, 10_000, `${label} callback`);
    const got = cb.requests[before]!;
    t.equal(got.body.toString(), `${label}:world`, `${label}: function output delivered`);
    t.equal(got.headers['x-call-id'], callId);
    t.equal(got.headers['x-function-name'], 'hello');
    t.equal(got.headers['x-function-status'], '200');
    t.equal(got.headers['x-echo-path'], '/function/hello/sub?z=9');
    await worker.close();
    await app.close();
  }
});

t.test('dead-letter admin routes: list, replay, discard', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { asyncDeadLetterRoutes } = await import('./async-function.js');
  const qw = await import('../../queue-worker/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'async-dlq-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fq = await qw.createFileQueue({ dir });
  t.teardown(() => fq.close());
  for (const body of ['{"Function":"a"}', '{"Function":"b"}', 'junk']) await fq.enqueueRaw(Buffer.from(body));
  const src = fq.source();
  for (let i = 0; i < 3; i++) {
    const d = (await src.next())!;
    await d.deadLetter({ reason: 'max-attempts', detail: 'function answered 500', attempts: 5, lastStatus: 500 });
  }
  const app = Fastify();
  await app.register(asyncDeadLetterRoutes({ deadLetters: fq.deadLetters }));
  t.teardown(() => app.close());

  const list = await app.inject({ method: 'GET', url: '/system/async-dead-letters' });
  t.equal(list.statusCode, 200);
  t.equal(list.json().length, 3);
  t.match(list.json()[0], { id: '1', reason: 'max-attempts', lastStatus: 500, payload: '{"Function":"a"}' });
  t.equal((await app.inject({ method: 'GET', url: '/system/async-dead-letters?limit=1' })).json().length, 1);
  t.equal((await app.inject({ method: 'GET', url: '/system/async-dead-letters?limit=x' })).statusCode, 400);

  const one = await app.inject({ method: 'POST', url: '/system/async-dead-letters/replay', payload: { ids: ['1'] } });
  t.same(one.json(), { replayed: 1 });
  t.equal(Buffer.from((await src.next())!.data).toString(), '{"Function":"a"}', 'back in the queue');
  t.equal((await app.inject({ method: 'POST', url: '/system/async-dead-letters/replay', payload: { ids: ['1'] } })).statusCode, 404);
  t.equal((await app.inject({ method: 'POST', url: '/system/async-dead-letters/replay', payload: { ids: 'x' } })).statusCode, 400);

  const del = await app.inject({ method: 'DELETE', url: '/system/async-dead-letters', payload: { ids: ['3'] } });
  t.same(del.json(), { discarded: 1 });
  t.equal((await app.inject({ method: 'DELETE', url: '/system/async-dead-letters' })).statusCode, 400);
  const all = await app.inject({ method: 'POST', url: '/system/async-dead-letters/replay' });
  t.same(all.json(), { replayed: 1 }, 'no ids: replay everything left');
  t.same((await app.inject({ method: 'GET', url: '/system/async-dead-letters' })).json(), []);
});
