/** mode=http end to end: a node upstream fixture and a python3 one, real processes. */
import http from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import t from 'tap';

import { FIXTURES, freePort, request, startWatchdog, until, type RunningWatchdog } from './fixtures/harness.js';

async function nodeUpstream(
  t: Parameters<typeof startWatchdog>[0],
  env: Record<string, string> = {},
  readyStatus = 200,
): Promise<RunningWatchdog & { upstreamPort: number }> {
  const upstreamPort = await freePort();
  const w = await startWatchdog(t, {
    mode: 'http',
    fprocess: `${process.execPath} ${FIXTURES}http-server.cjs`,
    upstream_url: `http://127.0.0.1:${upstreamPort}`,
    http_port: String(upstreamPort),
    ...env,
  });
  await until(async () => (await request(w.port, { path: '/_/ready' })).status === readyStatus, 10_000, 'upstream ready');
  return { ...w, upstreamPort };
}

t.test('proxies method, path, query, headers, Host and body (checklist 24, 25)', async (t) => {
  const w = await nodeUpstream(t);
  const r = await request(w.port, {
    method: 'PUT',
    path: '/some/path?x=1&y=two',
    headers: { 'X-Custom': 'v1', Host: 'my.host:1234', 'Content-Type': 'text/plain' },
    body: 'payload',
  });
  t.equal(r.status, 200);
  const echo = JSON.parse(r.text);
  t.equal(echo.method, 'PUT');
  t.equal(echo.url, '/some/path?x=1&y=two');
  t.equal(echo.headers['x-custom'], 'v1');
  t.equal(echo.headers.host, 'my.host:1234');
  t.equal(echo.body, 'payload');
  t.equal(r.headers['x-upstream'], 'yes');
  t.same(r.headers['set-cookie'], ['a=1', 'b=2']);
  t.match(r.headers['x-duration-seconds'], /^\d+\.\d{6}$/);

  const redirect = await request(w.port, { path: '/redirect' });
  t.equal(redirect.status, 302);
  t.equal(redirect.headers.location, '/elsewhere');

  const bin = randomBytes(3 * 1024 * 1024);
  const b = await request(w.port, { method: 'POST', path: '/binary', body: bin });
  t.ok(b.body.equals(bin), 'binary body round trip');

  // chunked upload (no Content-Length)
  const chunked = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: w.port, method: 'POST', path: '/', agent: false }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.write('part1-');
    setImmediate(() => req.end('part2'));
  });
  t.equal(JSON.parse(chunked).body, 'part1-part2');
});

t.test('buffer_http sends a Content-Length upstream', async (t) => {
  const w = await nodeUpstream(t, { buffer_http: 'true' });
  const echo = await new Promise<any>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: w.port, method: 'POST', path: '/', agent: false }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(JSON.parse(s)));
    });
    req.on('error', reject);
    req.write('abc');
    req.end('def');
  });
  t.equal(echo.body, 'abcdef');
  t.equal(echo.headers['content-length'], '6');
  t.notOk(echo.headers['transfer-encoding']);
});

t.test('exec_timeout and X-Timeout → 504 (checklist 27)', async (t) => {
  const w = await nodeUpstream(t, { exec_timeout: '1s' });
  let start = Date.now();
  const r = await request(w.port, { path: '/slow?ms=3000' });
  let took = Date.now() - start;
  t.equal(r.status, 504);
  t.equal(r.headers['x-openfaas-internal'], 'of-watchdog');
  t.match(r.headers['x-duration-seconds'], /^\d+\.\d{6}$/);
  t.equal(r.text, '');
  t.ok(took >= 900 && took < 2500, `exec_timeout after ${took}ms`);

  start = Date.now();
  const x = await request(w.port, { path: '/slow?ms=3000', headers: { 'X-Timeout': '300ms' } });
  took = Date.now() - start;
  t.equal(x.status, 504);
  t.ok(took >= 250 && took < 900, `X-Timeout after ${took}ms`);

  start = Date.now();
  const big = await request(w.port, { path: '/slow?ms=3000', headers: { 'X-Timeout': '5s' } });
  took = Date.now() - start;
  t.equal(big.status, 504);
  t.ok(took >= 900 && took < 2500, `larger X-Timeout ignored (${took}ms)`);

  const ok = await request(w.port, { path: '/slow?ms=10', headers: { 'X-Timeout': '3' } });
  t.equal(ok.status, 200, 'bare integer X-Timeout is ignored');
});

t.test('upstream down → 500 with internal header (checklist 26)', async (t) => {
  const port = await freePort();
  const w = await startWatchdog(t, { mode: 'http', fprocess: 'sleep 60', upstream_url: `http://127.0.0.1:${port}` });
  const r = await request(w.port);
  t.equal(r.status, 500);
  t.equal(r.text, '');
  t.equal(r.headers['x-openfaas-internal'], 'of-watchdog');
  t.equal((await request(w.port, { path: '/_/health' })).status, 200, 'health stays 200');
  t.equal((await request(w.port, { path: '/_/ready' })).status, 503, 'ready 503 until upstream accepts TCP');
  await until(() => /Upstream HTTP request error: /.test(w.stderr()), 3000, 'error logged');
});

t.test('child logs relayed; prefix_logs=false keeps JSON verbatim (checklist 31, 32)', async (t) => {
  const w = await nodeUpstream(t, { prefix_logs: 'false', log_callid: 'true' });
  await request(w.port, { path: '/log', headers: { 'X-Call-Id': 'abc-123' } });
  await until(() => /^\{"a":1\}$/m.test(w.stdout()), 5000, 'raw JSON on stdout');
  await until(() => /^to stderr$/m.test(w.stderr()), 5000, 'raw stderr line');
  await until(() => /GET \/log - 200 OK - ContentLength: 6B \(\d+\.\d{4}s\) \[abc-123\]/.test(w.stderr()), 5000, 'request log');
  await request(w.port, { path: '/nocall' });
  await until(() => /GET \/nocall - 200 OK - ContentLength: .* \[none\]/.test(w.stderr()), 5000, 'none call id');
  await request(w.port, { path: '/probe-me', headers: { 'User-Agent': 'kube-probe/1.29' } });
  await request(w.port, { path: '/after-probe' });
  await until(() => /GET \/after-probe/.test(w.stderr()), 5000);
  t.notMatch(w.stderr(), /probe-me/, 'kube-probe request not logged');

  const p = await nodeUpstream(t);
  await request(p.port, { path: '/log' });
  await until(() => /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d stdout: \{"a":1\}/.test(p.stdout()), 5000, 'prefixed stdout');
  await until(() => /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d stderr: to stderr/.test(p.stderr()), 5000, 'prefixed stderr');
});

t.test('ready_path is proxied to the upstream (checklist 13)', async (t) => {
  const w = await nodeUpstream(t, { ready_path: '/ready?status=418' }, 418);
  const r = await request(w.port, { path: '/_/ready' });
  t.equal(r.status, 418);
  t.equal(r.text, 'upstream ready');
});

t.test('event stream arrives incrementally (checklist 28)', async (t) => {
  const w = await nodeUpstream(t, { exec_timeout: '100ms' });
  let got = '';
  let ended = false;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: w.port, path: '/sse-hold', headers: { Accept: 'text/event-stream' }, agent: false }, resolve);
    req.on('error', reject);
  });
  res.on('data', (d: Buffer) => (got += d.toString()));
  res.on('end', () => (ended = true));
  t.equal(res.statusCode, 200);
  // The upstream holds the stream open: the first event can only arrive if it was flushed.
  await until(() => got.includes('data: first'), 5000, 'first event before the stream ends');
  t.notOk(ended, 'stream still open');
  // Held well past exec_timeout (100ms): streams are exempt.
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(ended, 'exec_timeout does not cut streams');
  await request(w.port, { path: '/release' });
  await until(() => ended, 5000, 'stream ended');
  t.match(got, /data: first\n\ndata: last\n\n/);
});

t.test('websocket upgrade tunnels both ways (checklist 29)', async (t) => {
  const w = await nodeUpstream(t);
  const sock = connect(w.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  let got = '';
  sock.on('data', (d) => (got += d.toString()));
  sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  await until(() => got.includes('\r\n\r\n'), 5000, '101 response');
  t.match(got, /^HTTP\/1\.1 101 /);
  sock.write('hello');
  await until(() => got.includes('HELLO'), 5000, 'echoed frame');
  t.pass('bidirectional');
});

t.test('restart policy always: child restarted, ready 503 while down', async (t) => {
  const w = await nodeUpstream(t);
  const first = JSON.parse((await request(w.port)).text).pid;
  await request(w.port, { path: '/crash?code=3' });
  await until(() => /Forked function has terminated: exit status 3/.test(w.stderr()), 5000, 'exit logged');
  await until(async () => (await request(w.port, { path: '/_/ready' })).status === 200, 10_000, 'ready again');
  const second = JSON.parse((await request(w.port)).text).pid;
  t.not(second, first, 'new child process');
  t.match(w.stderr(), /Restarting function process in/);
  t.equal(w.proc.exitCode, null, 'watchdog still running');
});

t.test('restart policy never: non-zero child exit → watchdog exits 1 (checklist 30)', async (t) => {
  const w = await nodeUpstream(t, { restart_policy: 'never' });
  await request(w.port, { path: '/crash?code=2' });
  const { code } = await w.exited;
  t.equal(code, 1);
});

t.test('SIGTERM forwarded to the child, drain exits 0', async (t) => {
  const w = await nodeUpstream(t, { healthcheck_interval: '200ms', write_timeout: '5s' });
  w.proc.kill('SIGTERM');
  const { code } = await w.exited;
  t.equal(code, 0);
  t.match(w.stdout(), /fixture got SIGTERM/);
});

t.test('python3 stdlib upstream', async (t) => {
  const upstreamPort = await freePort();
  const w = await startWatchdog(t, {
    mode: 'http',
    fprocess: `python3 ${FIXTURES}http_server.py`,
    upstream_url: `http://127.0.0.1:${upstreamPort}`,
    http_port: String(upstreamPort),
    buffer_http: 'true',
  });
  await until(async () => (await request(w.port, { path: '/_/ready' })).status === 200, 15_000, 'python ready');
  const r = await request(w.port, { method: 'POST', path: '/py?z=1', body: 'from test' });
  t.equal(r.status, 200);
  const echo = JSON.parse(r.text);
  t.same(echo, { method: 'POST', path: '/py?z=1', body: 'from test', server: 'python' });
  await until(() => /stderr: python: /.test(w.stderr()), 5000, 'python access log relayed');
});
