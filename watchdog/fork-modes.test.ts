/** streaming and serializing modes end to end, with real child processes. */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import t from 'tap';

import { FIXTURES, request, rssOf, startWatchdog, until } from './fixtures/harness.js';

t.test('streaming: CGI environment (checklist 16, 17)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'env', MY_OWN_VAR: 'kept' });
  const r = await request(w.port, {
    method: 'POST',
    path: '/a/b?x=1&y=2',
    headers: { 'x-custom-header': 'v', 'Content-Type': 'text/plain' },
    body: 'hi',
  });
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/octet-stream');
  t.notOk(r.headers['x-duration-seconds']);
  const lines = r.text.split('\n');
  for (const want of [
    'Http_Method=POST',
    'Http_Path=/a/b',
    'Http_Query=x=1&y=2',
    'Http_X_Custom_Header=v',
    'Http_Content_Type=text/plain',
    'Http_Content_Length=2',
    'MY_OWN_VAR=kept',
  ]) {
    t.ok(lines.includes(want), want);
  }
  t.notOk(lines.some((l) => l.startsWith('Http_Host=')), 'no Http_Host in of-watchdog modes');
});

t.test('streaming: content_type override, methods, binary echo (checklist 17, 18, 22)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', content_type: 'text/plain' });
  const bin = randomBytes(256 * 1024);
  const r = await request(w.port, { method: 'PUT', body: bin });
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain');
  t.ok(r.body.equals(bin), 'binary body echoed byte for byte');
  const env = await startWatchdog(t, { fprocess: 'env' });
  for (const method of ['HEAD', 'OPTIONS', 'DELETE', 'PATCH']) {
    const res = await request(env.port, { method });
    t.equal(res.status, 200, method);
    if (method !== 'HEAD') t.match(res.text, `Http_Method=${method}`);
  }
});

t.test('streaming: no query / empty body → no Http_Query; /metrics goes to the function (checklist 34)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'env' });
  const r = await request(w.port, { path: '/metrics' });
  t.match(r.text, /Http_Path=\/metrics/);
  t.notMatch(r.text, /Http_Query=/);
});

t.test('streaming: 200 MB body is streamed, not buffered', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', content_type: 'application/octet-stream' });
  const before = await rssOf(w.proc.pid!);
  const chunk = randomBytes(1024 * 1024);
  const total = 200;
  let firstByteBeforeUploadEnd = false;
  let uploaded = 0;
  let received = 0;
  let peak = before;
  const sampler = setInterval(() => {
    rssOf(w.proc.pid!).then((r) => (peak = Math.max(peak, r)), () => {});
  }, 50);
  t.teardown(() => clearInterval(sampler));
  await new Promise<void>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: w.port, method: 'POST', path: '/', agent: false },
      (res) => {
        res.on('data', (c: Buffer) => {
          if (received === 0 && uploaded < total) firstByteBeforeUploadEnd = true;
          received += c.length;
        });
        res.on('end', resolve);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const pump = (): void => {
      while (uploaded < total) {
        uploaded++;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  clearInterval(sampler);
  t.equal(received, total * chunk.length, 'all bytes came back');
  t.ok(firstByteBeforeUploadEnd, 'response bytes arrived before the upload finished');
  t.ok(peak - before < 100 * 1024 * 1024, `watchdog RSS grew by ${((peak - before) / 1e6).toFixed(1)} MB`);
});

t.test('streaming: status 200 even for a failing or missing process (checklist 18)', async (t) => {
  const bad = await startWatchdog(t, { fprocess: 'sh -c exit' });
  t.equal((await request(bad.port)).status, 200);
  const missing = await startWatchdog(t, { fprocess: 'no-such-binary-xyz' });
  const r = await request(missing.port, { body: 'x', method: 'POST' });
  t.equal(r.status, 200);
  t.equal(r.text, '');
  await until(() => /executable file not found/.test(missing.stderr()), 5000, 'spawn error logged');
});

t.test('streaming: exec_timeout kills the whole process group (checklist 19)', async (t) => {
  const dir = (await import('node:fs')).mkdtempSync('/tmp/wd-grp-');
  t.teardown(() => (require_rm(dir)));
  const script = `${dir}/hang.sh`;
  const { writeFileSync, chmodSync, readFileSync, existsSync } = await import('node:fs');
  // The child starts a grandchild that records its pid, then both hang.
  writeFileSync(script, `#!/bin/sh\nsleep 30 &\necho $! > ${dir}/grandchild.pid\necho started\nwait\n`);
  chmodSync(script, 0o755);
  const w = await startWatchdog(t, { fprocess: script, exec_timeout: '1s' });
  const start = Date.now();
  const r = await request(w.port);
  const took = Date.now() - start;
  t.equal(r.status, 200);
  t.equal(r.text, 'started\n', 'output before the kill is delivered');
  t.ok(took >= 900 && took < 10_000, `ended after ${took}ms`);
  t.ok(existsSync(`${dir}/grandchild.pid`));
  const gpid = Number(readFileSync(`${dir}/grandchild.pid`, 'utf8'));
  await until(() => !alive(gpid), 5000, 'grandchild killed');
  t.pass('grandchild gone');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = require_read(`/proc/${pid}/stat`);
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

import { readFileSync as require_readFileSync, rmSync } from 'node:fs';
function require_read(p: string): string {
  return require_readFileSync(p, 'utf8');
}
function require_rm(p: string): void {
  rmSync(p, { recursive: true, force: true });
}

t.test('stderr relayed with prefix, never in the response (checklist 23)', async (t) => {
  const script = `${FIXTURES}stderr.sh`;
  const w = await startWatchdog(t, { fprocess: script });
  const r = await request(w.port);
  t.equal(r.text, 'out\n');
  await until(() => /\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d stderr: oops\n/.test(w.stderr()), 5000, 'prefixed stderr');
  const raw = await startWatchdog(t, { fprocess: script, prefix_logs: 'false' });
  await request(raw.port);
  await until(() => /^\{"a":1\}$/m.test(raw.stderr()), 5000, 'raw stderr line');
});

t.test('serializing: echo, duration header, errors (checklist 20, 21)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', mode: 'serializing' });
  const r = await request(w.port, { method: 'POST', body: 'hello' });
  t.equal(r.status, 200);
  t.equal(r.text, 'hello');
  t.match(r.headers['x-duration-seconds'], /^\d+\.\d{6}$/);
  t.equal(r.headers['content-type'], 'application/octet-stream');

  const fail = await startWatchdog(t, { fprocess: 'sh -c echo${IFS}partial;exit${IFS}1', mode: 'serializing' });
  const f = await request(fail.port);
  t.equal(f.status, 500);
  t.equal(f.text, 'exit status 1');
  t.match(f.headers['x-duration-seconds'], /^\d+\.\d{6}$/);

  const slow = await startWatchdog(t, { fprocess: 'sleep 5', mode: 'serializing', exec_timeout: '500ms' });
  const s = await request(slow.port);
  t.equal(s.status, 500);
  t.equal(s.text, 'signal: killed');

  const missing = await startWatchdog(t, { fprocess: 'nope-not-here', mode: 'serializing' });
  const m = await request(missing.port);
  t.equal(m.status, 500);
  t.equal(m.text, 'exec: "nope-not-here": executable file not found in $PATH');
});

t.test('serializing: env and binary', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', mode: 'serializing' });
  const bin = randomBytes(100_000);
  const r = await request(w.port, { method: 'POST', body: bin });
  t.ok(r.body.equals(bin));
  const e = await startWatchdog(t, { fprocess: 'env', mode: 'serializing' });
  const er = await request(e.port, { path: '/p?q=1', headers: { 'X-A': 'b' } });
  t.match(er.text, /Http_X_A=b/);
  t.match(er.text, /Http_Query=q=1/);
  t.match(er.text, /Http_Path=\/p/);
});
