import t from 'tap';
import { request } from 'undici';
import { ProviderError } from '../provider/index.js';
import { until } from '../test/helpers.js';
import { collect, invoke, makeTestProvider, READY_MS, ready } from './test-fixtures.js';

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
