import t from 'tap';
import { request } from 'undici';
import { until } from '../test/helpers.js';
import { collect, invoke, makeTestProvider, ready } from './test-fixtures.js';

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

t.test('a replica whose watchdog cannot start is retried with backoff; its error is in the logs', async (t) => {
  const env = await makeTestProvider();
  t.teardown(env.cleanup);
  const p = env.provider;
  await p.deploy({ service: 'broken', image: 'echo-cat', envVars: { write_timeout: '0' } });
  await until(() => (p.replicas('broken')[0]?.restarts ?? 0) >= 2, 10_000, 'restarted twice');
  const logs = await collect(p.logs!({ name: 'broken' }, new AbortController().signal));
  t.ok(logs.some((m) => /write.?timeout/i.test(m.text)), 'watchdog config error captured');
  const delays = logs.map((m) => /restarting in (\d+)ms/.exec(m.text)?.[1]).filter(Boolean).map(Number);
  t.ok(delays.length >= 2 && delays[1]! > delays[0]!, `backoff grows (${delays.join(', ')})`);
  t.equal((await p.get('broken'))?.availableReplicas ?? 0, 0);
  t.same(await p.endpoints('broken'), []);
});
