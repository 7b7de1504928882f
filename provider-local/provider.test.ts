import t from 'tap';
import { request } from 'undici';
import { ProviderError, type LogMessage } from '../provider/index.js';
import { until } from '../test/helpers.js';
import { makeTestProvider } from './test-fixtures.js';
import type { LocalProvider } from './provider.js';

const READY_MS = 20_000;

async function invoke(provider: LocalProvider, name: string, path = '/', init: { method?: string; body?: string } = {}, ns?: string) {
  const [ep] = await provider.endpoints(name, ns);
  if (!ep) throw new Error(`no endpoint for ${name}`);
  const res = await request(`${ep.baseUrl}${ep.pathPrefix}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body });
  return { status: res.statusCode, body: await res.body.text(), endpoint: ep };
}

async function ready(provider: LocalProvider, name: string, n = 1, ns?: string) {
  await until(async () => (await provider.get(name, ns))?.availableReplicas === n, READY_MS, `${name} has ${n} ready replicas`);
}

async function collect(iter: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const m of iter) out.push(m);
  return out;
}

t.test('deploy, invoke, scale, logs, remove (http bundle)', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'hello', image: 'hello-http:latest', envVars: { greeting: 'hi' }, labels: { team: 'a' } });
  const status = await p.get('hello');
  t.match(status, { name: 'hello', image: 'hello-http:latest', namespace: 'openfaas-fn', replicas: 1, labels: { team: 'a', faas_function: 'hello' }, annotations: {} });
  t.ok(status?.createdAt && !Number.isNaN(Date.parse(status.createdAt)), 'createdAt is a date');
  await ready(p, 'hello');
  const first = await invoke(p, 'hello', '/some/path');
  t.equal(first.status, 200);
  const body = JSON.parse(first.body) as { greeting: string; cwd: string; path: string };
  t.equal(body.greeting, 'hi', 'deployment envVars reach the function');
  t.equal(body.path, '/some/path');
  t.match(body.cwd, /bundles\/hello-http_latest$/, 'cwd is the bundle folder');
  t.equal(first.endpoint.pathPrefix, '');
  t.match(first.endpoint.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);

  await until(async () => (await collect(p.logs!({ name: 'hello', tail: 0 }, new AbortController().signal))).some((m) => m.text.includes('handled GET /some/path')), 5000, 'function stdout captured');
  const logs = await collect(p.logs!({ name: 'hello' }, new AbortController().signal));
  t.ok(logs.every((m) => m.name === 'hello' && m.namespace === 'openfaas-fn' && m.instance.startsWith('hello-')));
  const tail = await collect(p.logs!({ name: 'hello', tail: 2 }, new AbortController().signal));
  t.equal(tail.length, 2, 'tail limits the backlog');
  t.same(tail, logs.slice(-2));
  const future = await collect(p.logs!({ name: 'hello', since: new Date(Date.now() + 60_000) }, new AbortController().signal));
  t.equal(future.length, 0, 'since filters old lines');

  await p.scale('hello', 2);
  t.equal((await p.get('hello'))?.replicas, 2, 'desired replicas reflect scale at once');
  await ready(p, 'hello', 2);
  const eps = await p.endpoints('hello');
  t.equal(new Set(eps.map((e) => e.baseUrl)).size, 2, 'two replicas on two ports');
  t.equal(new Set(eps.map((e) => e.id)).size, 2);
  const pids = new Set<number>();
  for (const ep of eps) pids.add((JSON.parse(await (await request(ep.baseUrl + '/')).body.text()) as { pid: number }).pid);
  t.equal(pids.size, 2, 'each replica runs its own function process');
  const byInstance = await collect(p.logs!({ name: 'hello', instance: eps[0]!.id }, new AbortController().signal));
  t.ok(byInstance.length > 0 && byInstance.every((m) => m.instance === eps[0]!.id), 'instance filter');

  await p.scale('hello', 0);
  t.equal((await p.get('hello'))?.replicas, 0);
  t.same(await p.endpoints('hello'), [], 'scaled to zero: no endpoints at once');
  await until(() => p.replicas('hello').length === 0, 10_000, 'replicas stopped');
  t.equal((await p.get('hello'))?.availableReplicas ?? 0, 0);
  await p.scale('hello', 1);
  await ready(p, 'hello');
  t.equal((await invoke(p, 'hello')).status, 200, 'back from zero');

  await t.rejects(p.scale('hello', -1), { code: 'INVALID' });
  await t.rejects(p.scale('nope', 1), { code: 'NOT_FOUND' });
  await p.remove('hello');
  t.equal(await p.get('hello'), undefined);
  await t.rejects(p.endpoints('hello'), { code: 'NOT_FOUND' });
  await t.rejects(p.remove('hello'), { code: 'NOT_FOUND' });
  await t.rejects(collect(p.logs!({ name: 'hello' }, new AbortController().signal)), { code: 'NOT_FOUND' });
});

t.test('logs follow streams new lines until aborted; optional log file', async (t) => {
  const env = await makeTestProvider({ logFiles: true });
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'follow', image: 'hello-http' });
  await ready(p, 'follow');
  const ac = new AbortController();
  const seen: string[] = [];
  const reader = (async () => {
    for await (const m of p.logs!({ name: 'follow', follow: true, tail: 1 }, ac.signal)) {
      seen.push(m.text);
      if (m.text.includes('handled GET /after')) ac.abort();
    }
  })();
  await invoke(p, 'follow', '/after');
  await reader;
  t.ok(seen.some((s) => s.includes('handled GET /after')), 'followed a line written after the call');
  const { readFile } = await import('node:fs/promises');
  await until(async () => (await readFile(`${env.dataDir}/logs/openfaas-fn/follow.log`, 'utf8')).includes('handled GET /after'), 5000, 'log file written');
});

t.test('crashed replica is restarted and ready again', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'crashy', image: 'hello-http' });
  await ready(p, 'crashy');
  const [before] = p.replicas('crashy');
  t.ok(before?.pid);
  process.kill(before!.pid!, 'SIGKILL');
  await until(() => p.replicas('crashy')[0]!.restarts >= 1, 5000, 'crash noticed');
  await ready(p, 'crashy');
  const [after] = p.replicas('crashy');
  t.equal(after!.id, before!.id, 'instance name kept across restarts');
  t.not(after!.pid, before!.pid, 'a new process');
  t.equal((await invoke(p, 'crashy')).status, 200);
  const logs = await collect(p.logs!({ name: 'crashy' }, new AbortController().signal));
  t.ok(logs.some((m) => /killed by SIGKILL; restarting/.test(m.text)), 'crash noted in the function logs');
});

t.test('rolling update: new replicas serve, old ones stop; PUT unknown is NOT_FOUND', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'roll', image: 'hello-http', envVars: { greeting: 'v1' } });
  await ready(p, 'roll');
  const created = (await p.get('roll'))!.createdAt;
  const [old] = p.replicas('roll');
  await p.deploy({ service: 'roll', image: 'hello-http', envVars: { greeting: 'v2' }, annotations: { rev: '2' } });
  t.match(await p.get('roll'), { envVars: { greeting: 'v2' }, annotations: { rev: '2' }, createdAt: created, replicas: 1 }, 'spec updated at once, createdAt kept');
  await until(async () => JSON.parse((await invoke(p, 'roll')).body).greeting === 'v2', READY_MS, 'new generation serves');
  await until(() => p.replicas('roll').every((r) => r.id !== old!.id), 10_000, 'old replica stopped');
  t.equal(p.replicas('roll').length, 1);
  await t.rejects(p.update({ service: 'ghost', image: 'hello-http' }), { code: 'NOT_FOUND' });
});

t.test('generic image runs envProcess per request (env, cat)', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'env-test', image: 'docker.io/functions/alpine:latest', envProcess: 'env', envVars: { custom_env: 'custom_env_value' } });
  await p.deploy({ service: 'echo', image: 'functions/alpine', envProcess: 'cat' });
  t.equal((await p.get('env-test'))?.image, 'docker.io/functions/alpine:latest', 'image kept verbatim');
  await ready(p, 'env-test');
  await ready(p, 'echo');
  const envOut = await invoke(p, 'env-test', '/?testing=1', { method: 'POST', body: '' });
  t.equal(envOut.status, 200);
  t.match(envOut.body, /custom_env=custom_env_value/);
  t.match(envOut.body, /Http_Method=POST/);
  t.match(envOut.body, /Http_Query=testing=1/);
  const echo = await invoke(p, 'echo', '/', { method: 'POST', body: 'openfaas-fn' });
  t.equal(echo.body, 'openfaas-fn');
  await until(async () => {
    const lines = (await collect(p.logs!({ name: 'echo' }, new AbortController().signal))).map((m) => m.text.replace(/^[\d/: ]+/, ''));
    return lines.some((l) => l.startsWith('Forking fprocess')) && lines.some((l) => l.startsWith('Wrote 11 Bytes'));
  }, 5000, 'classic watchdog log lines');
  await t.rejects(p.deploy({ service: 'noproc', image: 'functions/alpine:latest' }), { code: 'INVALID' });
});

t.test('unknown image and bad names are INVALID; streaming bundle works', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  const err = await p.deploy({ service: 'x', image: 'nosuch/image:1' }).catch((e: unknown) => e);
  t.ok(ProviderError.is(err, 'INVALID'));
  t.match((err as Error).message, /nosuch\/image:1.*faas-ts build.*bundle\.json/s);
  await t.rejects(p.deploy({ service: 'Bad_Name', image: 'echo-cat' }), { code: 'INVALID' });
  await t.rejects(p.deploy({ service: 'x', image: 'echo-cat', namespace: 'missing' }), { code: 'INVALID' });
  await t.rejects(p.deploy({ service: 'x', image: 'echo-cat', secrets: ['absent'] }), { code: 'INVALID' });
  const off = await env.reopen({ genericImages: false });
  t.teardown(() => off.close());
  await t.rejects(off.deploy({ service: 'g', image: 'functions/alpine', envProcess: 'cat' }), { code: 'INVALID' }, 'generic runtime can be switched off');

  await p.deploy({ service: 'cat', image: 'echo-cat', registryAuth: 'dXNlcjpwYXNz' } as never);
  const { readFile } = await import('node:fs/promises');
  const saved = await readFile(`${env.dataDir}/state/functions/openfaas-fn/cat.json`, 'utf8');
  t.notMatch(saved, /registryAuth/, 'unknown keys (registry credentials) are not persisted');
  await ready(p, 'cat');
  t.equal((await invoke(p, 'cat', '/', { method: 'POST', body: 'streamed' })).body, 'streamed');
});

t.test('secrets: CRUD, 0600 files, visible to functions, updated in place', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.createSecret({ name: 'secret-string', value: 'this-is-the-secret-string-value' });
  await p.createSecret({ name: 'secret-bytes', rawValue: Buffer.from([0, 1, 2, 255]).toString('base64') });
  await t.rejects(p.createSecret({ name: 'secret-string', value: 'x' }), { code: 'ALREADY_EXISTS' });
  await t.rejects(p.updateSecret({ name: 'nope', value: 'x' }), { code: 'NOT_FOUND' });
  await t.rejects(p.deleteSecret('nope'), { code: 'NOT_FOUND' });
  t.same(await p.listSecrets(), [{ name: 'secret-bytes', namespace: 'openfaas-fn' }, { name: 'secret-string', namespace: 'openfaas-fn' }]);
  const { stat } = await import('node:fs/promises');
  const st = await stat(`${env.dataDir}/secrets/openfaas-fn/secret-string`);
  t.equal(st.mode & 0o777, 0o600, 'secret file is 0600');

  if (p.secretMountMode === 'namespace') {
    await p.deploy({ service: 'secret-string', image: 'functions/alpine:latest', envProcess: 'cat /var/openfaas/secrets/secret-string', secrets: ['secret-string'], annotations: {} });
    await ready(p, 'secret-string');
    t.equal((await invoke(p, 'secret-string', '/', { method: 'POST' })).body, 'this-is-the-secret-string-value', 'cat /var/openfaas/secrets/NAME');
    await p.updateSecret({ name: 'secret-string', value: 'this-is-the-NEW-secret-string-value' });
    await p.update({ service: 'secret-string', image: 'functions/alpine:latest', envProcess: 'cat /var/openfaas/secrets/secret-string', secrets: ['secret-string'], annotations: { 'secret-hash': '2' } });
    t.equal((await invoke(p, 'secret-string', '/', { method: 'POST' })).body, 'this-is-the-NEW-secret-string-value', 'first answer after update shows the new value');
  } else {
    t.comment('not root: /var/openfaas/secrets mount not available; checked via secret_mount_path only');
  }

  // secret_mount_path is always set; with secretMount: env it is the host folder
  const envMode = await env.reopen({ secretMount: 'env' });
  t.teardown(() => envMode.close());
  await p.close();
  t.equal(envMode.secretMountMode, 'env');
  await envMode.deploy({ service: 'reader', image: 'hello-http', secrets: ['secret-bytes'] });
  await ready(envMode, 'reader');
  const [ep] = await envMode.endpoints('reader');
  const res = await request(`${ep!.baseUrl}/secret?name=secret-bytes`);
  t.same(Buffer.from(await res.body.arrayBuffer()), Buffer.from([0, 1, 2, 255]), 'exact bytes via secret_mount_path');
  await envMode.remove('reader');
  await envMode.deleteSecret('secret-bytes');
  t.same((await envMode.listSecrets()).map((s) => s.name), ['secret-string']);
});

t.test('state survives a provider restart', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.createNamespace({ name: 'team-a', labels: { owner: 'a' } });
  await p.createSecret({ name: 'token', namespace: 'team-a', value: 's3cret' });
  await p.deploy({ service: 'keep', image: 'hello-http', namespace: 'team-a', labels: { 'com.openfaas.scale.min': '2' }, secrets: ['token'] });
  t.equal((await p.get('keep', 'team-a'))?.replicas, 2, 'scale.min is the initial replica count');
  await ready(p, 'keep', 2, 'team-a');
  await p.scale('keep', 1, 'team-a');
  const before = await p.get('keep', 'team-a');
  const pids = p.replicas('keep', 'team-a').map((r) => r.pid);
  await p.close();
  for (const pid of pids) t.throws(() => process.kill(pid!, 0), 'close() stopped replica ' + pid);
  await t.rejects(p.list(), { code: 'UNAVAILABLE' });

  const again = await env.reopen();
  t.same(await again.namespaces(), ['openfaas-fn', 'team-a']);
  t.same(await again.getNamespace('team-a'), { name: 'team-a', labels: { owner: 'a' } });
  t.same(await again.listSecrets('team-a'), [{ name: 'token', namespace: 'team-a' }]);
  const { availableReplicas: _ready, ...persisted } = before!;
  t.match(await again.get('keep', 'team-a'), persisted, 'spec, labels, createdAt and replicas persisted');
  t.equal((await again.get('keep', 'team-a'))?.replicas, 1, 'desired replicas persisted');
  await ready(again, 'keep', 1, 'team-a');
  t.equal((await invoke(again, 'keep', '/', {}, 'team-a')).status, 200);
  t.same((await again.list('team-a')).map((f) => f.name), ['keep']);
  t.same(await again.list(), []);
  await t.rejects(again.deleteNamespace('team-a'), { code: 'INVALID' }, 'namespace with functions is not deleted');
  await again.remove('keep', 'team-a');
  await again.deleteNamespace('team-a');
  t.same(await again.namespaces(), ['openfaas-fn']);
  t.match(await again.info(), { provider: 'faas-ts-local', orchestration: 'local-process', version: { release: /\S/, sha: /\S/ } });
});

t.test('scale down drains: an in-flight request completes, no new ones are routed', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'drain', image: 'hello-http' });
  await ready(p, 'drain');
  const [ep] = await p.endpoints('drain');
  const slow = request(`${ep!.baseUrl}/slow?ms=1500`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  // the request must be in flight in the watchdog before we scale down
  await until(async () => /^http_requests_in_flight 1$/m.test(await (await request(`${ep!.baseUrl}/_/metrics`)).body.text()), 5000, 'request in flight');
  await p.scale('drain', 0);
  t.same(await p.endpoints('drain'), [], 'out of the endpoint list at once');
  t.same(await slow, { status: 200, body: 'slow done' }, 'in-flight request finished');
  await until(() => p.replicas('drain').length === 0, 15_000, 'replica stopped after draining');
});

t.test('a broken update keeps the old replicas serving', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'stable', image: 'hello-http', envVars: { greeting: 'old' } });
  await ready(p, 'stable');
  const [old] = p.replicas('stable');
  await p.update({ service: 'stable', image: 'hello-http', envProcess: 'node does-not-exist.js', envVars: { greeting: 'new' } });
  await until(() => p.replicas('stable').some((r) => r.generation === old!.generation + 1), 5000, 'new generation started');
  await until(async () => (await collect(p.logs!({ name: 'stable' }, new AbortController().signal))).some((m) => m.text.includes('does-not-exist')), 10_000, 'new replica failing');
  const eps = await p.endpoints('stable');
  t.same(eps.map((e) => e.id), [old!.id], 'only the old replica is handed out');
  t.equal(JSON.parse((await invoke(p, 'stable')).body).greeting, 'old');
  t.equal((await p.get('stable'))?.availableReplicas, 1);
});

t.test('a provider killed without close(): its replicas are reaped by the next one', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  await env.provider.close();
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { watchdogCommand } = await import('../test/helpers.js');
  const script = fileURLToPath(new URL('./fixtures/run-provider.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, env.dataDir, JSON.stringify(watchdogCommand())], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  await until(() => out.includes('\n'), 30_000, 'child provider ready');
  const pids = JSON.parse(out.trim()) as number[];
  t.equal(pids.length, 1);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.doesNotThrow(() => process.kill(pids[0]!, 0), 'replica outlived its provider');

  const next = await env.reopen();
  await until(() => { try { process.kill(pids[0]!, 0); return false; } catch { return true; } }, 5000, 'orphan reaped');
  await ready(next, 'orphan');
  t.equal((await invoke(next, 'orphan')).status, 200, 're-spawned from persisted state');
});
