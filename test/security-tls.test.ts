/**
 * Optional TLS on the gateway's API port (#12 security), with a self-signed
 * certificate made by `openssl req -x509` in a temp dir:
 * - config: a lone tls_cert_file / tls_key_file, an unreadable file, a key that
 *   does not match, a file that is not PEM → startup errors naming the variable;
 * - the gateway: HTTPS on loopback (Fastify routes and the /function/ hot path),
 *   basic auth still enforced, plain HTTP on the same port gets no HTTP answer,
 *   a client that does not trust the certificate is refused;
 * - `faas-ts up --tls-cert --tls-key`: https URL in the banner, auth enforced,
 *   and the embedded queue worker reaches the gateway over TLS (an async
 *   invocation's result arrives at its callback).
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { buildGateway, loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { cliCommand, killGroup, until, watchdogCommand } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const creds = { user: 'admin', password: 'tls-test-pw' };
const authorization = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

const dirP = mkdtemp(join(tmpdir(), 'sec-tls-'));
t.teardown(async () => rm(await dirP, { recursive: true, force: true }));

t.test('TLS configuration errors are clear and stop startup', async (t) => {
  const dir = await dirP;
  const a = selfSigned(dir, 'a');
  const b = selfSigned(dir, 'b');
  const configError = (env: Record<string, string>) => {
    try {
      loadGatewayConfig({ port: '0', ...env });
      return undefined;
    } catch (err) {
      return err as { code?: string; message: string };
    }
  };
  let err = configError({ tls_cert_file: a.cert });
  t.equal(err?.code, 'GW_ERR_CONFIG');
  t.match(err?.message, /TLS needs both tls_cert_file and tls_key_file \(only tls_cert_file is set\)/);
  err = configError({ tls_key_file: a.key });
  t.match(err?.message, /only tls_key_file is set/);
  err = configError({ tls_cert_file: join(dir, 'missing.crt'), tls_key_file: a.key });
  t.match(err?.message, /tls_cert_file=".*missing\.crt" cannot be read: ENOENT/);
  err = configError({ tls_cert_file: a.cert, tls_key_file: dir });
  t.match(err?.message, /tls_key_file=.* is not a file/);
  t.equal(configError({ tls_cert_file: a.cert, tls_key_file: a.key }), undefined, 'a good pair loads');

  const provider = await createLocalProvider({ dataDir: join(dir, 'data-cfg'), watchdogCommand: watchdogCommand() });
  t.teardown(() => provider.close());
  await t.rejects(buildGateway(loadGatewayConfig({ port: '0', tls_cert_file: a.cert, tls_key_file: b.key }), { provider }), {
    code: 'GW_ERR_CONFIG',
    message: /are not a usable certificate and key/,
  });
  const junk = join(dir, 'junk.pem');
  await writeFile(junk, 'not a certificate');
  await t.rejects(buildGateway(loadGatewayConfig({ port: '0', tls_cert_file: junk, tls_key_file: a.key }), { provider }), {
    code: 'GW_ERR_CONFIG',
  });
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked.key');
    await writeFile(locked, 'x');
    await chmod(locked, 0o000);
    t.match(configError({ tls_cert_file: a.cert, tls_key_file: locked })?.message, /tls_key_file=.* cannot be read: EACCES/);
  }
});

t.test('HTTPS gateway: routes and hot path over TLS, auth enforced, plain HTTP refused', async (t) => {
  const dir = await dirP;
  const { cert, key } = selfSigned(dir, 'gw');
  const provider = await createLocalProvider({ dataDir: join(dir, 'data-gw'), watchdogCommand: watchdogCommand() });
  const gw = await startGateway(
    loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true', tls_cert_file: cert, tls_key_file: key }),
    { provider, credentials: creds },
  );
  const trusting = new Agent({ connect: { ca: execFileSync('cat', [cert]).toString() } });
  t.teardown(async () => {
    await trusting.close();
    await gw.close();
    await provider.close();
  });
  t.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(gw.url + path, { dispatcher: trusting, headers });
    return { status: res.statusCode, text: await res.body.text() };
  };
  t.same(await get('/healthz'), { status: 200, text: 'OK' });
  t.equal((await get('/system/functions')).status, 401, 'no credentials');
  t.equal((await get('/system/functions', { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` })).status, 401, 'wrong');
  t.same(await get('/system/functions', { authorization }), { status: 200, text: '[]' });
  t.equal((await get('/ui/')).status, 401, 'UI too');
  const fn = await get('/function/not-deployed');
  t.equal(fn.status, 404, 'the /function/ hot path answers over TLS');
  t.match(fn.text, /not-deployed/);

  // Plain HTTP on the TLS port: the handshake fails, no HTTP response comes back.
  const port = Number(new URL(gw.url).port);
  const plain = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/system/functions', headers: { authorization } }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.end();
  });
  t.match(plain, /^error /, `plain HTTP refused (${plain})`);

  // A client that does not trust the certificate.
  await t.rejects(request(`${gw.url}/healthz`), /self-signed|certificate/i, 'untrusted certificate refused by default');
});

t.test('faas-ts up --tls-cert --tls-key: HTTPS, auth, and the embedded worker over TLS', async (t) => {
  const dir = await dirP;
  const { cert, key } = selfSigned(dir, 'up');
  const dataDir = join(dir, 'data-up');
  const bundle = join(dataDir, 'bundles', 'tls-echo_latest');
  await mkdir(join(bundle, 'function'), { recursive: true });
  await writeFile(join(bundle, 'function', 'handler.js'), `'use strict';\nmodule.exports = async (event, context) => context.status(200).succeed('echo:' + event.body);\n`);
  await writeFile(join(bundle, 'bundle.json'), JSON.stringify({ image: 'tls-echo:latest', env: { mode: 'inproc', inproc_handler: 'function/handler.js' } }));

  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', FAAS_TS_DATA_DIR: dataDir, port: '0', metrics_port: '0' };
  // A lone flag is a configuration error naming the missing variable.
  const lone = spawn(process.execPath, [...cliCommand(), 'up', '--skip-deploy', '--tls-cert', cert], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let loneErr = '';
  lone.stderr!.on('data', (d: Buffer) => (loneErr += d.toString()));
  const loneCode = await new Promise<number | null>((resolve) => lone.once('exit', resolve));
  t.equal(loneCode, 1);
  t.match(loneErr, /tls_key_file/);

  const child = spawn(process.execPath, [...cliCommand(), 'up', '--skip-deploy', '--tls-cert', cert, '--tls-key', key], {
    cwd: repo,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => killGroup(child.pid));
  await until(() => /^Gateway:\s+\S+/m.test(out), 30_000, 'banner');
  const url = /^Gateway:\s+(\S+)/m.exec(out)![1]!;
  t.match(url, /^https:\/\//, 'the banner shows an https URL');
  t.match(out, /Try:\s+curl --cacert /);
  const password = /^Password:\s+(\S+)$/m.exec(out)![1]!;
  const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  const trusting = new Agent({ connect: { ca: execFileSync('cat', [cert]).toString() } });
  t.teardown(() => trusting.close());
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const res = await request(url + path, { dispatcher: trusting, method: method as 'GET', headers, body });
    return { status: res.statusCode, text: await res.body.text() };
  };
  t.equal((await call('GET', '/system/functions')).status, 401);
  t.equal((await call('POST', '/system/functions', { authorization: auth }, JSON.stringify({ service: 'tls-echo', image: 'tls-echo:latest' }))).status, 202);
  await until(async () => (await call('POST', '/function/tls-echo', {}, 'x')).status === 200, 30_000, 'function ready');
  t.same(await call('POST', '/function/tls-echo', {}, 'sync'), { status: 200, text: 'echo:sync' });

  // The async result comes back through the embedded worker, which must speak TLS to the gateway.
  const received: string[] = [];
  const callback = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      received.push(b);
      res.end();
    });
  });
  await new Promise<void>((r) => callback.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => callback.close(() => r())));
  const cb = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/done`;
  const queued = await call('POST', '/async-function/tls-echo', { 'x-callback-url': cb }, 'async');
  t.equal(queued.status, 202);
  await until(() => received.length > 0, 30_000, 'async callback');
  t.equal(received[0], 'echo:async', 'the worker invoked the function through the TLS gateway');
  // Replicas run in their own sessions: only a graceful stop of `up` ends them,
  // so wait for it before the teardown's SIGKILL of the group.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
});
