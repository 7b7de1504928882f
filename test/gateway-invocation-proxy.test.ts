/**
 * provider/proxy.ts on its own, framework-neutral: a plain node HTTP server
 * forwards with createInvocationProxy, as the faas-provider REST server does.
 */
import t, { type Test } from 'tap';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createInvocationProxy, type ForwardOptions, type InvocationProxyOptions } from '../provider/index.js';
import { until } from './helpers.js';
import { echoHandler, startBackend, type Backend } from './gateway-memory-provider.js';

async function front(t: Test, opts: InvocationProxyOptions, route: (req: IncomingMessage) => ForwardOptions) {
  const proxy = createInvocationProxy(opts);
  const results: Array<{ statusCode: number; error?: Error }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void proxy.forward(req, res, route(req)).then((r) => results.push(r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { proxy, results, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function backend(t: Test, id: string, handler: Parameters<typeof startBackend>[1] = echoHandler): Promise<Backend> {
  const b = await startBackend(id, handler);
  t.teardown(() => b.close());
  return b;
}

t.test('base path and pathPrefix are prepended; no call headers unless asked', async (t) => {
  const b = await backend(t, 'r0');
  const endpoint = { id: 'r0', baseUrl: `${b.endpoint.baseUrl}/base/`, pathPrefix: '/function/fn.ns' };
  const { url } = await front(t, { upstreamTimeoutMs: 5000 }, (req) => ({ endpoints: [endpoint], path: req.url! }));
  const res = await request(`${url}/a/b?q=1`, { headers: { 'user-agent': 'client/1' } });
  const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
  t.equal(seen.url, '/base/function/fn.ns/a/b?q=1');
  t.notOk(seen.headers['x-call-id']);
  t.notOk(seen.headers['x-start-time']);
  t.equal(seen.headers['user-agent'], 'client/1');
  t.notOk(res.headers['x-served-by']);
  t.notOk(res.headers['x-call-id']);
});

t.test('default user agent and 1xx informational responses', async (t) => {
  const b = await backend(t, 'hints', (req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    res.writeHead(200, { 'x-ua': req.headers['user-agent'] ?? '' });
    res.end('final');
  });
  const { url } = await front(t, { upstreamTimeoutMs: 5000, userAgent: 'gw/9' }, () => ({ endpoints: [b.endpoint], path: '/' }));
  const { Client } = await import('undici');
  const client = new Client(url);
  t.teardown(() => client.close());
  const res = await client.request({ path: '/', method: 'GET', headers: {} });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-ua'], 'gw/9', 'user agent added when the client sent none');
  t.equal(await res.body.text(), 'final');
});

t.test('inFlight counts requests per replica; no endpoints → 503; closed → 502', async (t) => {
  const held: Array<() => void> = [];
  const b = await backend(t, 'held', (_req, res) => held.push(() => res.end('ok')));
  let endpoints = [b.endpoint];
  const { proxy, url } = await front(t, { upstreamTimeoutMs: 5000 }, () => ({ endpoints, path: '/' }));
  const pending = [request(url), request(url)];
  await until(() => held.length === 2, 5000, 'requests held');
  t.equal(proxy.inFlight(b.endpoint), 2);
  held.forEach((f) => f());
  for (const p of pending) t.equal(await (await p).body.text(), 'ok');
  await until(() => proxy.inFlight(b.endpoint) === 0, 5000, 'released');

  endpoints = [];
  let res = await request(url);
  t.equal(res.statusCode, 503);
  t.equal(await res.body.text(), '');

  endpoints = [b.endpoint];
  await proxy.close();
  res = await request(url);
  t.equal(res.statusCode, 502);
  await res.body.dump();
});

t.test('a slow reader pauses the replica instead of buffering its whole response', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  let writerPaused = false;
  const b = await backend(t, 'firehose', (_req, res) => {
    res.writeHead(200);
    const pump = () => {
      while (written < 64 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) {
          writerPaused = true;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const { url } = await front(t, { upstreamTimeoutMs: 20_000 }, () => ({ endpoints: [b.endpoint], path: '/' }));
  const res = await request(url);
  t.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  // The client reads nothing more: the replica must hit backpressure long before 64 MiB.
  await until(() => writerPaused, 5000, 'replica sees backpressure');
  const stalledAt = written;
  t.ok(stalledAt < 32 * 1024 * 1024, `replica stalled after ${(stalledAt / 1048576).toFixed(1)} MiB`);
  let total = 0;
  for (;;) {
    const { done, value } = await it.next();
    if (done) break;
    total += (value as Buffer).length;
  }
  t.ok(total > 60 * 1024 * 1024, 'the rest still arrives once the client reads');
});

/**
 * A request whose body has not started when it is forwarded (the client sent
 * its headers and waits for the function to speak first) takes the node:http
 * path: the head reaches the replica at once and both directions stream.
 */
function silentUpload(url: string, headers: Record<string, string> = {}) {
  const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers } });
  const state = { text: '', status: 0, headers: {} as IncomingMessage['headers'], ended: false, error: undefined as Error | undefined };
  req.on('error', (e) => (state.error = e));
  req.on('response', (r) => {
    state.status = r.statusCode ?? 0;
    state.headers = r.headers;
    r.setEncoding('utf8');
    r.on('data', (c: string) => (state.text += c));
    r.on('end', () => (state.ended = true));
    r.on('error', (e) => (state.error = e));
  });
  req.flushHeaders();
  return { req, state };
}

t.test('body not started: head forwarded at once, full duplex, call headers, retry on refused', async (t) => {
  const b = await backend(t, 'duplex', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-seen-ua': req.headers['user-agent'] ?? '', 'x-dup': req.headers['x-dup'] ?? '' });
    res.write('ready\n');
    req.setEncoding('utf8');
    req.on('data', (c: string) => res.write(`got ${c}`));
    req.on('end', () => res.end('bye\n'));
  });
  const refused = await backend(t, 'gone');
  await refused.close();
  const { url, results } = await front(t, { upstreamTimeoutMs: 5000, userAgent: 'gw/9', callHeaders: { servedBy: 'test' } }, () => ({
    endpoints: [refused.endpoint, b.endpoint],
    path: '/',
  }));
  for (let i = 0; i < 2; i++) {
    const { req, state } = silentUpload(url, { 'x-dup': 'a' });
    await until(() => state.text === 'ready\n', 5000, 'replica answered before any body byte');
    t.equal(state.status, 200);
    t.ok(state.headers['x-call-id'], 'call id added');
    t.equal(state.headers['x-served-by'], 'test');
    t.equal(state.headers['x-seen-ua'], 'gw/9');
    t.equal(state.headers['x-dup'], 'a');
    req.write('one\n');
    await until(() => state.text.endsWith('got one\n'), 5000, 'first part echoed while the upload is open');
    req.end('two\n');
    await until(() => state.ended, 5000, 'response end');
    t.equal(state.text, 'ready\ngot one\ngot two\nbye\n');
  }
  await until(() => results.length === 2, 5000, 'forward results');
  t.same(results.map((r) => [r.statusCode, r.error]), [[200, undefined], [200, undefined]], 'refused replica skipped without error');
});

t.test('body not started: replica timeout → 502; replica answering early ends the exchange', async (t) => {
  const stuck = await backend(t, 'stuck', () => {
    // never answers
  });
  const early = await backend(t, 'early', (_req, res) => {
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end('done early\n');
  });
  let target = stuck.endpoint;
  const { url, results } = await front(t, { upstreamTimeoutMs: 300 }, () => ({ endpoints: [target], path: '/' }));

  const slow = silentUpload(url);
  t.teardown(() => slow.req.destroy());
  await until(() => slow.state.ended, 5000, '502 after the upstream deadline');
  t.equal(slow.state.status, 502);
  t.equal(results[0]?.statusCode, 502);
  t.match(results[0]?.error?.message, /within 300ms/);

  target = early.endpoint;
  const fast = silentUpload(url);
  t.teardown(() => fast.req.destroy());
  await until(() => fast.state.ended, 5000, 'early answer relayed while the upload is open');
  t.equal(fast.state.status, 201);
  t.equal(fast.state.text, 'done early\n');
  await until(() => results.length === 2, 5000, 'second result');
  t.equal(results[1]?.statusCode, 201);
});
