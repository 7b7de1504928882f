/**
 * Gateway /system/*, health, UI, router and auth behaviour through
 * app.inject() (no sockets), against the test-only MemoryProvider.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildGateway, loadGatewayConfig } from '../gateway/index.js';
import type { QueueRequest, RequestQueuer } from '../provider/index.js';
import { LoggingProvider, MemoryProvider } from './gateway-memory-provider.js';

const baseEnv = { port: '0', metrics_port: '0' };

async function gateway(t: Test, env: Record<string, string> = {}, provider: MemoryProvider = new MemoryProvider(), extra = {}) {
  const app = await buildGateway(loadGatewayConfig({ ...baseEnv, ...env }), { provider, ...extra });
  t.teardown(() => app.close());
  return { app, provider };
}

const deployBody = { service: 'hello', image: 'hello:latest', labels: { team: 'a' }, annotations: {} };

t.test('GET /system/functions lists deployed functions as JSON', async (t) => {
  const { app } = await gateway(t);
  let res = await app.inject({ method: 'GET', url: '/system/functions' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), []);

  res = await app.inject({ method: 'POST', url: '/system/functions', payload: deployBody });
  t.equal(res.statusCode, 202);
  t.equal(res.body, '');

  res = await app.inject({ method: 'GET', url: '/system/functions' });
  const list = res.json();
  t.equal(list.length, 1);
  t.match(list[0], { name: 'hello', image: 'hello:latest', namespace: 'openfaas-fn', labels: { team: 'a', faas_function: 'hello' }, replicas: 1 });
  t.type(list[0].createdAt, 'string');
  t.notOk('invocationCount' in list[0], 'zero count is omitted');

  res = await app.inject({ method: 'GET', url: '/system/functions?namespace=Bad_NS' });
  t.equal(res.statusCode, 400);
});

t.test('deploy validation: bad JSON, missing fields, wrong types, bad names, unknown keys, oversize', async (t) => {
  const { app, provider } = await gateway(t, { max_body_bytes: '2048' });
  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/system/functions', payload, headers: { 'content-type': contentType } });

  let res = await post('{"service": ');
  t.equal(res.statusCode, 400, 'malformed JSON');
  t.match(res.body, /invalid JSON body/);
  t.ok(res.body.endsWith('\n'), 'plain-text error ends with a newline');
  t.match(res.headers['content-type'], /^text\/plain/);
  t.equal(res.headers['x-content-type-options'], 'nosniff');

  res = await post(JSON.stringify({ service: 'x' }));
  t.equal(res.statusCode, 400, 'missing image');
  t.match(res.body, /image/);

  res = await post(JSON.stringify({ image: 'x' }));
  t.equal(res.statusCode, 400, 'missing service');

  res = await post(JSON.stringify({ service: 'x', image: 'y', envVars: 5 }));
  t.equal(res.statusCode, 400, 'wrong type');

  res = await post(JSON.stringify({ service: 'x', image: 'y', envVars: { A: 1 } }));
  t.equal(res.statusCode, 400, 'non-string env value');

  res = await post(JSON.stringify({ service: 'Bad_Name', image: 'y' }));
  t.equal(res.statusCode, 400, 'invalid name');
  t.match(res.body, /DNS-1123/);

  res = await post(JSON.stringify({ service: 'ok', image: 'y', namespace: 'NOPE' }));
  t.equal(res.statusCode, 400, 'invalid namespace');

  res = await post('');
  t.equal(res.statusCode, 400, 'empty body');

  res = await post('[1,2]');
  t.equal(res.statusCode, 400, 'array body');

  res = await post(JSON.stringify({ service: 'extra', image: 'y', registryAuth: 'x', network: 'func', whatever: { a: 1 } }));
  t.equal(res.statusCode, 202, 'unknown keys ignored');
  t.notOk('whatever' in (provider.functions.get('extra.openfaas-fn')!.spec as object), 'unknown keys not passed on');

  res = await post(JSON.stringify({ service: 'form', image: 'y' }), 'application/x-www-form-urlencoded');
  t.equal(res.statusCode, 202, 'content type ignored as upstream does');

  res = await post(JSON.stringify({ service: 'big', image: 'y', envVars: { A: 'x'.repeat(4000) } }));
  t.equal(res.statusCode, 413, 'oversized body');

  res = await post(JSON.stringify({ service: 'nl', image: 'y', labels: null, annotations: null, limits: null }));
  t.equal(res.statusCode, 202, 'nullable objects accepted');
});

t.test('PUT updates existing functions, 404 for unknown; POST over existing updates', async (t) => {
  const { app, provider } = await gateway(t);
  let res = await app.inject({ method: 'PUT', url: '/system/functions', payload: deployBody });
  t.equal(res.statusCode, 404);
  t.match(res.body, /not found/);
  await app.inject({ method: 'POST', url: '/system/functions', payload: deployBody });
  res = await app.inject({ method: 'PUT', url: '/system/functions', payload: { ...deployBody, image: 'hello:2' } });
  t.equal(res.statusCode, 202);
  t.equal(provider.functions.get('hello.openfaas-fn')!.spec.image, 'hello:2');
  res = await app.inject({ method: 'POST', url: '/system/functions', payload: { ...deployBody, image: 'hello:3' } });
  t.equal(res.statusCode, 202);
  t.equal(provider.functions.get('hello.openfaas-fn')!.spec.image, 'hello:3');
});

t.test('DELETE /system/functions: namespace from body or query (body wins), 404, 400', async (t) => {
  const { app, provider } = await gateway(t);
  await provider.deploy({ service: 'a', image: 'i', namespace: 'one' });
  await provider.deploy({ service: 'a', image: 'i', namespace: 'two' });
  let res = await app.inject({ method: 'DELETE', url: '/system/functions?namespace=one', payload: { functionName: 'a', namespace: 'two' } });
  t.equal(res.statusCode, 202);
  t.ok(provider.functions.has('a.one'));
  t.notOk(provider.functions.has('a.two'));
  res = await app.inject({ method: 'DELETE', url: '/system/functions?namespace=one', payload: { functionName: 'a' } });
  t.equal(res.statusCode, 202);
  t.notOk(provider.functions.has('a.one'));
  res = await app.inject({ method: 'DELETE', url: '/system/functions', payload: { functionName: 'a' } });
  t.equal(res.statusCode, 404);
  res = await app.inject({ method: 'DELETE', url: '/system/functions' });
  t.equal(res.statusCode, 400, 'no body');
  res = await app.inject({ method: 'DELETE', url: '/system/functions', payload: { functionName: 5 } });
  t.equal(res.statusCode, 400, 'wrong type');
});

t.test('GET /system/function/:name', async (t) => {
  const { app, provider } = await gateway(t);
  await provider.deploy({ service: 'f', image: 'img', namespace: 'ns1', envProcess: 'cat' });
  let res = await app.inject({ method: 'GET', url: '/system/function/f?namespace=ns1&usage=1' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { name: 'f', image: 'img', namespace: 'ns1', envProcess: 'cat', labels: { faas_function: 'f' }, annotations: {} });
  res = await app.inject({ method: 'GET', url: '/system/function/f.ns1' });
  t.equal(res.statusCode, 200, 'fn.ns addressing');
  res = await app.inject({ method: 'GET', url: '/system/function/f' });
  t.equal(res.statusCode, 404);
  t.equal(res.body, 'function f.openfaas-fn not found\n');
  res = await app.inject({ method: 'GET', url: '/system/function/f?namespace=BAD!' });
  t.equal(res.statusCode, 400);
});

t.test('POST /system/scale-function/:name clamps replicas', async (t) => {
  const { app, provider } = await gateway(t);
  await provider.deploy({ service: 'f', image: 'img' });
  await provider.deploy({ service: 'capped', image: 'img', labels: { 'com.openfaas.scale.max': '2' } });
  const scale = (name: string, payload: unknown) =>
    app.inject({ method: 'POST', url: `/system/scale-function/${name}`, payload: payload as object });

  let res = await scale('f', { serviceName: 'f', replicas: 0 });
  t.equal(res.statusCode, 202);
  t.equal(provider.functions.get('f.openfaas-fn')!.replicas, 0, 'zero allowed with scale from zero');
  res = await scale('f', { serviceName: 'f', replicas: 9 });
  t.equal(provider.functions.get('f.openfaas-fn')!.replicas, 9, 'no CE cap of 5 by default');
  res = await scale('capped', { serviceName: 'capped', replicas: 9 });
  t.equal(provider.functions.get('capped.openfaas-fn')!.replicas, 2, 'label max applies');
  res = await scale('nope', { serviceName: 'nope', replicas: 1 });
  t.equal(res.statusCode, 404);
  res = await app.inject({ method: 'POST', url: '/system/scale-function/f', payload: '{bad', headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 400);
  res = await scale('f', { serviceName: 'f', replicas: '3' });
  t.equal(res.statusCode, 400, 'string replicas rejected');
  res = await scale('f', { serviceName: 'f', replicas: -1 });
  t.equal(res.statusCode, 400, 'negative replicas rejected');
});

t.test('scale clamp without scale from zero and with max_replicas', async (t) => {
  const { app, provider } = await gateway(t, { scale_from_zero: 'false', max_replicas: '5' });
  await provider.deploy({ service: 'f', image: 'img' });
  await app.inject({ method: 'POST', url: '/system/scale-function/f', payload: { serviceName: 'f', replicas: 0 } });
  t.equal(provider.functions.get('f.openfaas-fn')!.replicas, 1);
  await app.inject({ method: 'POST', url: '/system/scale-function/f', payload: { serviceName: 'f', replicas: 50 } });
  t.equal(provider.functions.get('f.openfaas-fn')!.replicas, 5);
});

t.test('GET /system/info', async (t) => {
  const { app, provider } = await gateway(t, {});
  let res = await app.inject({ method: 'GET', url: '/system/info' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  const info = res.json();
  t.same(Object.keys(info), ['provider', 'version', 'arch'], 'key order');
  t.same(info.provider, { provider: 'memory', version: { sha: 'abc', release: '1.0.0' }, orchestration: 'test' });
  t.equal(info.version.release, '0.1.0');
  t.equal(typeof info.version.sha, 'string');
  t.type(info.arch, 'string');
  provider.infoFails = true;
  res = await app.inject({ method: 'GET', url: '/system/info' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().provider, null);
});

t.test('GET /system/info version sha from GIT_SHA', async (t) => {
  const { app } = await gateway(t, { GIT_SHA: 'deadbeef' });
  const res = await app.inject({ method: 'GET', url: '/system/info' });
  t.equal(res.json().version.sha, 'deadbeef');
});

t.test('/system/secrets CRUD never lists values', async (t) => {
  const { app } = await gateway(t);
  let res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { name: 'db-pass', value: 's3cret' } });
  t.equal(res.statusCode, 201);
  res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { name: 'db-pass', value: 'again' } });
  t.equal(res.statusCode, 409);
  res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { name: 'raw.key', rawValue: Buffer.from([0, 1, 2]).toString('base64') } });
  t.equal(res.statusCode, 201);
  res = await app.inject({ method: 'GET', url: '/system/secrets' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), [
    { name: 'db-pass', namespace: 'openfaas-fn' },
    { name: 'raw.key', namespace: 'openfaas-fn' },
  ]);
  t.notMatch(res.body, /s3cret|value/);
  res = await app.inject({ method: 'PUT', url: '/system/secrets', payload: { name: 'db-pass', value: 'new' } });
  t.equal(res.statusCode, 202);
  res = await app.inject({ method: 'PUT', url: '/system/secrets', payload: { name: 'missing', value: 'x' } });
  t.equal(res.statusCode, 404);
  res = await app.inject({ method: 'DELETE', url: '/system/secrets', payload: { name: 'db-pass' } });
  t.equal(res.statusCode, 202);
  res = await app.inject({ method: 'DELETE', url: '/system/secrets', payload: { name: 'db-pass' } });
  t.equal(res.statusCode, 404);
  res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { name: 'Bad/Name', value: 'x' } });
  t.equal(res.statusCode, 400);
  res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { value: 'x' } });
  t.equal(res.statusCode, 400, 'name required');
  res = await app.inject({ method: 'POST', url: '/system/secrets', payload: { name: 'r', rawValue: '***' } });
  t.equal(res.statusCode, 400, 'bad base64');
});

t.test('namespaces: list, 501 without the capability, CRUD with it', async (t) => {
  const { app } = await gateway(t);
  let res = await app.inject({ method: 'GET', url: '/system/namespaces' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), ['openfaas-fn']);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE'] as const) {
    res = await app.inject({ method, url: '/system/namespace/x', ...(method === 'POST' || method === 'PUT' ? { payload: { name: 'x' } } : {}) });
    t.equal(res.statusCode, 501, `${method} unsupported`);
    t.equal(res.body, 'Feature not implemented in this version of OpenFaaS\n');
  }

  const { app: app2 } = await gateway(t, {}, new LoggingProvider());
  res = await app2.inject({ method: 'POST', url: '/system/namespace/', payload: { name: 'team-a', labels: { openfaas: '1' } } });
  t.equal(res.statusCode, 202, 'create with trailing slash, name in body');
  res = await app2.inject({ method: 'GET', url: '/system/namespace/team-a' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { name: 'team-a', labels: { openfaas: '1' } });
  res = await app2.inject({ method: 'PUT', url: '/system/namespace/team-a', payload: { name: 'team-a', annotations: { a: 'b' } } });
  t.equal(res.statusCode, 202);
  res = await app2.inject({ method: 'PUT', url: '/system/namespace/nope', payload: { name: 'nope' } });
  t.equal(res.statusCode, 404);
  res = await app2.inject({ method: 'DELETE', url: '/system/namespace/team-a' });
  t.equal(res.statusCode, 202);
  res = await app2.inject({ method: 'GET', url: '/system/namespace/team-a' });
  t.equal(res.statusCode, 404);
  res = await app2.inject({ method: 'GET', url: '/system/namespace/BAD' });
  t.equal(res.statusCode, 400);
  res = await app2.inject({ method: 'POST', url: '/system/namespace/', payload: {} });
  t.equal(res.statusCode, 400, 'name required');
});

t.test('/system/logs request validation', async (t) => {
  const { app } = await gateway(t);
  let res = await app.inject({ method: 'GET', url: '/system/logs?name=x' });
  t.equal(res.statusCode, 501, 'provider without logs');
  t.equal(res.body, '');

  const lp = new LoggingProvider();
  await lp.deploy({ service: 'fn', image: 'i' });
  const { app: app2 } = await gateway(t, {}, lp);
  res = await app2.inject({ method: 'GET', url: '/system/logs?name=fn&tail=abc' });
  t.equal(res.statusCode, 422);
  t.equal(res.body, 'could not parse the log request\n');
  res = await app2.inject({ method: 'GET', url: '/system/logs?name=fn&since=yesterday' });
  t.equal(res.statusCode, 422);
  res = await app2.inject({ method: 'GET', url: '/system/logs' });
  t.equal(res.statusCode, 400, 'name required');
  res = await app2.inject({ method: 'GET', url: '/system/logs?name=missing' });
  t.equal(res.statusCode, 404);

  lp.logLines.push(
    { name: 'fn', namespace: 'openfaas-fn', instance: 'r0', timestamp: '2026-01-01T00:00:00Z', text: 'one' },
    { text: 'two', timestamp: '2026-01-01T00:00:01Z', instance: 'r1', namespace: 'openfaas-fn', name: 'fn' },
  );
  res = await app2.inject({ method: 'GET', url: '/system/logs?name=fn&tail=-1&follow=false&since=2025-12-31T00:00:00Z&instance=r0' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/x-ndjson/);
  const lines = res.body.trim().split('\n');
  t.equal(lines.length, 2);
  t.same(Object.keys(JSON.parse(lines[1]!)), ['name', 'namespace', 'instance', 'timestamp', 'text'], 'key order');
  t.match(lp.lastLogRequest, { name: 'fn', tail: -1, follow: false, instance: 'r0' });
  t.equal(lp.lastLogRequest!.since!.toISOString(), '2025-12-31T00:00:00.000Z');
});

t.test('/healthz, /metrics, / and unknown paths', async (t) => {
  const { app, provider } = await gateway(t);
  let res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.equal(res.body, 'OK');
  provider.healthy = false;
  res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 502);
  t.equal(res.body, '');

  res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.body, /process_cpu_user_seconds_total/);

  res = await app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 307);
  t.equal(res.headers.location, '/ui/');

  res = await app.inject({ method: 'GET', url: '/nope' });
  t.equal(res.statusCode, 404);
  t.equal(res.body, '404 page not found\n');
  t.match(res.headers['content-type'], /^text\/plain/);
  res = await app.inject({ method: 'GET', url: '/ui' });
  t.equal(res.statusCode, 404, '/ui without slash is not matched');
  res = await app.inject({ method: 'GET', url: '/system/function/%zz' });
  t.equal(res.statusCode, 400, 'bad percent-encoding');
  t.match(res.headers['content-type'], /^text\/plain/);
  res = await app.inject({ method: 'GET', url: '/async-function/x' });
  t.equal(res.statusCode, 404, 'async routes absent without a queue');
  res = await app.inject({ method: 'POST', url: '/async-function/x' });
  t.equal(res.statusCode, 404);
});

t.test('405 for known paths with another method', async (t) => {
  const { app } = await gateway(t, { basic_auth: 'true' }, new MemoryProvider(), { credentials: { user: 'admin', password: 'pw' } });
  for (const [method, url] of [
    ['PATCH', '/system/functions'],
    ['HEAD', '/healthz'],
    ['POST', '/healthz'],
    ['DELETE', '/system/info'],
    ['GET', '/system/scale-function/x'],
    ['PUT', '/system/logs'],
    ['POST', '/'],
  ] as const) {
    const res = await app.inject({ method, url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.equal(res.body, '');
  }
});

// `/./` and `/../` are normalised by inject() itself; gateway-proxy.test.ts covers them over a socket.
t.test('non-canonical paths are redirected with 301', async (t) => {
  const { app } = await gateway(t);
  for (const [url, location] of [
    ['//system/info', '/system/info'],
    ['/function/fn//a/', '/function/fn/a/'],
    ['/system//functions?namespace=x', '/system/functions?namespace=x'],
  ] as const) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 301, url);
    t.equal(res.headers.location, location, url);
  }
});

t.test('UI static files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), '<h1>faas-ts</h1>');
  mkdirSync(join(dir, 'js'));
  writeFileSync(join(dir, 'js', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, '..', 'gw-ui-secret.txt'), 'nope');
  t.teardown(() => rmSync(join(dir, '..', 'gw-ui-secret.txt'), { force: true }));
  const { app } = await gateway(t, { ui_dir: dir });
  let res = await app.inject({ method: 'GET', url: '/ui/' });
  t.equal(res.statusCode, 200);
  t.equal(res.body, '<h1>faas-ts</h1>');
  t.match(res.headers['content-type'], /^text\/html/);
  t.equal(res.headers['access-control-allow-origin'], 'raw.githubusercontent.com');
  res = await app.inject({ method: 'GET', url: '/ui/js/app.js' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /javascript/);
  res = await app.inject({ method: 'GET', url: '/ui/%2e%2e/gw-ui-secret.txt' });
  t.equal(res.statusCode, 404, 'encoded traversal');
  res = await app.inject({ method: 'GET', url: '/ui/missing.css' });
  t.equal(res.statusCode, 404);
});

t.test('basic auth on /system/* and /ui, open elsewhere', async (t) => {
  const creds = { user: 'admin', password: 'p@ss:word' };
  const { app, provider } = await gateway(t, { basic_auth: 'true' }, new MemoryProvider(), { credentials: creds });
  await provider.deploy({ service: 'f', image: 'i' });
  const good = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
  const bad = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
  for (const [method, url] of [
    ['GET', '/system/functions'],
    ['POST', '/system/functions'],
    ['GET', '/system/function/f'],
    ['POST', '/system/scale-function/f'],
    ['GET', '/system/info'],
    ['GET', '/system/secrets'],
    ['GET', '/system/logs?name=f'],
    ['GET', '/system/namespaces'],
    ['GET', '/system/namespace/x'],
    ['GET', '/ui/'],
  ] as const) {
    for (const authorization of [undefined, bad, 'Bearer', 'Basic !!!']) {
      const res = await app.inject({ method, url, headers: authorization ? { authorization } : {} });
      t.equal(res.statusCode, 401, `${method} ${url} ${authorization ?? 'none'}`);
      t.equal(res.headers['www-authenticate'], 'Basic realm="Restricted"');
      t.equal(res.body, 'invalid credentials');
    }
  }
  let res = await app.inject({ method: 'GET', url: '/system/functions', headers: { authorization: good } });
  t.equal(res.statusCode, 200);
  res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  res = await app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 307);
  res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  res = await app.inject({ method: 'GET', url: '/function/unknown' });
  t.equal(res.statusCode, 404, '/function is not protected');
});

t.test('basic auth reads credential files; a missing file fails startup', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await t.rejects(
    buildGateway(loadGatewayConfig({ ...baseEnv, basic_auth: 'true', secret_mount_path: dir }), { provider: new MemoryProvider() }),
    { code: 'GW_ERR_CREDENTIALS' },
  );
  writeFileSync(join(dir, 'basic-auth-user'), 'admin\n');
  writeFileSync(join(dir, 'basic-auth-password'), '  pw \n');
  const app = await buildGateway(loadGatewayConfig({ ...baseEnv, basic_auth: 'true', secret_mount_path: dir }), {
    provider: new MemoryProvider(),
  });
  t.teardown(() => app.close());
  const res = await app.inject({
    method: 'GET',
    url: '/system/functions',
    headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
  });
  t.equal(res.statusCode, 200, 'trimmed credentials');
});

t.test('provider failures map to statuses without leaking internals', async (t) => {
  const provider = new MemoryProvider();
  provider.list = async () => {
    throw new Error('socket exploded at 0xdeadbeef');
  };
  const { app } = await gateway(t, {}, provider);
  const res = await app.inject({ method: 'GET', url: '/system/functions' });
  t.equal(res.statusCode, 500);
  t.equal(res.body, 'internal error\n');
});

t.test('two gateways in one process keep separate registries', async (t) => {
  const { app: a } = await gateway(t);
  const { app: b } = await gateway(t);
  t.equal((await a.inject({ url: '/metrics' })).statusCode, 200);
  t.equal((await b.inject({ url: '/metrics' })).statusCode, 200);
});

t.test('with a queue, /async-function/* is registered (POST only, no auth)', async (t) => {
  const items: QueueRequest[] = [];
  const queue: RequestQueuer = {
    async enqueue(req) {
      items.push(req);
    },
    async close() {},
  };
  const { app } = await gateway(t, { basic_auth: 'true' }, new MemoryProvider(), { credentials: { user: 'a', password: 'b' }, queue });
  let res = await app.inject({ method: 'POST', url: '/async-function/fn.ns/sub?x=1', payload: 'hello', headers: { 'content-type': 'text/plain' } });
  t.equal(res.statusCode, 202);
  t.ok(res.headers['x-call-id']);
  t.match(items[0], { Function: 'fn.ns', Method: 'POST', Path: '/sub', QueryString: 'x=1', Body: Buffer.from('hello').toString('base64') });
  res = await app.inject({ method: 'GET', url: '/async-function/fn' });
  t.equal(res.statusCode, 405);
});

t.test('a shared registry that already has default metrics is accepted', async (t) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { app } = await gateway(t, {}, new MemoryProvider(), { registry });
  const res = await app.inject({ url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.equal(res.body.match(/^# TYPE process_cpu_user_seconds_total/gm)?.length, 1);
  t.match(res.body, /gateway_service_count/);
});
