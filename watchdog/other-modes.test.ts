/** inproc, static and classic modes end to end. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import t from 'tap';

import { FIXTURES, request, spawnWatchdog, startWatchdog, tempDir, until } from './fixtures/harness.js';

const handler = `${FIXTURES}handler.cjs`;

t.test('inproc: event, return values, context', async (t) => {
  const w = await startWatchdog(t, { mode: 'inproc', inproc_handler: handler });
  const r = await request(w.port, { path: '/any/where?a=1&a=2&b=x', headers: { 'X-Test': 'hdr' } });
  t.equal(r.status, 200);
  t.same(JSON.parse(r.text), { method: 'GET', path: '/any/where', query: { a: ['1', '2'], b: 'x' }, header: 'hdr' });

  const o = await request(w.port, { path: '/object' });
  t.equal(o.text, '{"hello":"world","list":[1,2]}');

  const s = await request(w.port, { path: '/status' });
  t.equal(s.status, 201);
  t.equal(s.headers['x-custom'], 'yes');
  t.equal(s.headers['content-type'], 'text/plain');
  t.equal(s.text, 'created');

  const f = await request(w.port, { path: '/fail' });
  t.equal(f.status, 500);
  t.equal(f.text, 'went wrong');

  const th = await request(w.port, { path: '/throw' });
  t.equal(th.status, 500, 'a thrown error answers 500 (as templates/node20/index.js), not the upstream template quirk of 200');
  t.equal(th.text, 'Error: boom');
  await until(() => /Error: boom/.test(w.stderr()), 5000, 'error logged to stderr');
  t.equal(w.proc.exitCode, null, 'watchdog survives a throwing handler');
});

t.test('inproc: body parsing as the node template', async (t) => {
  const w = await startWatchdog(t, { mode: 'inproc', inproc_handler: handler });
  const json = await request(w.port, { method: 'POST', path: '/body', headers: { 'Content-Type': 'application/json' }, body: '{"n":5}' });
  t.same(JSON.parse(json.text), { type: 'object', body: { n: 5 } });
  const text = await request(w.port, { method: 'POST', path: '/body', headers: { 'Content-Type': 'text/plain' }, body: 'plain' });
  t.same(JSON.parse(text.text), { type: 'string', body: 'plain' });
  const none = await request(w.port, { method: 'POST', path: '/body', body: 'no type' });
  t.same(JSON.parse(none.text), { type: 'string', body: 'no type' }, 'missing Content-Type is text/plain');
  const bad = await request(w.port, { method: 'POST', path: '/body', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
  t.equal(bad.status, 400);
  const big = await request(w.port, { method: 'POST', path: '/body', headers: { 'Content-Type': 'application/json' }, body: `"${'x'.repeat(200 * 1024)}"` });
  t.equal(big.status, 413, 'MAX_JSON_SIZE default 100kb');

  const raw = await startWatchdog(t, { mode: 'inproc', inproc_handler: handler, RAW_BODY: 'true', MAX_RAW_SIZE: '1mb' });
  const bin = randomBytes(500_000);
  const rr = await request(raw.port, { method: 'POST', path: '/body', headers: { 'Content-Type': 'application/octet-stream' }, body: bin });
  t.same(JSON.parse(rr.text), { type: 'buffer', body: 500_000 });
});

t.test('inproc: exec_timeout → 504; default handler path; load failure', async (t) => {
  const w = await startWatchdog(t, { mode: 'inproc', inproc_handler: handler, exec_timeout: '300ms' });
  const r = await request(w.port, { path: '/slow?ms=3000' });
  t.equal(r.status, 504);
  t.equal(r.headers['x-openfaas-internal'], 'of-watchdog');

  const dir = tempDir(t);
  writeFileSync(`${dir}/handler.js`, "module.exports = async (event) => 'from cwd ' + event.method;\n");
  writeFileSync(`${dir}/package.json`, '{"type":"commonjs"}');
  const c = await startWatchdog(t, { mode: 'inproc' }, { cwd: dir });
  t.equal((await request(c.port, { method: 'PUT' })).text, 'from cwd PUT');

  const missing = spawnWatchdog(t, { mode: 'inproc', inproc_handler: `${dir}/nope.js` });
  t.equal((await missing.exited).code, 1);
  t.match(missing.stderr(), /cannot load inproc handler/);
});

t.test('static: index.html, files, 404, ranges (checklist 36)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(`${dir}/index.html`, '<h1>home</h1>');
  writeFileSync(`${dir}/data.json`, '{"k":1}');
  mkdirSync(`${dir}/sub`);
  writeFileSync(`${dir}/sub/a.txt`, '0123456789');
  const w = await startWatchdog(t, { mode: 'static', static_path: dir });
  const home = await request(w.port);
  t.equal(home.status, 200);
  t.equal(home.text, '<h1>home</h1>');
  t.match(home.headers['content-type'], /^text\/html/);
  const j = await request(w.port, { path: '/data.json' });
  t.equal(j.headers['content-type'], 'application/json');
  t.equal((await request(w.port, { path: '/missing.txt' })).status, 404);
  t.equal((await request(w.port, { path: '/../../etc/passwd' })).status, 404);
  const range = await request(w.port, { path: '/sub/a.txt', headers: { Range: 'bytes=2-5' } });
  t.equal(range.status, 206);
  t.equal(range.text, '2345');
  t.equal(range.headers['content-range'], 'bytes 2-5/10');
  const listing = await request(w.port, { path: '/sub/' });
  t.match(listing.text, /a\.txt/);
  const redirect = await request(w.port, { path: '/sub' });
  t.equal(redirect.status, 301);
  t.equal(redirect.headers.location, '/sub/');
  const idx = await request(w.port, { path: '/index.html' });
  t.equal(idx.status, 301);
  t.equal(idx.headers.location, '/');
  const ims = await request(w.port, { path: '/data.json', headers: { 'If-Modified-Since': new Date(Date.now() + 60_000).toUTCString() } });
  t.equal(ims.status, 304);
});

t.test('classic: methods, env, content type (checklist 37, 38, 39)', async (t) => {
  const w = await startWatchdog(t, { mode: 'classic', fprocess: 'env' });
  t.equal((await request(w.port, { method: 'HEAD' })).status, 405);
  t.equal((await request(w.port, { method: 'OPTIONS' })).status, 405);
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    t.equal((await request(w.port, { method, body: method === 'GET' || method === 'DELETE' ? undefined : 'x' })).status, 200, method);
  }
  const r = await request(w.port, {
    method: 'POST',
    path: '/p/q?z=9',
    headers: { 'Content-Type': 'text/x-thing', 'X-Hdr': 'v', Host: 'h.example' },
    body: 'abc',
  });
  const lines = r.text.split('\n');
  for (const want of ['Http_Method=POST', 'Http_ContentLength=3', 'Http_Content_Length=3', 'Http_Host=h.example', 'Http_Path=/p/q', 'Http_Query=z=9', 'Http_X_Hdr=v']) {
    t.ok(lines.includes(want), want);
  }
  t.equal(r.headers['content-type'], 'text/x-thing', 'request Content-Type echoed');
  t.match(r.headers['x-duration-seconds'], /^\d+\.\d{6}$/);
  const ready = await request(w.port, { path: '/_/ready' });
  t.match(ready.text, /Http_Path=\/_\/ready/, 'no /_/ready handler in classic');

  const forced = await startWatchdog(t, { mode: 'classic', fprocess: 'cat', content_type: 'application/json' });
  t.equal((await request(forced.port, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).headers['content-type'], 'application/json');
});

t.test('classic: chunked body → Http_Content_Length=-1', async (t) => {
  const w = await startWatchdog(t, { mode: 'classic', fprocess: 'env' });
  const r = await request(w.port, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' }, body: 'abc' });
  t.match(r.text, /^Http_Content_Length=-1$/m);
});

t.test('classic: stderr, exit codes, timeout, marshal_request (checklist 40, 41, 42)', async (t) => {
  const script = `${FIXTURES}stderr.sh`;
  const combined = await startWatchdog(t, { mode: 'classic', fprocess: script });
  const c = await request(combined.port);
  t.equal(c.status, 200);
  t.match(c.text, /out/);
  t.match(c.text, /oops/, 'stderr in body by default');
  const split = await startWatchdog(t, { mode: 'classic', fprocess: script, combine_output: 'false' });
  const s = await request(split.port);
  t.equal(s.text, 'out\n');
  await until(() => /stderr: oops/.test(split.stderr()), 5000, 'stderr logged');

  const fail = await startWatchdog(t, { mode: 'classic', fprocess: `${script} 1` });
  const f = await request(fail.port);
  t.equal(f.status, 500);
  t.match(f.text, /^exit status 1\nout\n/);

  const slow = await startWatchdog(t, { mode: 'classic', fprocess: 'sleep 5', exec_timeout: '1' });
  const start = Date.now();
  const k = await request(slow.port);
  t.equal(k.status, 408);
  t.equal(k.text, 'Killed process.\n');
  t.ok(Date.now() - start < 4000);

  const m = await startWatchdog(t, { mode: 'classic', fprocess: 'cat', marshal_request: 'true' });
  const mr = await request(m.port, { method: 'POST', headers: { 'X-Multi': 'one', 'Content-Type': 'text/plain' }, body: 'hello' });
  const payload = JSON.parse(mr.text);
  t.same(payload.header['X-Multi'], ['one']);
  t.equal(Buffer.from(payload.body.raw, 'base64').toString(), 'hello');
});
