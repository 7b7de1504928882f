/**
 * The API server stand-in answers as kube-apiserver does for the calls
 * provider-k8s makes: Status objects, validation, resourceVersion conflicts,
 * watches with history and 410, the simulated controller.
 */
import t from 'tap';
import { until } from '../../test/helpers.js';
import { parseLabelSelector, startFakeApiServer, type FakeApiServer } from './apiserver.js';

type Obj = Record<string, any>;

async function call(api: FakeApiServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: Obj }> {
  const res = await fetch(api.url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Obj };
}

const deployment = (name: string, extra: Obj = {}): Obj => ({
  metadata: { name },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'img:1', ports: [{ containerPort: 8080 }] }] } }, ...extra },
});

t.test('Status errors', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.close());
  const nf = await call(api, 'GET', '/apis/apps/v1/namespaces/openfaas-fn/deployments/nope');
  t.equal(nf.status, 404);
  t.match(nf.body, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'deployments.apps "nope" not found', details: { name: 'nope', group: 'apps', kind: 'deployments' } });
  t.equal((await call(api, 'POST', '/apis/apps/v1/namespaces/openfaas-fn/deployments', deployment('a'))).status, 201);
  const dup = await call(api, 'POST', '/apis/apps/v1/namespaces/openfaas-fn/deployments', deployment('a'));
  t.match(dup, { status: 409, body: { reason: 'AlreadyExists', code: 409 } });
  const fb = await call(api, 'GET', '/api/v1/namespaces/kube-system/secrets');
  t.match(fb, { status: 403, body: { reason: 'Forbidden', message: /cannot list resource "secrets" in API group "" in the namespace "kube-system"/ } });
  t.match(await call(api, 'POST', '/api/v1/namespaces/missing/secrets', { metadata: { name: 's' } }), { status: 404, body: { message: 'namespaces "missing" not found' } });
  t.match(await call(api, 'POST', '/api/v1/namespaces/openfaas-fn/secrets', '{not json'), { status: 400, body: { reason: 'BadRequest' } });
  t.match(await call(api, 'POST', '/api/v1/namespaces/openfaas-fn/secrets', { metadata: { name: 's', namespace: 'other' } }), { status: 400, body: { message: /does not match the namespace/ } });
  t.match(await call(api, 'GET', '/apis/apps/v1/namespaces/openfaas-fn/widgets'), { status: 404 });
  // stale resourceVersion on update
  const cur = (await call(api, 'GET', '/apis/apps/v1/namespaces/openfaas-fn/deployments/a')).body;
  t.equal((await call(api, 'PUT', '/apis/apps/v1/namespaces/openfaas-fn/deployments/a', cur)).status, 200);
  t.match(await call(api, 'PUT', '/apis/apps/v1/namespaces/openfaas-fn/deployments/a', cur), { status: 409, body: { reason: 'Conflict' } });
});

t.test('422 Invalid for the fields the real server validates', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.close());
  const invalid = async (path: string, body: Obj, field: RegExp) => {
    const r = await call(api, 'POST', path, body);
    t.equal(r.status, 422, `422 for ${field}`);
    t.match(r.body, { reason: 'Invalid', details: { causes: [{ field }] } });
  };
  const D = '/apis/apps/v1/namespaces/openfaas-fn/deployments';
  await invalid(D, deployment('Bad_Name'), /^metadata\.name$/);
  await invalid(D, { ...deployment('x'), spec: { ...deployment('x').spec, selector: { matchLabels: { app: 'other' } } } }, /spec\.template\.metadata\.labels/);
  const noImage = deployment('x');
  noImage.spec.template.spec.containers[0].image = '';
  await invalid(D, noImage, /containers\[0\]\.image/);
  const badPort = deployment('x');
  badPort.spec.template.spec.containers[0].ports[0].containerPort = 70000;
  await invalid(D, badPort, /containerPort/);
  const badMount = deployment('x');
  badMount.spec.template.spec.containers[0].volumeMounts = [{ name: 'nope', mountPath: '/x' }];
  await invalid(D, badMount, /volumeMounts\[0\]\.name/);
  const badQ = deployment('x');
  badQ.spec.template.spec.containers[0].resources = { limits: { memory: '12 MB' } };
  await invalid(D, badQ, /resources\.limits\[memory\]/);
  await invalid(D, { ...deployment('x'), metadata: { name: 'x', labels: { 'bad key!': 'v' } } }, /metadata\.labels/);
  await invalid('/api/v1/namespaces/openfaas-fn/services', { metadata: { name: '1svc' }, spec: { ports: [{ port: 80 }] } }, /metadata\.name/);
  await invalid('/api/v1/namespaces/openfaas-fn/services', { metadata: { name: 'svc' }, spec: { ports: [] } }, /spec\.ports/);
  await invalid('/api/v1/namespaces/openfaas-fn/secrets', { metadata: { name: 's' }, data: { 'bad/key': 'eA==' } }, /data\[bad\/key\]/);
  await invalid('/api/v1/namespaces', { metadata: { name: 'a.b' } }, /metadata\.name/);
  t.equal((await call(api, 'POST', D, deployment('sel'))).status, 201);
  const changed = (await call(api, 'GET', `${D}/sel`)).body;
  changed.spec.selector = { matchLabels: { app: 'sel', x: 'y' } };
  changed.spec.template.metadata.labels.x = 'y';
  t.match(await call(api, 'PUT', `${D}/sel`, changed), { status: 422, body: { message: /field is immutable/ } });
  t.match(await call(api, 'PUT', `${D}/sel/scale`, { metadata: { name: 'sel' }, spec: { replicas: -1 } }), { status: 422 });
});

t.test('controller, scale subresource and status', async (t) => {
  const api = await startFakeApiServer();
  t.teardown(() => api.close());
  const D = '/apis/apps/v1/namespaces/openfaas-fn/deployments';
  await call(api, 'POST', D, deployment('web'));
  await call(api, 'POST', '/api/v1/namespaces/openfaas-fn/services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] } });
  const scale = await call(api, 'PUT', `${D}/web/scale`, { metadata: { name: 'web' }, spec: { replicas: 3 } });
  t.match(scale.body, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=web' } });
  await until(() => api.get('deployments', 'openfaas-fn', 'web')!.status.availableReplicas === 3, 5000, '3 available');
  t.equal(api.list('pods', 'openfaas-fn').length, 3);
  t.equal(api.list('endpointslices', 'openfaas-fn').length, 3, 'one slice per pod');
  t.match(api.list('endpointslices', 'openfaas-fn')[0], { addressType: 'IPv4', metadata: { labels: { 'kubernetes.io/service-name': 'web' } }, endpoints: [{ conditions: { ready: true } }], ports: [{ name: 'http', port: 8080 }] });
  await call(api, 'PUT', `${D}/web/scale`, { spec: { replicas: 0 } });
  await until(() => api.list('pods', 'openfaas-fn').length === 0 && api.list('endpointslices', 'openfaas-fn').length === 0, 5000, 'scaled to zero');
  t.notOk(api.get('deployments', 'openfaas-fn', 'web')!.status.availableReplicas, 'availableReplicas omitted at 0');
  t.equal((await call(api, 'DELETE', `${D}/web`)).status, 200);
  t.equal(api.get('deployments', 'openfaas-fn', 'web'), undefined);
});

t.test('watch: from a resourceVersion, label selector, bookmarks, 410 after compaction', async (t) => {
  const api = await startFakeApiServer({ bookmarkIntervalMs: 20 });
  t.teardown(() => api.close());
  const S = '/api/v1/namespaces/openfaas-fn/secrets';
  const list = (await call(api, 'GET', S)).body;
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const res = await fetch(`${api.url}${S}?watch=true&resourceVersion=${list.metadata.resourceVersion}&labelSelector=keep%3Dyes&allowWatchBookmarks=true`, { signal: ac.signal });
  const events: Obj[] = [];
  const reading = (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body!) {
        buf += Buffer.from(chunk).toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as Obj);
          buf = buf.slice(nl + 1);
        }
      }
    } catch {
      // aborted
    }
  })();
  await call(api, 'POST', S, { metadata: { name: 'a', labels: { keep: 'yes' } } });
  await call(api, 'POST', S, { metadata: { name: 'b', labels: { keep: 'no' } } });
  await call(api, 'DELETE', `${S}/a`);
  await until(() => events.some((e) => e.type === 'DELETED') && events.some((e) => e.type === 'BOOKMARK'), 5000, 'events');
  t.same(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'DELETED a'], 'selector applied');
  api.closeWatches();
  await reading;
  api.compactHistory();
  const gone = await (await fetch(`${api.url}${S}?watch=true&resourceVersion=${list.metadata.resourceVersion}`)).text();
  t.match(JSON.parse(gone.trim()), { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
});

t.test('label selectors', async (t) => {
  const l = { a: '1', b: '2' };
  t.ok(parseLabelSelector('a=1,b==2')(l));
  t.notOk(parseLabelSelector('a!=1')(l));
  t.ok(parseLabelSelector('a in (1,3),c notin (x)')(l));
  t.ok(parseLabelSelector('a,!c')(l));
  t.notOk(parseLabelSelector('c')(l));
  t.ok(parseLabelSelector(undefined)(undefined));
});
