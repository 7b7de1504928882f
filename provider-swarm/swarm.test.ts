/**
 * provider-swarm against a real Docker engine in swarm mode: one function through
 * its whole life — deploy → running → invoke on its published port → scale
 * 1→3→1 → logs (tail, since, follow) → secrets inside the container (function
 * handler and a classic-mode envProcess) → secret update rolls the function →
 * update (env, labels, limits, read-only root) → a `docker kill`ed task comes
 * back → remove. Checks the ServiceSpec the provider wrote with `docker inspect`.
 * tasks-dns mode: tasks-dns.test.ts.
 */
import t from 'tap';
import { dockerCli, serviceContainers } from '../test/docker.js';
import { until } from '../test/helpers.js';
import type { InvokeEndpoint, LogMessage } from '../provider/index.js';
import { timeKey } from './logs.js';
import { swarmTestTarget } from './testing.js';

const READY_MS = 45_000;

async function get(ep: InvokeEndpoint, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${ep.baseUrl}${ep.pathPrefix}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

t.test('a function on swarm, end to end', async (t) => {
  const target = await swarmTestTarget({ endpointMode: 'dnsrr-hostport' });
  t.teardown(() => target.cleanup());
  const p = target.provider;
  const fn = `${target.prefix}-echo`;
  const secret = `${target.prefix}-key`;
  const ready = (n: number) =>
    until(async () => (await p.get(fn))?.availableReplicas === n && (await p.endpoints(fn)).length === n, READY_MS, `${n} ready replicas`);

  t.match(await p.info(), { provider: 'faas-ts-swarm', orchestration: 'swarm' });
  await p.health();

  await p.createSecret({ name: secret, value: 's3cr3t-v1' });
  await p.deploy({
    service: fn,
    image: target.image,
    envVars: { greeting: 'hello' },
    labels: { team: 'swarm', 'com.openfaas.scale.min': '1' },
    annotations: { topic: 'orders' },
    secrets: [secret],
    limits: { memory: '128Mi', cpu: '500m' },
    requests: { memory: '64m' },
  });

  await t.test('the ServiceSpec follows the upstream mapping', async (t) => {
    const [svc] = JSON.parse(await dockerCli(['service', 'inspect', fn]));
    const c = svc.Spec.TaskTemplate.ContainerSpec;
    t.match(svc.Spec.Labels, { 'com.openfaas.function': fn, function: 'true', team: 'swarm', 'com.openfaas.annotations.topic': 'orders' });
    t.match(c.Labels, { 'com.openfaas.function': fn, function: 'true' });
    t.equal(c.Image, target.image, 'image as given, no digest pinned');
    t.ok(c.Env.includes('greeting=hello'));
    t.match(c.Secrets, [{ SecretName: secret, File: { Name: `/var/openfaas/secrets/${secret}`, Mode: 0o444 } }]);
    t.same(svc.Spec.TaskTemplate.Resources.Limits, { MemoryBytes: 128 * 2 ** 20, NanoCPUs: 5e8 });
    t.same(svc.Spec.TaskTemplate.Resources.Reservations, { MemoryBytes: 64 * 2 ** 20 });
    t.same(svc.Spec.TaskTemplate.Placement.Constraints, ['node.platform.os == linux']);
    t.match(svc.Spec.UpdateConfig, { Parallelism: 1, Order: 'start-first', FailureAction: 'rollback' });
    t.match(svc.Spec.EndpointSpec, { Mode: 'dnsrr', Ports: [{ TargetPort: 8080, PublishMode: 'host' }] });
    t.notOk(svc.Spec.EndpointSpec.Ports[0].PublishedPort, 'published port left to Docker (one per task)');
  });

  await t.test('running and invoked on its endpoint', async (t) => {
    await ready(1);
    const s = await p.get(fn);
    t.match(s, {
      name: fn,
      image: target.image,
      replicas: 1,
      availableReplicas: 1,
      envVars: { greeting: 'hello' },
      secrets: [secret],
      limits: { memory: '128Mi', cpu: '500m' },
      requests: { memory: '64m' },
      annotations: { topic: 'orders' },
      labels: { team: 'swarm', faas_function: fn },
    });
    const [ep] = await p.endpoints(fn);
    t.match(ep!.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(ep!, '/');
    t.equal(r.status, 200);
    t.match(JSON.parse(r.text), { greeting: 'hello', uid: 1000 });
    t.same(await get(ep!, `/secret/${secret}`), { status: 200, text: 's3cr3t-v1' }, 'secret readable inside the container');
  });

  await t.test('scale 1 → 3 → 1', async (t) => {
    await p.scale(fn, 3);
    t.equal((await p.get(fn))?.replicas, 3);
    await ready(3);
    const eps = await p.endpoints(fn);
    t.equal(new Set(eps.map((e) => e.baseUrl)).size, 3, 'three distinct published ports');
    const hosts = new Set<string>();
    for (const ep of eps) hosts.add(JSON.parse((await get(ep, '/')).text).host);
    t.equal(hosts.size, 3, 'three different containers answer');
    await p.scale(fn, 1);
    await ready(1);
    t.equal((await serviceContainers(fn)).length >= 1, true);
  });

  await t.test('logs: tail, since, follow', async (t) => {
    const [ep] = await p.endpoints(fn);
    const marker = `mark-${Date.now()}`;
    await get(ep!, `/${marker}`);
    const collect = async (req: Parameters<NonNullable<typeof p.logs>>[0]) => {
      const out: LogMessage[] = [];
      for await (const m of p.logs(req, new AbortController().signal)) out.push(m);
      return out;
    };
    let all: LogMessage[] = [];
    // The watchdog's request log line carries the marker too: wait for the function's own line.
    const invoked = (m: LogMessage) => m.text.includes(`invoked /${marker}`);
    await until(async () => (all = await collect({ name: fn })).some(invoked), 20_000, 'marker in the logs');
    const line = all.find(invoked)!;
    t.match(line, { name: fn, namespace: p.defaultNamespace, text: `invoked /${marker}` });
    t.match(line.instance, /^[a-z0-9]{25}$/, 'instance is the task id');
    t.ok(!Number.isNaN(Date.parse(line.timestamp)), 'RFC 3339 timestamp');
    t.ok(all.some((m) => /Listening on port: 8080/.test(m.text)), 'watchdog start-up lines are there');
    const tail = await collect({ name: fn, tail: 1 });
    t.ok(tail.length >= 1 && tail.length <= all.length, 'tail limits the lines');
    const since = await collect({ name: fn, since: new Date(Date.parse(line.timestamp) + 1) });
    t.notOk(since.some((m) => m.text === `invoked /${marker}`), 'since skips older lines');
    t.ok(since.every((m) => timeKey(m.timestamp) > timeKey(line.timestamp)), 'only newer lines');
    t.ok((await collect({ name: fn, instance: line.instance })).every((m) => m.instance === line.instance), 'instance filter');

    // follow: the stream stays open and delivers a line written later
    const ac = new AbortController();
    const followed: LogMessage[] = [];
    const later = `later-${Date.now()}`;
    const reader = (async () => {
      for await (const m of p.logs({ name: fn, follow: true, since: new Date() }, ac.signal)) {
        followed.push(m);
        if (m.text.includes(later)) break;
      }
    })();
    await until(async () => {
      await get(ep!, `/${later}`);
      return followed.some((m) => m.text.includes(later));
    }, 20_000, 'followed line');
    ac.abort();
    await reader;
    t.pass('follow delivered a new line and ended on abort');
    await t.rejects(collect({ name: `${fn}-nope` }), { code: 'NOT_FOUND' });
  });

  await t.test('secret update rolls the function onto the new value', async (t) => {
    await p.updateSecret({ name: secret, value: 's3cr3t-v2' });
    await until(async () => {
      const eps = await p.endpoints(fn);
      if (eps.length !== 1) return false;
      return (await get(eps[0]!, `/secret/${secret}`)).text === 's3cr3t-v2';
    }, READY_MS, 'new secret value inside the container');
    t.pass('new value visible');
    const versions = (await dockerCli(['secret', 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(secret));
    t.same(versions, [`${secret}.v2`], 'the old version was removed');
    t.same((await p.listSecrets()).filter((s) => s.name.startsWith(target.prefix)), [{ name: secret, namespace: p.defaultNamespace }]);
    await t.rejects(p.deleteSecret(secret), { code: 'INVALID' }, 'a secret in use cannot be deleted');
  });

  await t.test('update: classic watchdog with envProcess, read-only root, new labels', async (t) => {
    await p.update({
      service: fn,
      image: target.image,
      envProcess: `node /home/app/function/cat.js /var/openfaas/secrets/${secret}`,
      envVars: { mode: 'classic' },
      labels: { team: 'swarm', rev: '2' },
      secrets: [secret],
      readOnlyRootFilesystem: true,
    });
    await until(async () => {
      const eps = await p.endpoints(fn);
      return eps.length === 1 && (await get(eps[0]!, '/')).text === 's3cr3t-v2';
    }, READY_MS, 'classic-mode replica printing the secret');
    const s = await p.get(fn);
    t.match(s, { replicas: 1, envProcess: `node /home/app/function/cat.js /var/openfaas/secrets/${secret}`, readOnlyRootFilesystem: true, labels: { rev: '2' } });
    t.same(s?.annotations, {}, 'annotations dropped by the update');
    t.notOk(s?.limits, 'limits dropped by the update');
    const [svc] = JSON.parse(await dockerCli(['service', 'inspect', fn]));
    const c = svc.Spec.TaskTemplate.ContainerSpec;
    t.equal(c.Env[0], `fprocess=node /home/app/function/cat.js /var/openfaas/secrets/${secret}`, 'fprocess listed first');
    t.equal(c.ReadOnly, true);
    t.match(c.Mounts, [{ Type: 'tmpfs', Target: '/tmp' }]);
    t.ok(c.Labels['com.openfaas.uid'], 'uid label forces the rolling restart');
  });

  await t.test('a killed task comes back', async (t) => {
    const [before] = await p.endpoints(fn);
    // the running task's own container (an old one from the update may still be stopping)
    const container = await dockerCli(['inspect', '--format', '{{.Status.ContainerStatus.ContainerID}}', before!.id]);
    await dockerCli(['kill', container]);
    await until(async () => {
      const eps = await p.endpoints(fn);
      if (eps.length !== 1 || eps[0]!.id === before!.id) return false;
      return (await get(eps[0]!, '/')).status === 200;
    }, READY_MS, 'a new task answering');
    t.pass('replaced by a new task that answers');
  });

  await t.test('remove', async (t) => {
    await p.remove(fn);
    t.equal(await p.get(fn), undefined);
    await t.rejects(p.remove(fn), { code: 'NOT_FOUND' });
    await until(async () => {
      await p.deleteSecret(secret).catch(() => undefined);
      return !(await p.listSecrets()).some((s) => s.name === secret);
    }, 30_000, 'secret deletable once the service is gone');
    t.pass('secret deleted');
  });
});
