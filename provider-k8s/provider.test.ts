/**
 * provider-k8s through @kubernetes/client-node against the API server
 * stand-in (testing/apiserver.ts): object shapes (spec §4.4), every Provider
 * method, API errors (404/409/403/422), namespaces, informer reconnects and
 * re-lists, logs. Pods here are simulated (ready at once, 10.244.x.y
 * addresses); contract.test.ts runs real watchdogs.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ProviderError, type LogMessage } from '../provider/index.js';
import { until } from '../test/helpers.js';
import { startFakeApiServer, type FakeApiServer } from './testing/apiserver.js';
import { createK8sProvider, resolveConfig, type K8sProviderOptions } from './index.js';

type Obj = Record<string, any>;
const NS = 'openfaas-fn';

async function setup(t: Tap.Test, opts: Partial<K8sProviderOptions> = {}, apiOpts: Parameters<typeof startFakeApiServer>[0] = {}) {
  const api = await startFakeApiServer({
    namespaces: ['default', 'kube-system', 'openfaas', NS, 'team-a', 'team-b', 'plain'],
    namespaceLabels: { 'team-a': { openfaas: '1' } },
    ...apiOpts,
  });
  // team-b is marked by annotation only
  const b = api.get('namespaces', '', 'team-b')!;
  await call(api, 'PUT', '/api/v1/namespaces/team-b', { ...b, metadata: { ...b.metadata, annotations: { openfaas: '1' } } });
  const provider = await createK8sProvider({ cluster: { server: api.url, skipTLSVerify: true }, watchRetryMs: 20, version: { release: '1.2.3', sha: 'abc' }, ...opts });
  t.teardown(async () => {
    await provider.close();
    await api.close();
  });
  return { api, provider };
}

async function call(api: FakeApiServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: Obj }> {
  const res = await fetch(api.url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Obj };
}

async function rejectsCode(t: Tap.Test, p: Promise<unknown>, code: ProviderError['code'], match?: RegExp): Promise<ProviderError | undefined> {
  try {
    await p;
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(ProviderError.is(err, code), `ProviderError ${code}`, { found: err });
    if (match) t.match((err as Error).message, match);
    return err as ProviderError;
  }
  return undefined;
}

/** Writes (non-GET) and reads after index `from`, without the informers' watches. */
function calls(api: FakeApiServer, from = 0): string[] {
  return api.requests.slice(from).filter((r) => r.query.watch !== 'true').map((r) => `${r.method} ${r.path}`);
}

declare namespace Tap {
  type Test = import('tap').Test;
}

t.test('deploy writes one Deployment then one Service with the §4.1 shape', async (t) => {
  const { api, provider } = await setup(t);
  await provider.createSecret({ name: 'api-key', value: 's3cret' });
  const mark = api.requests.length;
  await provider.deploy({
    service: 'shape',
    image: 'ghcr.io/acme/shape:1.0',
    envProcess: 'node index.js',
    envVars: { zeta: '1', alpha: '2' },
    labels: { team: 'x', 'com.openfaas.scale.min': '3' },
    annotations: { topic: 'orders' },
    secrets: ['api-key'],
    limits: { memory: '128Mi', cpu: '500m' },
    requests: { memory: '64Mi' },
    readOnlyRootFilesystem: true,
    constraints: ['kubernetes.io/arch=arm', 'disk == ssd'],
  });
  t.same(calls(api, mark).filter((c) => !c.startsWith('GET /api/v1/namespaces/openfaas-fn/secrets')), [
    'POST /apis/apps/v1/namespaces/openfaas-fn/deployments',
    'POST /api/v1/namespaces/openfaas-fn/services',
  ]);
  t.ok(calls(api, mark)[0]!.startsWith('GET /api/v1/namespaces/openfaas-fn/secrets/api-key'), 'secret read before create');

  const d = api.get('deployments', NS, 'shape')!;
  t.same(d.metadata.labels, { faas_function: 'shape' });
  t.same(d.spec.selector.matchLabels, { faas_function: 'shape' });
  t.equal(d.spec.replicas, 3, 'com.openfaas.scale.min → replicas');
  t.same(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  t.same(d.spec.template.metadata.labels, { team: 'x', 'com.openfaas.scale.min': '3', faas_function: 'shape' });
  t.same(d.spec.template.metadata.annotations, { topic: 'orders', 'prometheus.io.scrape': 'false' });
  const c = d.spec.template.spec.containers[0];
  t.equal(c.name, 'shape');
  t.equal(c.image, 'ghcr.io/acme/shape:1.0');
  t.same(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  t.same(c.env.map((e: Obj) => e.name), ['alpha', 'fprocess', 'zeta'], 'env sorted by name');
  t.equal(c.env[1].value, 'node index.js');
  t.same(c.resources, { limits: { memory: '128Mi', cpu: '500m' }, requests: { memory: '64Mi' } });
  t.equal(c.imagePullPolicy, 'Always');
  const probe = { httpGet: { path: '/_/health', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 2, timeoutSeconds: 1, periodSeconds: 2, successThreshold: 1, failureThreshold: 3 };
  t.same(c.readinessProbe, probe);
  t.same(c.livenessProbe, probe);
  t.equal(c.securityContext.readOnlyRootFilesystem, true);
  t.same(d.spec.template.spec.volumes, [
    { name: 'temp', emptyDir: {} },
    { name: 'shape-projected-secrets', projected: { sources: [{ secret: { name: 'api-key', items: [{ key: 'api-key', path: 'api-key' }] } }] } },
  ]);
  t.same(c.volumeMounts, [
    { name: 'temp', mountPath: '/tmp', readOnly: false },
    { name: 'shape-projected-secrets', mountPath: '/var/openfaas/secrets', readOnly: true },
  ]);
  t.same(d.spec.template.spec.nodeSelector, { 'kubernetes.io/arch': 'arm', disk: 'ssd' });
  t.equal(d.spec.template.spec.restartPolicy, 'Always');

  const s = api.get('services', NS, 'shape')!;
  t.equal(s.spec.type, 'ClusterIP');
  t.same(s.spec.selector, { faas_function: 'shape' });
  t.same(s.spec.ports, [{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 8080 }]);
  t.same(s.metadata.annotations, { topic: 'orders', 'prometheus.io.scrape': 'false' });

  const st = await provider.get('shape');
  t.match(st, {
    name: 'shape',
    image: 'ghcr.io/acme/shape:1.0',
    namespace: NS,
    envProcess: 'node index.js',
    envVars: { alpha: '2', zeta: '1' },
    secrets: ['api-key'],
    constraints: ['kubernetes.io/arch=arm', 'disk=ssd'],
    limits: { memory: '128Mi', cpu: '500m' },
    requests: { memory: '64Mi' },
    readOnlyRootFilesystem: true,
    replicas: 3,
  });
  await until(async () => (await provider.get('shape'))?.availableReplicas === 3, 5000, 'status.availableReplicas');
});

t.test('replicas from com.openfaas.scale.min: absent, 0 and not a number give 1', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'r-absent', image: 'img:1' });
  await provider.deploy({ service: 'r-zero', image: 'img:1', labels: { 'com.openfaas.scale.min': '0' } });
  await provider.deploy({ service: 'r-nan', image: 'img:1', labels: { 'com.openfaas.scale.min': 'many' } });
  for (const n of ['r-absent', 'r-zero', 'r-nan']) t.equal(api.get('deployments', NS, n)!.spec.replicas, 1, n);
});

t.test('a missing secret is INVALID and nothing is created', async (t) => {
  const { api, provider } = await setup(t);
  const mark = api.requests.length;
  await rejectsCode(t, provider.deploy({ service: 'nosecret', image: 'img:1', secrets: ['absent'] }), 'INVALID', /unable to fetch secrets/);
  t.notOk(calls(api, mark).some((c) => c.startsWith('POST')), 'no create');
  t.equal(api.get('deployments', NS, 'nosecret'), undefined);
});

t.test('exec probes and IfNotPresent when configured; non-root user', async (t) => {
  const { api, provider } = await setup(t, { probes: { type: 'exec', periodSeconds: 5 }, imagePullPolicy: 'IfNotPresent', setNonRootUser: true });
  await provider.deploy({ service: 'execp', image: 'img:1' });
  const c = api.get('deployments', NS, 'execp')!.spec.template.spec.containers[0];
  t.same(c.readinessProbe.exec, { command: ['cat', '/tmp/.lock'] });
  t.equal(c.readinessProbe.periodSeconds, 5);
  t.equal(c.imagePullPolicy, 'IfNotPresent');
  t.equal(c.securityContext.runAsUser, 12000);
});

t.test('list and get read Deployments labelled faas_function only', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'fn-one', image: 'img:1', annotations: { 'prometheus.io.scrape': 'true' } });
  const other = await call(api, 'POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    metadata: { name: 'not-a-function' },
    spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'x:1' }] } } },
  });
  t.equal(other.status, 201);
  const list = await provider.list();
  t.same(list.map((f) => f.name), ['fn-one']);
  t.equal(list[0]!.annotations!['prometheus.io.scrape'], 'true', 'an explicit scrape annotation is kept');
  t.equal(await provider.get('not-a-function'), undefined);
  t.equal(await provider.get('absent'), undefined);
});

t.test('update: GET then PUT; replicas kept, createdAt kept, Service updated; unknown → NOT_FOUND', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'upd', image: 'img:1' });
  await provider.scale('upd', 2);
  const before = await provider.get('upd');
  const mark = api.requests.length;
  await provider.update({ service: 'upd', image: 'img:2', annotations: { a: 'b' } });
  const seq = calls(api, mark);
  t.same(seq.slice(0, 2), ['GET /apis/apps/v1/namespaces/openfaas-fn/deployments/upd', 'PUT /apis/apps/v1/namespaces/openfaas-fn/deployments/upd']);
  const after = await provider.get('upd');
  t.equal(after?.image, 'img:2');
  t.equal(after?.replicas, 2, 'replicas survive an update without scale.min');
  t.equal(after?.createdAt, before?.createdAt);
  t.same(api.get('services', NS, 'upd')!.metadata.annotations, { a: 'b', 'prometheus.io.scrape': 'false' });
  await provider.update({ service: 'upd', image: 'img:2', labels: { 'com.openfaas.scale.min': '4' } });
  t.equal((await provider.get('upd'))?.replicas, 4, 'scale.min applies on update');
  await rejectsCode(t, provider.update({ service: 'ghost', image: 'img:1' }), 'NOT_FOUND');
  // deploy over an existing function goes the update path
  await provider.deploy({ service: 'upd', image: 'img:3' });
  t.equal((await provider.get('upd'))?.image, 'img:3');
});

t.test('scale uses the scale subresource, 0 included; pods and endpoints follow', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'sc', image: 'img:1' });
  const mark = api.requests.length;
  await provider.scale('sc', 3);
  t.same(calls(api, mark), ['PUT /apis/apps/v1/namespaces/openfaas-fn/deployments/sc/scale']);
  await until(async () => (await provider.endpoints('sc')).length === 3, 5000, '3 endpoints');
  const eps = await provider.endpoints('sc');
  t.ok(eps.every((e) => /^http:\/\/10\.244\.\d+\.\d+:8080$/.test(e.baseUrl) && e.id.startsWith('sc-')), 'pod IPs on 8080');
  await provider.scale('sc', 0);
  t.equal((await provider.get('sc'))?.replicas, 0);
  await until(async () => (await provider.endpoints('sc')).length === 0, 5000, 'no endpoints');
  t.equal(api.list('pods', NS).filter((p) => p.metadata.labels.faas_function === 'sc').length, 0, 'pods gone');
  await rejectsCode(t, provider.scale('ghost', 1), 'NOT_FOUND');
  await rejectsCode(t, provider.scale('sc', 1.5), 'INVALID');
});

t.test('endpoints: only ready endpoints; served from the informer cache, not per call', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'ep', image: 'img:1', labels: { 'com.openfaas.scale.min': '2' } });
  await until(async () => (await provider.endpoints('ep')).length === 2, 5000, '2 endpoints');
  const pod = api.list('pods', NS).find((p) => p.metadata.labels.faas_function === 'ep')!;
  api.setPodReady(NS, pod.metadata.name, false);
  await until(async () => (await provider.endpoints('ep')).length === 1, 5000, 'not-ready endpoint dropped');
  t.notOk((await provider.endpoints('ep')).some((e) => e.id === pod.metadata.name));
  const mark = api.requests.length;
  for (let i = 0; i < 50; i++) await provider.endpoints('ep');
  t.same(calls(api, mark), [], '50 endpoints() calls make no API request');
  await rejectsCode(t, provider.endpoints('ghost'), 'NOT_FOUND');
});

t.test('endpoint mode "service" answers the Service DNS name', async (t) => {
  const { provider } = await setup(t, { endpointMode: 'service', clusterDomain: 'cluster.test' });
  await provider.deploy({ service: 'dns', image: 'img:1' });
  await until(async () => (await provider.endpoints('dns')).length === 1, 5000, 'ready');
  t.same(await provider.endpoints('dns'), [{ id: 'dns', baseUrl: 'http://dns.openfaas-fn.svc.cluster.test:8080', pathPrefix: '' }]);
  await provider.scale('dns', 0);
  await until(async () => (await provider.endpoints('dns')).length === 0, 5000, 'none at zero');
});

t.test('remove deletes Deployment and Service; 404 → NOT_FOUND', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'rm', image: 'img:1' });
  const mark = api.requests.length;
  await provider.remove('rm');
  t.same(calls(api, mark), ['DELETE /apis/apps/v1/namespaces/openfaas-fn/deployments/rm', 'DELETE /api/v1/namespaces/openfaas-fn/services/rm']);
  t.equal(api.requests[mark]!.query.propagationPolicy, 'Foreground');
  t.equal(await provider.get('rm'), undefined, 'a terminating Deployment reads as gone');
  await until(() => api.get('deployments', NS, 'rm') === undefined, 5000, 'garbage collected');
  t.equal(api.get('services', NS, 'rm'), undefined);
  t.equal(api.list('pods', NS).length, 0);
  await rejectsCode(t, provider.remove('rm'), 'NOT_FOUND');
});

t.test('deploy right after remove waits for the foreground deletion, then creates', async (t) => {
  const { api, provider } = await setup(t, {}, { gcDelayMs: 300 });
  await provider.deploy({ service: 'again', image: 'img:1' });
  const uid = api.get('deployments', NS, 'again')!.metadata.uid;
  await provider.remove('again');
  t.ok(api.get('deployments', NS, 'again')?.metadata.deletionTimestamp, 'still terminating');
  await rejectsCode(t, provider.update({ service: 'again', image: 'img:2' }), 'NOT_FOUND', /again/);
  await provider.deploy({ service: 'again', image: 'img:2' });
  const d = api.get('deployments', NS, 'again')!;
  t.not(d.metadata.uid, uid, 'a new object');
  t.notOk(d.metadata.deletionTimestamp);
  t.equal((await provider.get('again'))?.image, 'img:2');
  await until(async () => (await provider.endpoints('again')).length === 1, 5000, 'ready again');
});

t.test('API errors map to codes: 409, 404, 403, 422', async (t) => {
  const { api, provider } = await setup(t, { namespaces: { allowed: ['kube-system'] } });
  await provider.createSecret({ name: 'dup', value: 'a' });
  await rejectsCode(t, provider.createSecret({ name: 'dup', value: 'b' }), 'ALREADY_EXISTS');
  await rejectsCode(t, provider.deleteSecret('nope'), 'NOT_FOUND');
  const forbidden = await rejectsCode(t, provider.deploy({ service: 'f', image: 'img:1', namespace: 'kube-system' }), 'BACKEND', /^forbidden: .*cannot create resource "deployments"/);
  t.equal((forbidden?.cause as { code?: number })?.code, 403, 'the 403 is kept as the cause');
  await rejectsCode(t, provider.deploy({ service: 'bad-label', image: 'img:1', labels: { team: 'has space' } }), 'INVALID', /spec\.template\.metadata\.labels/);
  t.equal(api.get('deployments', NS, 'bad-label'), undefined);
  await rejectsCode(t, provider.deploy({ service: 'bad-q', image: 'img:1', limits: { memory: 'lots' } }), 'INVALID', /quantity/);
  await rejectsCode(t, provider.deploy({ service: 'bad-a', image: 'img:1', annotations: { 'eks.amazonaws.com/role-arn': 'x' } }), 'INVALID');
  await rejectsCode(t, provider.deploy({ service: 'Bad_Name', image: 'img:1' }), 'INVALID');
});

t.test('namespaces: default, labelled and annotated openfaas=1; others refused without writes', async (t) => {
  const { api, provider } = await setup(t);
  t.same(await provider.namespaces(), ['openfaas-fn', 'team-a', 'team-b']);
  await provider.deploy({ service: 'in-a', image: 'img:1', namespace: 'team-a' });
  t.match(await provider.get('in-a', 'team-a'), { namespace: 'team-a' });
  t.equal(await provider.get('in-a'), undefined);
  const mark = api.requests.length;
  await rejectsCode(t, provider.deploy({ service: 'x', image: 'img:1', namespace: 'plain' }), 'INVALID', /not a function namespace/);
  await rejectsCode(t, provider.list('kube-system'), 'INVALID');
  t.notOk(calls(api, mark).some((c) => !c.startsWith('GET')), 'no writes for a foreign namespace');
  // marked later by someone else: found through the namespace watch
  await call(api, 'POST', '/api/v1/namespaces', { metadata: { name: 'team-c', labels: { openfaas: '1' } } });
  await until(async () => (await provider.namespaces()).includes('team-c'), 5000, 'team-c discovered');
  // namespace API
  await provider.createNamespace!({ name: 'team-d', labels: { owner: 'me' } });
  t.match(api.get('namespaces', '', 'team-d')!.metadata, { labels: { owner: 'me', openfaas: '1' }, annotations: { openfaas: '1' } });
  t.equal(await provider.getNamespace!('plain'), undefined, 'an unmarked namespace is not ours');
  await rejectsCode(t, provider.deleteNamespace!('plain'), 'NOT_FOUND');
  await rejectsCode(t, provider.deleteNamespace!(NS), 'INVALID');
  await provider.deleteNamespace!('team-d');
  t.notOk((await provider.namespaces()).includes('team-d'));
});

t.test('discovery off: only the default and the allowed list', async (t) => {
  const { provider } = await setup(t, { namespaces: { discover: false, allowed: ['team-b', 'plain'] } });
  t.same(await provider.namespaces(), ['openfaas-fn', 'plain', 'team-b']);
  await rejectsCode(t, provider.list('team-a'), 'INVALID');
  t.same(await provider.list('plain'), []);
});

t.test('secrets: labelled Opaque objects; unmanaged secrets are invisible', async (t) => {
  const { api, provider } = await setup(t);
  await provider.createSecret({ name: 'raw', rawValue: Buffer.from([0, 1, 255]).toString('base64') });
  const s = api.get('secrets', NS, 'raw')!;
  t.equal(s.type, 'Opaque');
  t.equal(s.metadata.labels['app.kubernetes.io/managed-by'], 'openfaas');
  t.same(Buffer.from(s.data.raw, 'base64'), Buffer.from([0, 1, 255]));
  await provider.updateSecret({ name: 'raw', value: 'text' });
  t.equal(Buffer.from(api.get('secrets', NS, 'raw')!.data.raw, 'base64').toString(), 'text');
  await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'foreign' }, data: { k: 'dg==' } });
  t.same((await provider.listSecrets()).map((x) => x.name), ['raw']);
  await rejectsCode(t, provider.updateSecret({ name: 'foreign', value: 'x' }), 'NOT_FOUND');
  await rejectsCode(t, provider.deleteSecret('foreign'), 'NOT_FOUND');
  t.ok(api.get('secrets', NS, 'foreign'), 'the foreign secret is untouched');
  await provider.createSecret({ name: 'in-b', namespace: 'team-b', value: 'v' });
  t.same((await provider.listSecrets('team-b')).map((x) => x.name), ['in-b']);
  await provider.deleteSecret('raw');
  t.same(await provider.listSecrets(), []);
});

t.test('watch reconnects: closed watches resume; 410 Gone forces a re-list; the cache stays right', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'w', image: 'img:1' });
  await until(async () => (await provider.endpoints('w')).length === 1, 5000, 'ready');
  const s0 = provider.cacheStats()[`endpointslices/${NS}`]!;

  // 1. the server ends every watch: the informer re-watches from its resourceVersion (no re-list)
  api.closeWatches();
  await until(() => provider.cacheStats()[`endpointslices/${NS}`]!.watches > s0.watches && api.watchCount('endpointslices') > 0, 5000, 're-watch');
  t.equal(provider.cacheStats()[`endpointslices/${NS}`]!.lists, s0.lists, 'no re-list after a clean close');
  await provider.scale('w', 2);
  await until(async () => (await provider.endpoints('w')).length === 2, 5000, 'events after reconnect');

  // 2. history compacted while disconnected: the resumed watch gets 410 and the informer re-lists
  const s1 = provider.cacheStats()[`endpointslices/${NS}`]!;
  api.compactHistory();
  api.closeWatches();
  await until(() => provider.cacheStats()[`endpointslices/${NS}`]!.lists > s1.lists, 5000, 're-list after 410');
  await provider.scale('w', 3);
  await until(async () => (await provider.endpoints('w')).length === 3, 5000, 'cache right after re-list');

  // 3. changes made while no watch is open are picked up by the re-list
  const s2 = provider.cacheStats()[`endpointslices/${NS}`]!;
  provider.resync();
  await until(() => provider.cacheStats()[`endpointslices/${NS}`]!.lists > s2.lists, 5000, 'resync re-lists');
  t.equal((await provider.endpoints('w')).length, 3);
});

t.test('periodic resync re-lists on its own', async (t) => {
  const { provider } = await setup(t, { resyncMs: 100 });
  await provider.list();
  await until(() => (provider.cacheStats()[`deployments/${NS}`]?.lists ?? 0) >= 3, 5000, 'two resyncs');
  t.pass('re-listed without being asked');
});

t.test('a stopped API server: informers retry; health reports UNAVAILABLE', async (t) => {
  const { api, provider } = await setup(t);
  await provider.health!();
  t.same(await provider.info(), { provider: 'faas-ts-k8s', orchestration: 'kubernetes', version: { release: '1.2.3', sha: 'abc' } });
  await api.close();
  await rejectsCode(t, provider.health!(), 'UNAVAILABLE');
  await rejectsCode(t, provider.list(), 'UNAVAILABLE');
});

t.test('without the namespaces ClusterRole the configured namespaces still work', async (t) => {
  const { provider } = await setup(t, {}, { authorize: (a) => a.resource !== 'namespaces' });
  t.same(await provider.namespaces(), ['openfaas-fn'], 'falls back to the configured namespaces');
  await provider.deploy({ service: 'norbac', image: 'img:1' });
  await until(async () => (await provider.endpoints('norbac')).length === 1, 5000, 'ready');
  await rejectsCode(t, provider.list('team-a'), 'INVALID', /not a function namespace/);
});

t.test('informers that cannot list do not hang calls: direct API fallback surfaces the error', async (t) => {
  const api = await startFakeApiServer({ authorize: (a) => a.resource !== 'endpointslices' });
  const provider = await createK8sProvider({ cluster: { server: api.url, skipTLSVerify: true }, watchRetryMs: 20 });
  t.teardown(async () => {
    await provider.close();
    await api.close();
  });
  await provider.deploy({ service: 'noslices', image: 'img:1' });
  await rejectsCode(t, provider.endpoints('noslices'), 'BACKEND', /^forbidden: .*endpointslices/);
  await api.close();
  const down = await createK8sProvider({ cluster: { server: api.url, skipTLSVerify: true }, watchRetryMs: 20 });
  t.teardown(() => down.close());
  await rejectsCode(t, down.endpoints('x'), 'UNAVAILABLE');
  await rejectsCode(t, down.namespaces(), 'UNAVAILABLE');
});

async function collect(it: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

t.test('logs: merged by time across pods, tail, since, instance, follow', async (t) => {
  const { api, provider } = await setup(t);
  await provider.deploy({ service: 'lg', image: 'img:1', labels: { 'com.openfaas.scale.min': '2' } });
  await until(() => api.list('pods', NS).length === 2, 5000, 'two pods');
  const [p1, p2] = api.list('pods', NS).map((p) => p.metadata.name as string).sort();
  const base = Date.now() - 60_000;
  api.appendPodLog(NS, p1!, 'one', new Date(base + 1000));
  api.appendPodLog(NS, p2!, 'two', new Date(base + 2000));
  api.appendPodLog(NS, p1!, 'three', new Date(base + 3000));
  const ac = new AbortController();
  const all = await collect(provider.logs!({ name: 'lg' }, ac.signal));
  t.same(all.map((m) => m.text), ['one', 'two', 'three']);
  t.same(all.map((m) => m.instance), [p1, p2, p1]);
  t.match(all[0], { name: 'lg', namespace: NS, timestamp: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/ });
  t.same((await collect(provider.logs!({ name: 'lg', tail: 2 }, ac.signal))).map((m) => m.text), ['two', 'three']);
  t.same((await collect(provider.logs!({ name: 'lg', since: new Date(base + 1500) }, ac.signal))).map((m) => m.text), ['two', 'three']);
  t.same((await collect(provider.logs!({ name: 'lg', instance: p2 }, ac.signal))).map((m) => m.text), ['two']);
  await rejectsCode(t, collect(provider.logs!({ name: 'ghost' }, ac.signal)), 'NOT_FOUND');

  const follow = new AbortController();
  const got: string[] = [];
  const done = (async () => {
    for await (const m of provider.logs!({ name: 'lg', follow: true, tail: 1 }, follow.signal)) got.push(`${m.instance === p1 ? 1 : 2}:${m.text}`);
  })();
  await until(() => got.length === 2, 5000, 'tail of each pod');
  api.appendPodLog(NS, p2!, 'live');
  await until(() => got.includes('2:live'), 5000, 'followed line');
  // a replica started during the follow joins the stream
  await provider.scale('lg', 3);
  await until(() => api.list('pods', NS).filter((p) => p.status.phase === 'Running').length === 3, 5000, 'third pod running');
  const p3 = api.list('pods', NS).map((p) => p.metadata.name as string).find((n) => n !== p1 && n !== p2)!;
  // its log request may not be open yet: keep writing until a line arrives
  await until(() => {
    api.appendPodLog(NS, p3, 'from the new pod');
    return got.some((g) => g.endsWith(':from the new pod'));
  }, 5000, 'line from a pod started during the follow');
  follow.abort();
  await done;
  t.same(got.filter((g) => !g.endsWith(':from the new pod')).sort(), ['1:three', '2:live', '2:two']);
});

t.test('only the verbs and resources of the RBAC Role are used', async (t) => {
  const { api, provider } = await setup(t);
  const mark = api.requests.length;
  await provider.createSecret({ name: 'rb', value: 'x' });
  await provider.deploy({ service: 'rbac', image: 'img:1', secrets: ['rb'] });
  await provider.update({ service: 'rbac', image: 'img:2', secrets: ['rb'] });
  await provider.scale('rbac', 2);
  await until(async () => (await provider.endpoints('rbac')).length === 2, 5000, 'ready');
  await provider.list();
  await provider.get('rbac');
  await collect(provider.logs!({ name: 'rbac' }, new AbortController().signal));
  await provider.updateSecret({ name: 'rb', value: 'y' });
  await provider.listSecrets();
  await provider.remove('rbac');
  await provider.deleteSecret('rb');
  await provider.namespaces();
  // The grants of deploy/kubernetes/10-rbac.yml: the Role in openfaas-fn and the namespaces ClusterRole.
  const allowed: Record<string, string[]> = {};
  const docs = parseAllDocuments(await readFile(new URL('../deploy/kubernetes/10-rbac.yml', import.meta.url), 'utf8')).map((d) => d.toJS() as Obj);
  for (const doc of docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole')) {
    for (const rule of doc.rules as Obj[]) for (const r of rule.resources as string[]) allowed[r] = [...(allowed[r] ?? []), ...(rule.verbs as string[])];
  }
  t.ok(allowed.deployments && allowed['pods/log'] && allowed.namespaces, 'RBAC file read');
  const used = new Set<string>();
  for (const r of api.requests.slice(mark)) {
    const m = r.path.match(/\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/) ?? r.path.match(/\/(namespaces)(?:\/([^/]+))?$/);
    if (!m) continue;
    const resource = m[3] ? `${m[1]}/${m[3]}` : m[1]!;
    const verb = r.method === 'GET' ? (r.query.watch === 'true' ? 'watch' : m[2] ? 'get' : 'list') : ({ POST: 'create', PUT: 'update', DELETE: 'delete', PATCH: 'patch' } as Record<string, string>)[r.method]!;
    used.add(`${resource}:${verb}`);
    t.ok(allowed[resource]?.includes(verb), `${verb} ${resource} is granted`, { path: r.path });
  }
  t.ok(used.has('deployments/scale:update') && used.has('pods/log:get') && used.has('endpointslices:watch'), 'covers scale, logs and slices');
});

t.test('options are validated once', async (t) => {
  t.throws(() => resolveConfig({}), /kubeConfig or cluster.server/);
  try {
    resolveConfig({ cluster: { server: 'http://x' }, functionNamespace: 'Bad', endpointMode: 'x' as 'service', probes: { periodSeconds: -1 } });
    t.fail('expected INVALID');
  } catch (err) {
    t.ok(ProviderError.is(err, 'INVALID'), 'INVALID');
    t.match((err as Error).message, /functionNamespace.*endpointMode.*periodSeconds/, 'one error names every problem');
  }
  const c = resolveConfig({ cluster: { server: 'http://x' } });
  t.ok(Object.isFrozen(c));
  t.match(c, { functionNamespace: 'openfaas-fn', imagePullPolicy: 'Always', endpointMode: 'endpointslices', probes: { type: 'http', readinessPath: '/_/health' } });
});
