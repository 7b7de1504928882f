/**
 * Invocation proxy, scale from zero, log streaming and metrics over real
 * sockets: a gateway on 127.0.0.1:0 in front of real node HTTP servers that
 * stand in for replicas (test-only MemoryProvider). provider-local with real
 * watchdogs is exercised in gateway-local.test.ts.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { request } from 'undici';
import { startGateway, loadGatewayConfig } from '../gateway/index.js';
import { freePort, until } from './helpers.js';
import { echoHandler, LoggingProvider, MemoryProvider, startBackend, type Backend } from './gateway-memory-provider.js';

async function start(t: Test, env: Record<string, string> = {}, provider: MemoryProvider = new MemoryProvider(), logger?: Logger) {
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', ...env }), { provider, ...(logger ? { logger } : {}) });
  t.teardown(() => gw.close());
  return { gw, provider };
}

async function backend(t: Test, id: string, handler: Parameters<typeof startBackend>[1] = echoHandler): Promise<Backend> {
  const b = await startBackend(id, handler);
  t.teardown(() => b.close());
  return b;
}

async function withFunction(provider: MemoryProvider, name: string, backends: Backend[], replicas = backends.length) {
  await provider.deploy({ service: name, image: `${name}:1` });
  provider.backends.set(`${name}.openfaas-fn`, backends.map((b) => b.endpoint));
  await provider.scale(name, replicas);
  provider.scaleCalls.length = 0;
}

/** Raw HTTP/1.1 exchange, for requests clients would normalise (`/./`, Connection tokens). */
function rawRequest(url: string, path: string, extraHeaders = ''): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () =>
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${extraHeaders}Connection: close\r\n\r\n`),
    );
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

t.test('method, sub-path, query, headers and call ids reach the function', async (t) => {
  const { gw, provider } = await start(t);
  await withFunction(provider, 'echo', [await backend(t, 'r0')]);

  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
    const res = await request(`${gw.url}/function/echo/a/b?q=1&r=two`, { method, body: method === 'GET' ? undefined : 'payload' });
    t.equal(res.statusCode, 200, method);
    const seen = (await res.body.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
    t.equal(seen.method, method);
    t.equal(seen.url, '/a/b?q=1&r=two');
    if (method !== 'GET') t.equal(seen.body, 'payload');
    t.match(res.headers['x-call-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.equal(seen.headers['x-call-id'], res.headers['x-call-id'], 'function sees the generated call id');
    t.match(res.headers['x-start-time'], /^\d{19}$/);
    t.match(res.headers['x-served-by'], /^openfaas-ce\//);
    t.equal(seen.headers['x-forwarded-host'], new URL(gw.url).host);
    t.match(seen.headers['x-forwarded-for'], /^127\.0\.0\.1:\d+$/);
  }

  for (const [path, expected] of [
    ['/function/echo', '/'],
    ['/function/echo/', '/'],
    ['/function/echo?x=1', '/?x=1'],
    ['/function/echo.openfaas-fn/deep/path/', '/deep/path/'],
  ] as const) {
    const res = await request(gw.url + path);
    t.equal(((await res.body.json()) as { url: string }).url, expected, path);
  }

  const res = await request(`${gw.url}/function/echo`, {
    method: 'POST',
    body: 'x',
    headers: {
      'x-call-id': 'abc',
      'proxy-authorization': 'Basic eA==',
      te: 'trailers',
      authorization: 'Bearer fn-token',
      'user-agent': 'tester/1',
      'x-forwarded-for': '10.0.0.1',
    },
  });
  const seen = (await res.body.json()) as { headers: Record<string, string> };
  t.equal(seen.headers['x-call-id'], 'abc', 'client call id forwarded');
  t.notOk(res.headers['x-call-id'], 'client call id not echoed');
  t.notOk(seen.headers['proxy-authorization']);
  t.notOk(seen.headers.te);
  t.equal(seen.headers.authorization, 'Bearer fn-token', 'Authorization passes to the function');
  t.equal(seen.headers['user-agent'], 'tester/1');
  t.equal(seen.headers['x-forwarded-for'], '10.0.0.1', 'existing X-Forwarded-For kept');

  const twice = await request(`${gw.url}/function/echo`, { headers: { 'x-start-time': '1' } });
  const startSeen = ((await twice.body.json()) as { headers: Record<string, string> }).headers['x-start-time'];
  t.match(startSeen, /^1, \d{19}$/, 'X-Start-Time is appended to a client value');

  const raw = await rawRequest(gw.url, '/function/echo', 'X-Hop: secret\r\nKeep-Alive: timeout=5\r\nConnection: x-hop\r\n');
  const echoed = JSON.parse(raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1)) as { headers: Record<string, string> };
  t.notOk(echoed.headers['x-hop'], 'headers named in Connection are dropped');
  t.not(echoed.headers['keep-alive'], 'timeout=5', 'Keep-Alive is hop-by-hop');
});

t.test('large bodies stream both ways', async (t) => {
  const { gw, provider } = await start(t);
  const pipeBackend = await backend(t, 'pipe', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  await withFunction(provider, 'pipe', [pipeBackend]);
  const size = 24 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const sent = createHash('sha256');
  let produced = 0;
  const body = Readable.from(
    (function* () {
      while (produced < size) {
        produced += chunk.length;
        sent.update(chunk);
        yield chunk;
      }
    })(),
  );
  const res = await request(`${gw.url}/function/pipe`, { method: 'POST', body });
  t.equal(res.statusCode, 200);
  const got = createHash('sha256');
  let received = 0;
  for await (const c of res.body) {
    received += (c as Buffer).length;
    got.update(c as Buffer);
  }
  t.equal(received, size);
  t.equal(got.digest('hex'), sent.digest('hex'));
});

t.test('redirects are relayed, not followed; function headers win', async (t) => {
  const { gw, provider } = await start(t);
  const b = await backend(t, 'redir', (_req, res) => {
    res.writeHead(302, { location: '/elsewhere', 'x-served-by': 'the-function' });
    res.end();
  });
  await withFunction(provider, 'redir', [b]);
  const res = await request(`${gw.url}/function/redir`);
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, '/elsewhere');
  t.equal(res.headers['x-served-by'], 'the-function');
  await res.body.dump();
});

t.test('upstream timeout → 502 with an empty body', async (t) => {
  const { gw, provider } = await start(t, { upstream_timeout: '300ms' });
  const held: Array<() => void> = [];
  const b = await backend(t, 'slow', (_req, res) => held.push(() => res.end('late')));
  t.teardown(() => held.forEach((f) => f()));
  await withFunction(provider, 'slow', [b]);
  const res = await request(`${gw.url}/function/slow`);
  t.equal(res.statusCode, 502);
  t.equal(await res.body.text(), '');
  t.ok(res.headers['x-call-id'], 'call headers still present');
});

/** A pino logger whose lines land in `lines` as parsed objects. */
function sink(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

t.test('unreachable replica → 502; another ready replica is tried first', async (t) => {
  const log = sink();
  const { gw, provider } = await start(t, {}, new MemoryProvider(), log.logger);
  const dead = await startBackend('dead', echoHandler);
  await dead.close();
  await withFunction(provider, 'gone', [dead]);
  let res = await request(`${gw.url}/function/gone`, { method: 'POST', body: 'x' });
  t.equal(res.statusCode, 502);
  t.equal(await res.body.text(), '');
  await until(() => log.lines.some((l) => l.msg === 'invocation failed'), 2000, 'failure logged');
  t.match(log.lines.find((l) => l.msg === 'invocation failed'), { component: 'gateway', fn: 'gone.openfaas-fn', status: 502 });

  const alive = await backend(t, 'alive');
  await withFunction(provider, 'half', [dead, alive]);
  for (let i = 0; i < 6; i++) {
    res = await request(`${gw.url}/function/half`, { method: i % 2 ? 'POST' : 'GET', body: i % 2 ? 'data' : undefined });
    t.equal(res.statusCode, 200, `attempt ${i}`);
    const seen = (await res.body.json()) as { id: string; body: string };
    t.equal(seen.id, 'alive');
    if (i % 2) t.equal(seen.body, 'data', 'body delivered after retry');
  }
});

t.test('unknown function → 404 without trailing newline; not ready → 503', async (t) => {
  const { gw, provider } = await start(t, { scale_from_zero: 'false' });
  let res = await request(`${gw.url}/function/nope`);
  t.equal(res.statusCode, 404);
  t.equal(await res.body.text(), 'error finding function nope.openfaas-fn: function nope.openfaas-fn not found');
  t.notOk(res.headers['x-call-id']);
  res = await request(`${gw.url}/function/nope.other`);
  t.match(await res.body.text(), /^error finding function nope\.other: /);

  await withFunction(provider, 'idle', [await backend(t, 'r0')], 0);
  res = await request(`${gw.url}/function/idle`);
  t.equal(res.statusCode, 503);
  t.equal(await res.body.text(), 'No endpoints available for: idle.openfaas-fn.');
  t.equal(provider.scaleCalls.length, 0, 'no wake-up when scale_from_zero=false');
});

t.test('scale from zero: one scale call to max(1, scale.min), wait, then proxy', async (t) => {
  const { gw, provider } = await start(t);
  const b = await backend(t, 'r0');
  await provider.deploy({ service: 'sleepy', image: 'i', labels: { 'com.openfaas.scale.min': '2' } });
  provider.backends.set('sleepy.openfaas-fn', [b.endpoint, (await backend(t, 'r1')).endpoint]);
  await provider.scale('sleepy', 0);
  provider.scaleCalls.length = 0;
  provider.ready.set('sleepy.openfaas-fn', false);
  // Replicas become ready a little after the scale call, as a real provider's would.
  const origScale = provider.scale.bind(provider);
  provider.scale = async (name, replicas, ns) => {
    await origScale(name, replicas, ns);
    setTimeout(() => provider.ready.set('sleepy.openfaas-fn', true), 150);
  };

  const results = await Promise.all(Array.from({ length: 5 }, () => request(`${gw.url}/function/sleepy`)));
  for (const res of results) {
    t.equal(res.statusCode, 200);
    await res.body.dump();
  }
  t.same(provider.scaleCalls, [{ name: 'sleepy', replicas: 2 }], 'single-flight wake-up');
});

t.test('scale from zero gives up after scale_from_zero_timeout', async (t) => {
  const { gw, provider } = await start(t, { scale_from_zero_timeout: '300ms' });
  await withFunction(provider, 'never', [await backend(t, 'r0')], 0);
  provider.ready.set('never.openfaas-fn', false);
  const res = await request(`${gw.url}/function/never`);
  t.equal(res.statusCode, 503);
  t.equal(await res.body.text(), 'No endpoints available for: never.openfaas-fn.');
  t.same(provider.scaleCalls, [{ name: 'never', replicas: 1 }]);
});

t.test('least in-flight spreads concurrent invocations over replicas', async (t) => {
  const { gw, provider } = await start(t);
  const held: Array<() => void> = [];
  const handler: Parameters<typeof startBackend>[1] = (_req, res, b) => held.push(() => res.end(b.endpoint.id));
  const bs = [await backend(t, 'a', handler), await backend(t, 'b', handler), await backend(t, 'c', handler)];
  await withFunction(provider, 'spread', bs);
  const pending = Array.from({ length: 9 }, () => request(`${gw.url}/function/spread`).then((r) => r.body.text()));
  await until(() => held.length === 9, 5000, 'all requests reach a replica');
  t.same(bs.map((b) => b.hits), [3, 3, 3], 'each replica holds three');
  held.forEach((f) => f());
  const answers = await Promise.all(pending);
  t.same(answers.sort(), ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'c']);
});

t.test('client disconnect aborts the upstream request', async (t) => {
  const { gw, provider } = await start(t);
  let upstreamClosed = false;
  const b = await backend(t, 'stream', (_req, res) => {
    res.writeHead(200);
    res.write('first\n');
    const timer = setInterval(() => res.write('more\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed = true;
    });
  });
  await withFunction(provider, 'stream', [b]);
  const ac = new AbortController();
  const res = await request(`${gw.url}/function/stream`, { signal: ac.signal });
  t.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  ac.abort();
  await until(() => upstreamClosed, 5000, 'upstream sees the abort');
  t.ok(upstreamClosed);
});

t.test('metrics: counters, histogram, service count, invocationCount and the metrics port', async (t) => {
  const metricsPort = await freePort();
  const { gw, provider } = await start(t, { metrics_port: String(metricsPort) });
  await withFunction(provider, 'echo', [await backend(t, 'r0')]);
  for (let i = 0; i < 3; i++) await (await request(`${gw.url}/function/echo`)).body.dump();
  await (await request(`${gw.url}/function/echo.openfaas-fn`)).body.dump();

  const text = await (await request(`${gw.url}/metrics`)).body.text();
  t.match(text, /gateway_function_invocation_total\{function_name="echo\.openfaas-fn",code="200"\} 4/);
  t.match(text, /gateway_function_invocation_started\{function_name="echo\.openfaas-fn"\} 4/);
  t.match(text, /gateway_functions_seconds_bucket\{le="0\.005",function_name="echo\.openfaas-fn",code="200"\}/);
  t.match(text, /gateway_functions_seconds_count\{function_name="echo\.openfaas-fn",code="200"\} 4/);
  t.match(text, /gateway_service_count\{function_name="echo\.openfaas-fn"\} 1/);

  const list = (await (await request(`${gw.url}/system/functions`)).body.json()) as Array<{ invocationCount?: number }>;
  t.equal(list[0]!.invocationCount, 4);

  t.equal(gw.metricsUrl, `http://127.0.0.1:${metricsPort}`);
  let res = await request(`${gw.metricsUrl}/metrics`);
  t.match(await res.body.text(), /gateway_function_invocation_total/);
  res = await request(`${gw.metricsUrl}/healthz`);
  t.equal(await res.body.text(), 'OK');
  res = await request(`${gw.metricsUrl}/healthz`, { method: 'POST' });
  t.equal(res.statusCode, 405);
  await res.body.dump();

  await provider.remove('echo');
  const after = await (await request(`${gw.url}/metrics`)).body.text();
  t.notMatch(after, /gateway_service_count\{function_name="echo/, 'removed functions disappear');
});

t.test('/system/logs streams NDJSON and stops on disconnect or write_timeout', async (t) => {
  const provider = new LoggingProvider();
  await provider.deploy({ service: 'fn', image: 'i' });
  provider.logLines.push({ name: 'fn', namespace: 'openfaas-fn', instance: 'r0', timestamp: '2026-01-01T00:00:00Z', text: 'hello' });
  const { gw } = await start(t, { write_timeout: '1500ms' }, provider);

  // 1. follow=true: lines keep coming; the client disconnects; the provider is aborted.
  const ac = new AbortController();
  const res = await request(`${gw.url}/system/logs?name=fn&follow=true`, { signal: ac.signal });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/x-ndjson');
  let buf = '';
  for await (const c of res.body) {
    buf += (c as Buffer).toString();
    if (buf.split('\n').length > 3) break;
  }
  const lines = buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { text: string });
  t.equal(lines[0]!.text, 'hello');
  t.match(lines[1]!.text, /^tick /);
  ac.abort();
  await until(() => provider.aborted === 1, 5000, 'provider aborted on disconnect');

  // 2. follow=true without disconnect: write_timeout ends the stream.
  const started = Date.now();
  const res2 = await request(`${gw.url}/system/logs?name=fn&follow=1`);
  const body = await res2.body.text();
  t.ok(body.split('\n').length > 2, 'streamed lines');
  t.ok(Date.now() - started >= 1000, 'ended by write_timeout');
  await until(() => provider.aborted === 2, 5000, 'provider aborted at write_timeout');

  // 3. follow=false ends once existing lines are sent.
  const res3 = await request(`${gw.url}/system/logs?name=fn&tail=5`);
  t.equal((await res3.body.text()).trim().split('\n').length, 1);
});

t.test('non-canonical paths over a socket get 301', async (t) => {
  const { gw } = await start(t);
  for (const [path, location] of [
    ['/system/./info', '/system/info'],
    ['/system/x/../info?a=1', '/system/info?a=1'],
    ['/../../healthz', '/healthz'],
    ['/function/fn/./a', '/function/fn/a'],
  ] as const) {
    const raw = await rawRequest(gw.url, path);
    t.match(raw, /^HTTP\/1\.1 301 /, path);
    t.match(raw, new RegExp(`\\r\\nlocation: ${location.replace(/[?.]/g, '\\$&')}\\r\\n`, 'i'), path);
  }
});

t.test('read_timeout drops a client that stalls its request body', async (t) => {
  const { gw, provider } = await start(t, { read_timeout: '400ms' });
  await withFunction(provider, 'echo', [await backend(t, 'r0')]);
  const { hostname, port } = new URL(gw.url);
  const closed = await new Promise<string>((resolve, reject) => {
    const sock = connect(Number(port), hostname, () =>
      sock.write('POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc'),
    );
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
  t.pass(`socket closed by the server (${closed.split('\r\n')[0] || 'no response'})`);
});

t.test('upstream_timeout during the body truncates the response', async (t) => {
  const { gw, provider } = await start(t, { upstream_timeout: '400ms' });
  const b = await backend(t, 'hang', (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('partial');
  });
  await withFunction(provider, 'hang', [b]);
  const res = await request(`${gw.url}/function/hang`);
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text(), 'body ends early with an error');
});

t.test('function_namespace and max_function_body_bytes', async (t) => {
  const { gw, provider } = await start(t, { function_namespace: 'team', max_function_body_bytes: '10' });
  const b = await backend(t, 'r0');
  await provider.deploy({ service: 'fn', image: 'i', namespace: 'team' });
  provider.backends.set('fn.team', [b.endpoint]);
  let res = await request(`${gw.url}/function/fn`, { method: 'POST', body: 'small' });
  t.equal(res.statusCode, 200, 'name without a dot uses function_namespace');
  await res.body.dump();
  res = await request(`${gw.url}/function/fn`, { method: 'POST', body: 'x'.repeat(11) });
  t.equal(res.statusCode, 413);
  t.equal(await res.body.text(), 'request body is too large\n');
  const text = await (await request(`${gw.url}/metrics`)).body.text();
  t.match(text, /gateway_function_invocation_total\{function_name="fn\.team",code="200"\} 1/);
});

t.test('closing the gateway ends open log streams', async (t) => {
  const provider = new LoggingProvider();
  await provider.deploy({ service: 'fn', image: 'i' });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', write_timeout: '60s' }), { provider });
  const res = await request(`${gw.url}/system/logs?name=fn&follow=true`);
  t.equal(res.statusCode, 200);
  const it = res.body[Symbol.asyncIterator]();
  t.match(String((await it.next()).value), /tick/, 'stream is live');
  const rest = (async () => {
    for (;;) if ((await it.next()).done) return;
  })();
  const started = Date.now();
  await gw.close();
  t.ok(Date.now() - started < 10_000, 'close did not wait for write_timeout');
  await rest;
  t.equal(provider.aborted, 1, 'provider iterable aborted');
});

t.test('startGateway fails cleanly when the port is taken', async (t) => {
  const { gw } = await start(t);
  const port = new URL(gw.url).port;
  await t.rejects(startGateway(loadGatewayConfig({ port, metrics_port: '0' }), { provider: new MemoryProvider() }), { code: 'EADDRINUSE' });
  const metricsPort = await freePort();
  const blocker = await startGateway(loadGatewayConfig({ port: '0', metrics_port: String(metricsPort) }), { provider: new MemoryProvider() });
  t.teardown(() => blocker.close());
  await t.rejects(
    startGateway(loadGatewayConfig({ port: '0', metrics_port: String(metricsPort) }), { provider: new MemoryProvider() }),
    { code: 'EADDRINUSE' },
    'metrics port taken',
  );
});

t.test('ready endpoints are cached briefly; changes through the gateway drop the cache', async (t) => {
  const { gw, provider } = await start(t);
  await withFunction(provider, 'cached', [await backend(t, 'r0')]);
  let calls = 0;
  const endpoints = provider.endpoints.bind(provider);
  provider.endpoints = async (name, ns) => {
    calls++;
    return endpoints(name, ns);
  };
  for (let i = 0; i < 5; i++) await (await request(`${gw.url}/function/cached`)).body.dump();
  t.ok(calls < 5, `provider asked ${calls} times for 5 invocations`);

  const del = await request(`${gw.url}/system/functions`, { method: 'DELETE', body: JSON.stringify({ functionName: 'cached' }) });
  t.equal(del.statusCode, 202);
  await del.body.dump();
  const res = await request(`${gw.url}/function/cached`);
  t.equal(res.statusCode, 404, 'removal is visible at once');
  await res.body.dump();
});
