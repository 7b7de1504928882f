/**
 * Secrets and the admin password never leak, and what is on disk is owner-only
 * (#12 security). One real `faas-ts up` (gateway + provider-local + embedded
 * queue and worker, real watchdogs):
 * - secrets with canary values are created, a function mounting one is
 *   deployed, invoked (sync and async), scaled, woken from zero; bad secret
 *   requests and bad deploys are made;
 * - then the canaries must appear nowhere: not in the child's stdout/stderr
 *   (gateway, provider, queue-worker logs), /system/functions,
 *   /system/function/NAME, /system/secrets, /system/logs, /metrics, the UI
 *   files or any error body — only in the function's own answer, which returns
 *   the secret on purpose. On disk they are only in the secret files.
 * - the admin password: printed once on stdout, otherwise only in its file;
 * - every file and folder `up` created under the data dir (bundles aside: code,
 *   not secrets) has no group/other permission bits, e.g. 0600 / 0700.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { cliCommand, killGroup, until } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const CANARY_RAW = `rawcanary-${randomBytes(12).toString('hex')}`;
const FN = 'secret-reader';

/** An inproc bundle that answers with the secret file's content (its deliberate output) and logs only a fixed line. */
const HANDLER = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
module.exports = async (event, context) => {
  console.log('secret-reader invoked');
  const value = fs.readFileSync(path.join(process.env.secret_mount_path, 'canary-secret'), 'utf8');
  return context.status(200).succeed(value);
};
`;

/** Every file under `dir`, with content; folders too (content undefined). */
async function walk(dir: string): Promise<Array<{ path: string; mode: number; isDir: boolean; content?: Buffer }>> {
  const out: Array<{ path: string; mode: number; isDir: boolean; content?: Buffer }> = [];
  const visit = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = await stat(p).catch(() => undefined); // replicas may remove scratch files meanwhile
      if (!s) continue;
      if (s.isDirectory()) {
        out.push({ path: p, mode: s.mode & 0o777, isDir: true });
        await visit(p);
      } else if (s.isFile()) {
        out.push({ path: p, mode: s.mode & 0o777, isDir: false, content: await readFile(p).catch(() => Buffer.alloc(0)) });
      }
    }
  };
  await visit(dir);
  return out;
}

t.test('secrets and the admin password do not leak; data files are owner-only', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-leak-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // The bundle the function runs from, installed by hand as provider-local/README.md describes.
  const bundle = join(dataDir, 'bundles', `${FN}_latest`);
  await mkdir(join(bundle, 'function'), { recursive: true });
  await writeFile(join(bundle, 'function', 'handler.js'), HANDLER);
  await writeFile(
    join(bundle, 'bundle.json'),
    JSON.stringify({ image: `${FN}:latest`, env: { mode: 'inproc', inproc_handler: 'function/handler.js', exec_timeout: '10s' } }),
  );

  const child = spawn(process.execPath, [...cliCommand(), 'up', '--skip-deploy'], {
    cwd: repo,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      FAAS_TS_DATA_DIR: dataDir,
      FAAS_TS_LOG_LEVEL: 'debug',
      port: '0',
      metrics_port: '0',
      scale_from_zero: 'true',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => killGroup(child.pid));

  await until(() => /^Gateway:\s+\S+/m.test(stdout), 30_000, 'faas-ts up banner');
  const gw = /^Gateway:\s+(\S+)/m.exec(stdout)![1]!;
  const password = /^Password:\s+(\S+)$/m.exec(stdout)![1]!;
  t.equal(password.length, 43, 'a generated password was printed');
  const authorization = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;

  const bodies: Array<[string, string]> = [];
  const api = async (method: string, path: string, body?: unknown, raw?: string) => {
    const res = await request(gw + path, {
      method: method as 'GET',
      headers: { authorization, 'content-type': 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    bodies.push([`${method} ${path} → ${res.statusCode}`, text]);
    return { status: res.statusCode, text };
  };

  // Secrets, including every kind of failing request that carries the value.
  t.equal((await api('POST', '/system/secrets', { name: 'canary-secret', value: CANARY })).status, 201);
  t.equal((await api('POST', '/system/secrets', { name: 'raw-secret', rawValue: Buffer.from(CANARY_RAW).toString('base64') })).status, 201);
  t.equal((await api('POST', '/system/secrets', { name: 'canary-secret', value: CANARY })).status, 409, 'duplicate');
  t.equal((await api('POST', '/system/secrets', { name: 'Bad Name', value: CANARY })).status, 400, 'bad name');
  t.equal((await api('PUT', '/system/secrets', { name: 'missing-secret', value: CANARY })).status, 404, 'update of a missing secret');
  t.equal((await api('POST', '/system/secrets', { name: 'x', value: CANARY, namespace: 'no-such-ns' })).status, 400, 'unknown namespace');
  t.equal((await api('POST', '/system/secrets', undefined, `{"name":"y","value":"${CANARY}"`)).status, 400, 'truncated JSON');
  t.equal((await api('POST', '/system/secrets', undefined, `{"name":"y","value":"${CANARY}",}`)).status, 400, 'invalid JSON');
  t.equal((await api('POST', '/system/secrets', { name: 'y', value: 7, rawValue: CANARY })).status, 400, 'wrong types');
  t.equal((await api('POST', '/system/secrets', undefined, `name=y&value=${CANARY}`)).status, 400, 'a form body');
  t.equal((await api('POST', '/system/secrets', undefined, `${CANARY}`)).status, 400, 'the bare value');
  t.equal((await api('POST', '/system/secrets', undefined, `{"name":"y","value":"${CANARY}" x}`)).status, 400, 'junk after the value');
  t.equal((await api('POST', '/system/secrets', { name: 'z', rawValue: `${CANARY}!` })).status, 400, 'rawValue not base64');

  // Deploy, invoke, scale, wake from zero; bad deploys.
  t.equal((await api('POST', '/system/functions', { service: FN, image: `${FN}:latest`, secrets: ['canary-secret'] })).status, 202);
  const invoke = async () => {
    const res = await request(`${gw}/function/${FN}`, { method: 'POST', body: 'hi', headersTimeout: 30_000 });
    return { status: res.statusCode, text: await res.body.text() };
  };
  await until(async () => (await invoke()).status === 200, 30_000, 'function ready');
  t.same(await invoke(), { status: 200, text: CANARY }, 'the function reads its secret (its deliberate output)');
  t.equal((await api('POST', `/system/scale-function/${FN}`, { serviceName: FN, replicas: 2 })).status, 202);
  await until(async () => JSON.parse((await api('GET', `/system/function/${FN}`)).text).availableReplicas === 2, 30_000, '2 replicas');
  for (let i = 0; i < 4; i++) t.equal((await invoke()).text, CANARY);
  t.equal((await api('PUT', '/system/secrets', { name: 'canary-secret', value: `${CANARY}-v2` })).status, 202, 'secret update');
  await until(async () => (await invoke()).text === `${CANARY}-v2`, 10_000, 'updated secret visible');
  t.equal((await api('POST', `/system/scale-function/${FN}`, { serviceName: FN, replicas: 0 })).status, 202);
  // replicas is omitted when 0 (Go omitempty).
  await until(async () => (JSON.parse((await api('GET', `/system/function/${FN}`)).text).replicas ?? 0) === 0, 30_000, 'scaled to zero');
  t.equal((await invoke()).text, `${CANARY}-v2`, 'woken from zero');
  const asyncRes = await request(`${gw}/async-function/${FN}`, { method: 'POST', body: 'async hi' });
  await asyncRes.body.dump();
  t.equal(asyncRes.statusCode, 202);
  await until(async () => /queue_worker_invocations_total\{[^}]*\} [1-9]/.test((await api('GET', '/metrics')).text), 30_000, 'async invocation done');
  t.equal((await api('POST', '/system/functions', { service: 'bad1', image: `${FN}:latest`, secrets: ['no-such-secret'] })).status, 400);
  t.equal((await api('POST', '/system/functions', { service: 'bad2', image: 'no-such-image:1', secrets: ['canary-secret'], envVars: { A: 'b' } })).status, 400);
  t.equal((await api('POST', '/system/functions', { service: 'bad3', image: `${FN}:latest`, secrets: ['../raw-secret'] })).status, 400);

  // Everything an operator or another client can read.
  await api('GET', '/system/functions');
  await api('GET', `/system/function/${FN}`);
  const secrets = await api('GET', '/system/secrets');
  t.same(JSON.parse(secrets.text).map((s: { name: string }) => s.name).sort(), ['canary-secret', 'raw-secret'], 'names only');
  for (const item of JSON.parse(secrets.text)) t.notOk('value' in item || 'rawValue' in item, `no value field for ${item.name}`);
  const logs = await api('GET', `/system/logs?name=${FN}&follow=false&tail=1000`);
  t.match(logs.text, /secret-reader invoked/, 'function logs are there');
  await api('GET', '/system/info');
  await api('GET', '/metrics');
  for (const f of await walk(join(repo, 'ui'))) {
    if (!f.isDir) await api('GET', `/ui/${relative(join(repo, 'ui'), f.path)}`);
  }
  await api('GET', '/ui/');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean shutdown');

  // The canaries and the password, wherever they could surface.
  const values = [CANARY, `${CANARY}-v2`, CANARY_RAW, Buffer.from(CANARY_RAW).toString('base64')];
  const hit = (text: string) => values.some((v) => text.includes(v)) || text.includes(CANARY.slice(7));
  t.notOk(hit(stderr), 'no secret in the logs (gateway, provider-local, queue-worker, replicas)');
  t.notOk(hit(stdout), 'no secret on stdout');
  for (const [what, body] of bodies) if (hit(body)) t.fail(`secret in the answer to ${what}`);
  t.ok(bodies.length > 30, `${bodies.length} answers checked`);
  t.notOk(stderr.includes(password), 'the admin password is not in the logs');
  t.equal(stdout.split(password).length - 1, 1, 'the password is printed exactly once');
  for (const [what, body] of bodies) if (body.includes(password)) t.fail(`password in the answer to ${what}`);

  const files = await walk(dataDir);
  const allowedSecretHolders = (p: string) => /\/(secrets\/openfaas-fn|run\/.*\/secrets)\/(canary-secret|raw-secret)$/.test(p);
  for (const f of files) {
    if (f.isDir || !f.content) continue;
    const text = f.content.toString('latin1');
    if (hit(text) && !allowedSecretHolders(f.path)) t.fail(`secret value in ${relative(dataDir, f.path)}`);
    if (text.includes(password) && relative(dataDir, f.path) !== 'gateway-secrets/basic-auth-password') {
      t.fail(`admin password in ${relative(dataDir, f.path)}`);
    }
  }
  t.ok(files.some((f) => f.path.endsWith('secrets/openfaas-fn/canary-secret')), 'the secret file exists');
  t.match(stderr, /invocation done/, 'the queue-worker logged the async call (debug level), checked above');

  // Owner-only on disk (bundles are code, not data: left as installed).
  const loose = files.filter((f) => !relative(dataDir, f.path).startsWith('bundles') && (f.mode & 0o077) !== 0);
  t.same(loose.map((f) => `${relative(dataDir, f.path)} ${f.mode.toString(8)}`), [], 'no group/other bits under the data dir');
  const modeOf = (rel: string) => files.find((f) => relative(dataDir, f.path) === rel)?.mode;
  t.equal((await stat(dataDir)).mode & 0o777, 0o700, 'data dir 0700');
  t.equal(modeOf('gateway-secrets'), 0o700);
  t.equal(modeOf('gateway-secrets/basic-auth-password'), 0o600);
  t.equal(modeOf('gateway-secrets/basic-auth-user'), 0o600);
  t.equal(modeOf('secrets/openfaas-fn'), 0o700);
  t.equal(modeOf('secrets/openfaas-fn/canary-secret'), 0o600);
  t.equal(modeOf(`state/functions/openfaas-fn/${FN}.json`), 0o600);
  t.equal(modeOf('queue'), 0o700);
  t.ok(files.filter((f) => relative(dataDir, f.path).startsWith('queue/') && !f.isDir).every((f) => f.mode === 0o600), 'queue files 0600');
  t.ok(files.filter((f) => relative(dataDir, f.path).startsWith('logs/') && !f.isDir).every((f) => f.mode === 0o600), 'log files 0600');
  t.pass(`${files.length} paths checked; canary sha ${createHash('sha256').update(CANARY).digest('hex').slice(0, 8)}`);
});
