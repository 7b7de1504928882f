/**
 * End to end: the gateway over HTTP in front of provider-local running real
 * fwatchdog replicas (inproc mode, the node20 template's default).
 * deploy → ready → invoke → scale (spread over replicas) → logs → scale to
 * zero and wake → remove, with basic auth on.
 * Needs dist/fwatchdog.cjs (`npm run build:watchdog`; `npm test` builds it).
 */
import t from 'tap';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { until, watchdogCommand } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const creds = { user: 'admin', password: 'e2e-secret' };
const auth = { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` };
const inprocEnv = { mode: 'inproc', inproc_handler: 'function/handler.js', exec_timeout: '10s', prefix_logs: 'false' };

/** Answers with the replica's pid after a short pause, so concurrent calls overlap. */
const WHOAMI = `'use strict';
module.exports = async (event, context) => {
  await new Promise((r) => setTimeout(r, 40));
  console.log('whoami served ' + event.method);
  return context.status(200).succeed(String(process.pid));
};
`;

t.test('gateway + provider-local + real watchdogs', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gw-e2e-'));
  const provider = await createLocalProvider({
    dataDir,
    watchdogCommand: watchdogCommand(),
    timings: { stopGraceMs: 5000 },
  });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true' }), {
    provider,
    credentials: creds,
  });
  t.teardown(async () => {
    await gw.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  // Bundles: the sample hello-node function and a whoami function, both inproc.
  const src = join(dataDir, 'src');
  await mkdir(join(src, 'hello', 'function'), { recursive: true });
  await cp(join(root, 'functions/hello-node/handler.js'), join(src, 'hello', 'function', 'handler.js'));
  await provider.bundles.add('hello-node:latest', join(src, 'hello'), inprocEnv);
  await mkdir(join(src, 'who', 'function'), { recursive: true });
  await writeFile(join(src, 'who', 'function', 'handler.js'), WHOAMI);
  await provider.bundles.add('whoami:latest', join(src, 'who'), inprocEnv);

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(gw.url + path, {
      method: method as 'GET',
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const status = async (name: string) => (await api('GET', `/system/function/${name}`)).json() as { replicas?: number; availableReplicas?: number };
  const invoke = async (name: string, body?: string) => {
    const res = await request(`${gw.url}/function/${name}`, { method: body === undefined ? 'GET' : 'POST', body });
    return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
  };

  await t.test('auth is required on /system/*', async (t) => {
    const res = await request(`${gw.url}/system/functions`);
    t.equal(res.statusCode, 401);
    t.equal(await res.body.text(), 'invalid credentials');
    t.equal((await api('GET', '/system/functions')).status, 200);
  });

  await t.test('deploy → ready → invoke', async (t) => {
    let res = await api('POST', '/system/functions', { service: 'hello', image: 'hello-node:latest', labels: {}, annotations: {} });
    t.equal(res.status, 202, res.text);
    await until(async () => ((await status('hello')).availableReplicas ?? 0) > 0, 20_000, 'hello ready');

    const out = await invoke('hello', 'tester');
    t.equal(out.status, 200);
    t.equal(out.text, 'Hello, tester! (from hello-node)\n');
    t.ok(out.headers['x-call-id']);
    t.match(out.headers['x-served-by'], /^openfaas-ce\//);
    t.equal((await invoke('hello.openfaas-fn')).status, 200, 'fn.ns addressing');

    res = await api('GET', '/system/functions');
    const list = JSON.parse(res.text) as Array<{ name: string; invocationCount?: number; replicas?: number }>;
    t.match(list.find((f) => f.name === 'hello'), { name: 'hello', invocationCount: 2, replicas: 1 });
  });

  await t.test('scale up: concurrent invocations spread over replicas', async (t) => {
    t.equal((await api('POST', '/system/functions', { service: 'who', image: 'whoami:latest' })).status, 202);
    const res = await api('POST', '/system/scale-function/who', { serviceName: 'who', replicas: 3 });
    t.equal(res.status, 202);
    await until(async () => (await status('who')).availableReplicas === 3, 30_000, 'three replicas ready');
    const answers = await Promise.all(Array.from({ length: 24 }, () => invoke('who')));
    t.ok(answers.every((a) => a.status === 200));
    const pids = new Set(answers.map((a) => a.text));
    t.equal(pids.size, 3, `all replicas served (${[...pids].join(',')})`);
  });

  await t.test('logs stream as NDJSON', async (t) => {
    await until(
      async () => (await api('GET', '/system/logs?name=who&follow=false')).text.includes('whoami served'),
      10_000,
      'function output in logs',
    );
    const res = await request(`${gw.url}/system/logs?name=who&follow=false&tail=5`, { headers: auth });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/x-ndjson');
    const lines = (await res.body.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    t.ok(lines.length > 0 && lines.length <= 5, `tail honoured (${lines.length})`);
    t.same(Object.keys(lines[0]!), ['name', 'namespace', 'instance', 'timestamp', 'text']);
    t.equal(lines[0]!.name, 'who');

    // follow=true stays open until the client goes away.
    const ac = new AbortController();
    const follow = await request(`${gw.url}/system/logs?name=who&follow=true`, { headers: auth, signal: ac.signal });
    t.equal(follow.statusCode, 200);
    void invoke('who');
    let seen = '';
    for await (const chunk of follow.body) {
      seen += (chunk as Buffer).toString();
      if (seen.includes('whoami served')) break;
    }
    ac.abort();
    t.match(seen, /whoami served/);
  });

  await t.test('scale to zero, then an invocation wakes the function', async (t) => {
    t.equal((await api('POST', '/system/scale-function/who', { serviceName: 'who', replicas: 0 })).status, 202);
    await until(async () => ((await status('who')).availableReplicas ?? 0) === 0, 20_000, 'scaled to zero');
    const out = await invoke('who');
    t.equal(out.status, 200, 'woken by the invocation');
    t.match(out.text, /^\d+$/);
    t.equal((await status('who')).replicas, 1, 'woken to com.openfaas.scale.min (default 1)');
  });

  await t.test('metrics after invocations', async (t) => {
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    t.match(text, /gateway_function_invocation_total\{function_name="who\.openfaas-fn",code="200"\} \d+/);
    t.match(text, /gateway_service_count\{function_name="hello\.openfaas-fn"\} 1/);
  });

  await t.test('remove → 404', async (t) => {
    t.equal((await api('DELETE', '/system/functions', { functionName: 'hello' })).status, 202);
    t.equal((await api('GET', '/system/function/hello')).status, 404);
    const out = await invoke('hello');
    t.equal(out.status, 404);
    t.match(out.text, /^error finding function hello\.openfaas-fn: /);
    t.equal((await api('DELETE', '/system/functions', { functionName: 'hello' })).status, 404);
  });

  await t.test('system info and secrets through the real provider', async (t) => {
    const info = (await api('GET', '/system/info')).json() as { provider: { provider: string; orchestration: string } };
    t.ok(info.provider.provider, 'provider name');
    t.equal((await api('POST', '/system/secrets', { name: 'api-key', value: 'v1' })).status, 201);
    const list = await api('GET', '/system/secrets');
    t.match(list.text, /api-key/);
    t.notMatch(list.text, /v1/);
    t.equal((await api('POST', '/system/secrets', { name: 'api-key', value: 'v2' })).status, 409);
    t.equal((await api('DELETE', '/system/secrets', { name: 'api-key' })).status, 202);
  });
});
