/**
 * End to end on Docker Swarm: the gateway (on the host, basic auth on) in front of
 * provider-swarm, with a template-built function image (templates/node20 runtime,
 * the bundled watchdog, on the local Node base; no registry).
 * deploy → invoke through the gateway → scale 1→3→1 (spread over replicas) →
 * a `docker kill`ed replica comes back while the gateway keeps answering → logs →
 * secret readable inside the container → update → scale to zero and wake → remove.
 * dockerd/swarm/images are set up by test/docker.ts.
 */
import t from 'tap';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { swarmTestTarget } from '../provider-swarm/testing.js';
import { dockerCli, serviceContainers } from './docker.js';
import { until } from './helpers.js';

const creds = { user: 'admin', password: 'swarm-e2e' };
const auth = { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` };
const READY_MS = 45_000;

t.test('gateway + provider-swarm + real swarm tasks', async (t) => {
  const target = await swarmTestTarget({ endpointMode: 'dnsrr-hostport' });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true' }), {
    provider: target.provider,
    credentials: creds,
  });
  t.teardown(async () => {
    await gw.close();
    await target.cleanup();
  });
  const fn = `${target.prefix}-gw`;
  const secret = `${target.prefix}-token`;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(gw.url + path, {
      method: method as 'GET',
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  };
  const status = async () => JSON.parse((await api('GET', `/system/function/${fn}`)).text) as { replicas?: number; availableReplicas?: number; envVars?: Record<string, string> };
  const invoke = async (path = '') => {
    const res = await request(`${gw.url}/function/${fn}${path}`, { headersTimeout: 10_000 });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const available = (n: number) => until(async () => (await status()).availableReplicas === n, READY_MS, `${n} available`);

  await t.test('deploy and invoke', async (t) => {
    const res = await api('POST', '/system/functions', { service: fn, image: target.image, envVars: { greeting: 'from swarm' } });
    t.equal(res.status, 202, res.text);
    await available(1);
    const out = await invoke();
    t.equal(out.status, 200);
    t.match(JSON.parse(out.text), { greeting: 'from swarm', arch: process.arch });
    const info = JSON.parse((await api('GET', '/system/info')).text);
    t.match(info, { provider: { provider: 'faas-ts-swarm', orchestration: 'swarm' } });
  });

  await t.test('scale 1 → 3: invocations spread over the replicas', async (t) => {
    t.equal((await api('POST', `/system/scale-function/${fn}`, { serviceName: fn, replicas: 3 })).status, 202);
    await available(3);
    const hosts = new Set<string>();
    await until(async () => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => invoke()));
      for (const a of answers) if (a.status === 200) hosts.add(JSON.parse(a.text).host);
      return hosts.size === 3;
    }, 20_000, 'all three replicas served');
    t.equal(hosts.size, 3);
  });

  await t.test('a killed replica comes back; the gateway keeps answering', async (t) => {
    const [victim] = await serviceContainers(fn);
    await dockerCli(['kill', victim!]);
    let calls = 0;
    let failures = 0;
    // Keep calling while swarm notices the dead task and starts a replacement.
    await until(async () => {
      const batch = await Promise.all(Array.from({ length: 4 }, () => invoke()));
      calls += batch.length;
      failures += batch.filter((b) => b.status !== 200).length;
      const s = await status();
      const containers = await serviceContainers(fn);
      return s.availableReplicas === 3 && containers.length === 3 && !containers.includes(victim!);
    }, READY_MS, 'three replicas again');
    t.equal(failures, 0, `every one of ${calls} calls during the restart answered 200`);
  });

  await t.test('scale back to 1, logs', async (t) => {
    t.equal((await api('POST', `/system/scale-function/${fn}`, { serviceName: fn, replicas: 1 })).status, 202);
    await available(1);
    await until(async () => (await api('GET', `/system/logs?name=${fn}&tail=50`)).text.includes('invoked /'), 20_000, 'invocations in the logs');
    const res = await request(`${gw.url}/system/logs?name=${fn}&tail=3`, { headers: auth });
    t.equal(res.statusCode, 200);
    const lines = (await res.body.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    t.ok(lines.length >= 1 && lines.length <= 3, `tail honoured (${lines.length})`);
    t.same(Object.keys(lines[0]!), ['name', 'namespace', 'instance', 'timestamp', 'text']);
  });

  await t.test('secret readable inside the container after an update', async (t) => {
    t.equal((await api('POST', '/system/secrets', { name: secret, value: 'tok-123' })).status, 201);
    const res = await api('PUT', '/system/functions', { service: fn, image: target.image, envVars: { greeting: 'v2' }, secrets: [secret] });
    t.equal(res.status, 202, res.text);
    await until(async () => {
      const out = await invoke(`/secret/${secret}`);
      return out.status === 200 && out.text === 'tok-123';
    }, READY_MS, 'secret through the gateway');
    t.match(await status(), { envVars: { greeting: 'v2' }, replicas: 1 });
    t.match(JSON.parse((await invoke()).text), { greeting: 'v2' });
  });

  await t.test('scale to zero, an invocation wakes it', async (t) => {
    t.equal((await api('POST', `/system/scale-function/${fn}`, { serviceName: fn, replicas: 0 })).status, 202);
    await until(async () => (await status()).availableReplicas === undefined, READY_MS, 'zero replicas');
    // Swarm stops the old task asynchronously: until it is gone it still serves
    // (correctly) and nothing would need waking.
    await until(async () => (await target.provider.endpoints(fn)).length === 0, READY_MS, 'old task gone');
    const started = Date.now();
    const out = await invoke();
    t.equal(out.status, 200, 'woken by the invocation');
    t.comment(`cold start through the gateway: ${Date.now() - started} ms`);
    t.equal((await status()).replicas, 1);
  });

  await t.test('remove', async (t) => {
    t.equal((await api('DELETE', '/system/functions', { functionName: fn })).status, 202);
    t.equal((await api('GET', `/system/function/${fn}`)).status, 404);
    t.equal((await invoke()).status, 404);
    await until(async () => (await api('DELETE', '/system/secrets', { name: secret })).status === 202, 30_000, 'secret removed');
  });
});
