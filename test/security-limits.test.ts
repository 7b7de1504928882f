/**
 * Request size limits and what the watchdog exposes (#12 security).
 * - Gateway: a header block over 1 MiB → 431 (Fastify routes and the
 *   /function/ hot path); bodies over max_body_bytes → 413 on /system/* and
 *   /async-function/*, whether sized by Content-Length or chunked.
 * - Watchdog (the real fwatchdog bundle, every mode): headers over 1 MiB → 431;
 *   with max_body_bytes, a larger body → 413 before the function runs
 *   (Content-Length) or is cut off (chunked), and the watchdog keeps serving.
 * - The watchdog's own /_/ endpoints never show the function's environment.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildGateway, loadGatewayConfig } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createFileQueue } from '../queue-worker/index.js';
import { killGroup, until, watchdogCommand } from './helpers.js';

const LIMIT = 4096;
const ENV_CANARY = `env-canary-${process.pid}-${Date.now()}`;

/** Raw HTTP/1.1 exchange (undici refuses oversized headers itself): status line or the socket's fate. */
function raw(port: number, head: string, body: Buffer | Buffer[] = [], opts: { chunked?: boolean } = {}): Promise<{ status: number | undefined; text: string; error?: string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve({ status: m ? Number(m[1]) : undefined, text: data, ...(error ? { error } : {}) });
    };
    sock.setTimeout(15_000, () => done('timeout'));
    sock.on('data', (d) => {
      data += d.toString('latin1');
      // One response is enough: stop at the end of a sized body.
      const cl = /content-length: (\d+)/i.exec(data);
      const split = data.indexOf('\r\n\r\n');
      if (cl && split >= 0 && data.length - split - 4 >= Number(cl[1])) done();
    });
    sock.on('error', (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    sock.on('close', () => done());
    sock.on('connect', () => {
      sock.write(head);
      const parts = Array.isArray(body) ? body : [body];
      const write = (i: number) => {
        if (i >= parts.length || sock.destroyed) {
          if (opts.chunked && !sock.destroyed) sock.write('0\r\n\r\n');
          return;
        }
        const p = parts[i]!;
        const ok = opts.chunked ? sock.write(`${p.length.toString(16)}\r\n${p.toString('latin1')}\r\n`, 'latin1') : sock.write(p);
        if (ok) setImmediate(() => write(i + 1));
        else sock.once('drain', () => write(i + 1));
      };
      write(0);
    });
  });
}

const bigHeader = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1024 * 1024 + 100)}\r\n\r\n`;
const post = (path: string, extra: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}\r\n`;

t.test('gateway: 431 for huge headers, 413 for bodies over max_body_bytes', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-limits-'));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  const queue = await createFileQueue({ dir: join(dataDir, 'queue') });
  const app = await buildGateway(
    loadGatewayConfig({ port: '0', metrics_port: '0', max_body_bytes: String(LIMIT), max_function_body_bytes: String(LIMIT) }),
    { provider, queue },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  t.teardown(async () => {
    await app.close();
    await queue.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const path of ['/system/info', '/function/anything', '/healthz', '/async-function/x']) {
    const res = await raw(port, bigHeader(path));
    t.equal(res.status, 431, `header over 1 MiB on ${path}`);
  }
  const big = Buffer.from(JSON.stringify({ name: 'x', value: 'v'.repeat(LIMIT * 2) }));
  for (const path of ['/system/secrets', '/system/functions', '/system/alert', '/async-function/fn']) {
    let res = await raw(port, post(path, `Content-Length: ${big.length}\r\n`), big);
    t.equal(res.status, 413, `${path}: Content-Length over the limit`);
    const pieces = Array.from({ length: 16 }, (_, i) => big.subarray(i * 1024, (i + 1) * 1024)).filter((b) => b.length > 0);
    res = await raw(port, post(path, 'Transfer-Encoding: chunked\r\n'), pieces, { chunked: true });
    t.equal(res.status, 413, `${path}: chunked body over the limit`);
  }
  // Invocation bodies (streamed, never buffered) against max_function_body_bytes, into a real replica.
  const src = join(dataDir, 'src');
  await mkdir(join(src, 'function'), { recursive: true });
  await writeFile(join(src, 'function', 'handler.js'), `'use strict';\nmodule.exports = async (event, context) => context.status(200).succeed(String(Buffer.byteLength(event.body)));\n`);
  await provider.bundles.add('count:latest', src, { mode: 'inproc', inproc_handler: 'function/handler.js' });
  await provider.deploy({ service: 'count', image: 'count:latest' });
  await until(async () => (await provider.endpoints('count')).length > 0, 20_000, 'count ready');
  const fnBody = Buffer.alloc(LIMIT * 4, 'f');
  const fnPost = (extra: string) => `POST /function/count HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nConnection: close\r\n${extra}\r\n`;
  let fres = await raw(port, fnPost(`Content-Length: ${fnBody.length}\r\n`), fnBody);
  t.equal(fres.status, 413, '/function/: Content-Length over max_function_body_bytes');
  const fnPieces = Array.from({ length: 16 }, (_, i) => fnBody.subarray(i * 1024, (i + 1) * 1024));
  fres = await raw(port, fnPost('Transfer-Encoding: chunked\r\n'), fnPieces, { chunked: true });
  t.equal(fres.status, 413, '/function/: chunked body over max_function_body_bytes');
  for (const size of [LIMIT, 10]) {
    fres = await raw(port, fnPost('Transfer-Encoding: chunked\r\n'), [Buffer.alloc(size, 'g')], { chunked: true });
    t.equal(fres.status, 200, `/function/: chunked body of ${size} bytes passes`);
    t.match(fres.text, new RegExp(`\\r\\n\\r\\n(?:[0-9a-f]+\\r\\n)?${size}\\b`), 'and arrives whole');
  }

  // Under the limit still works.
  const small = await request(`http://127.0.0.1:${port}/system/secrets`, { method: 'POST', body: JSON.stringify({ name: 'small', value: 'v' }) });
  await small.body.dump();
  t.equal(small.statusCode, 201);
});

interface Mode {
  mode: string;
  env: Record<string, string>;
}

async function startWatchdog(t: Test, dir: string, m: Mode) {
  const [cmd, ...args] = watchdogCommand();
  const child = spawn(cmd!, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      port: '0',
      metrics_port: '0',
      lock_path: join(dir, `.lock-${m.mode}`),
      max_body_bytes: String(LIMIT),
      SECRET_ENV: ENV_CANARY,
      mode: m.mode,
      ...m.env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => killGroup(child.pid));
  await until(() => /Listening on port: (\d+)/.test(out), 15_000, `${m.mode} watchdog listening`);
  const port = Number(/Listening on port: (\d+)/.exec(out)![1]);
  // /_/ready includes the http-mode upstream accepting connections (classic has /_/health only).
  const probe = m.mode === 'classic' ? '/_/health' : '/_/ready';
  await until(async () => (await request(`http://127.0.0.1:${port}${probe}`)).statusCode === 200, 15_000, `${m.mode} ready`);
  return { port, output: () => out, child };
}

t.test('watchdog: 431 for huge headers, 413 for bodies over max_body_bytes, no environment on /_/', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sec-wd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'handler.cjs'),
    `'use strict';\nmodule.exports = async (event, context) => context.status(200).succeed(String(Buffer.byteLength(typeof event.body === 'string' ? event.body : JSON.stringify(event.body ?? ''))));\n`,
  );
  await writeFile(
    join(dir, 'server.cjs'),
    `'use strict';\nrequire('node:http').createServer((req, res) => { let n = 0; req.on('data', (c) => (n += c.length)); req.on('end', () => res.end(String(n))); }).listen(Number(process.env.http_port), '127.0.0.1');\n`,
  );
  const upstreamPort = 20000 + (process.pid % 20000);
  const modes: Mode[] = [
    { mode: 'http', env: { fprocess: `node server.cjs`, upstream_url: `http://127.0.0.1:${upstreamPort}`, http_port: String(upstreamPort) } },
    { mode: 'http', env: { fprocess: `node server.cjs`, upstream_url: `http://127.0.0.1:${upstreamPort + 1}`, http_port: String(upstreamPort + 1), buffer_http: 'true' } },
    { mode: 'streaming', env: { fprocess: 'wc -c' } },
    { mode: 'serializing', env: { fprocess: 'wc -c' } },
    { mode: 'classic', env: { fprocess: 'wc -c' } },
    { mode: 'inproc', env: { inproc_handler: join(dir, 'handler.cjs') } },
  ];
  for (const m of modes) {
    const wd = await startWatchdog(t, dir, m);
    const label = `${m.mode}${m.env.buffer_http ? ' (buffered)' : ''}`;
    const url = `http://127.0.0.1:${wd.port}`;

    t.equal((await raw(wd.port, bigHeader('/'))).status, 431, `${label}: header over 1 MiB`);

    const big = Buffer.alloc(LIMIT * 4, 'b');
    let res = await raw(wd.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`, big);
    t.equal(res.status, 413, `${label}: Content-Length over the limit`);

    const pieces = Array.from({ length: 16 }, (_, i) => big.subarray(i * 1024, (i + 1) * 1024));
    res = await raw(wd.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', pieces, { chunked: true });
    // 413 while the answer has not started; a function that already answered has its connection cut.
    const counted = /\r\n\r\n\s*(\d+)\s*$/.exec(res.text)?.[1];
    t.ok(res.status === 413 || (counted !== undefined && Number(counted) <= LIMIT) || res.status === undefined, `${label}: chunked over the limit refused (${res.status ?? res.error})`);

    // Still serving, and a body at the limit goes through whole.
    const ok = await request(url, { method: 'POST', body: Buffer.alloc(LIMIT, 'c'), headers: { 'content-type': 'text/plain' } });
    const okText = await ok.body.text();
    t.equal(ok.statusCode, 200, `${label}: serving after refusals ${ok.statusCode === 200 ? "" : okText + wd.output().slice(-1500)}`);
    t.match(okText, new RegExp(`\\b${LIMIT}\\b`), `${label}: a body of exactly max_body_bytes arrives whole`);

    for (const path of ['/_/health', '/_/ready', '/_/metrics']) {
      const r = await request(url + path);
      const text = await r.body.text();
      t.notOk(text.includes(ENV_CANARY) || text.includes('SECRET_ENV'), `${label}: ${path} shows no environment`);
    }
    t.notOk(wd.output().includes(ENV_CANARY), `${label}: the watchdog log shows no environment`);
    killGroup(wd.child.pid);
  }
});

t.test('watchdog static mode: no way out of static_path (e.g. to /proc/self/environ)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sec-wd-static-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), 'hello');
  const wd = await startWatchdog(t, dir, { mode: 'static', env: { static_path: dir } });
  const up = '../'.repeat(12);
  for (const path of [`/${up}proc/self/environ`, `/${'%2e%2e/'.repeat(12)}proc/self/environ`, `/${'..%2f'.repeat(12)}proc/self/environ`, `/${up}etc/hostname`]) {
    const res = await raw(wd.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.not(res.status, 200, `${path} → ${res.status}`);
    t.notOk(res.text.includes(ENV_CANARY), 'no environment in the answer');
  }
  const ok = await request(`http://127.0.0.1:${wd.port}/`);
  t.equal(await ok.body.text(), 'hello', 'files inside static_path are served');
});
