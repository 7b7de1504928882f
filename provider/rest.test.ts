/**
 * Round trip over real processes: provider-local (supervising real watchdog
 * replicas) served by serveProvider(), driven both with raw HTTP (status codes
 * and bytes as the spec gives them) and through createRestProvider().
 * Needs dist/fwatchdog.cjs (`npm run build:watchdog`).
 */
import t from 'tap';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createLocalProvider } from '../provider-local/index.js';
import type { LogMessage, Provider } from './index.js';
import { serveProvider, createRestProvider } from './rest.js';
import { until, watchdogCommand } from '../test/helpers.js';

const READY_MS = 20_000;
const CREDS = { user: 'admin', password: 'pa55' };
const AUTH = 'Basic ' + Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64');

/** An http-mode function that reports what it received and logs each request. */
const HTTP_FUNCTION = `
const http = require('node:http');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    console.log('handled ' + req.method + ' ' + req.url);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body, greeting: process.env.greeting || '' }));
  });
}).listen(Number(process.env.http_port), '127.0.0.1');
`;

async function call(base: string, method: string, path: string, body?: unknown, auth = true) {
  const headers: Record<string, string> = auth ? { authorization: AUTH } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(base + path, {
    method: method as 'GET',
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function ready(p: Provider, name: string, n: number, ns?: string) {
  await until(async () => ((await p.get(name, ns))?.availableReplicas ?? 0) === n, READY_MS, `${name} has ${n} ready`);
}

t.test('serveProvider(provider-local) ⇄ createRestProvider, with real watchdog replicas', async (t) => {
  if (!existsSync(watchdogCommand()[1]!)) {
    t.fail('dist/fwatchdog.cjs missing: run `npm run build:watchdog` first');
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-rest-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const src = join(dataDir, 'src');
  await mkdir(join(src, 'http'), { recursive: true });
  await writeFile(join(src, 'http', 'index.js'), HTTP_FUNCTION);
  await mkdir(join(src, 'cat'), { recursive: true });

  const local = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  t.teardown(() => local.close());
  await local.bundles.add('echo-http', join(src, 'http'), {
    mode: 'http',
    fprocess: 'node index.js',
    upstream_url: 'http://127.0.0.1:${PORT}',
  });
  await local.bundles.add('echo-cat', join(src, 'cat'), { mode: 'streaming', fprocess: 'cat' });

  const srv = await serveProvider(local, { credentials: CREDS, readTimeoutMs: 15_000, writeTimeoutMs: 15_000 });
  t.teardown(() => srv.close());
  const client = createRestProvider({ baseUrl: srv.url, credentials: CREDS });
  t.teardown(() => client.close());

  // 1. Auth guards /system/*, never /function or /healthz.
  const anon = await call(srv.url, 'GET', '/system/functions', undefined, false);
  t.equal(anon.status, 401);
  t.equal(anon.headers['www-authenticate'], 'Basic realm="Restricted"');
  t.equal(anon.text, 'invalid credentials');
  t.equal((await call(srv.url, 'GET', '/healthz', undefined, false)).status, 200);
  await client.health!();

  // 2. Info and namespaces.
  const info = JSON.parse((await call(srv.url, 'GET', '/system/info')).text);
  t.same(Object.keys(info), ['provider', 'version', 'orchestration']);
  t.equal(info.provider, 'faas-ts-local');
  t.same(await client.info(), info);
  t.equal((await call(srv.url, 'GET', '/system/namespaces')).text, '["openfaas-fn"]');
  t.same(await client.namespaces(), ['openfaas-fn']);
  t.equal(client.defaultNamespace, 'openfaas-fn');

  // 3. Deploy with bad and good bodies.
  t.equal((await call(srv.url, 'POST', '/system/functions', { service: 'echo' })).status, 400, 'image required');
  t.equal((await call(srv.url, 'POST', '/system/functions', '{nope')).status, 400, 'invalid JSON');
  t.equal((await call(srv.url, 'POST', '/system/functions', { service: 'Bad_Name', image: 'echo-http' })).status, 400);
  const dep = await call(srv.url, 'POST', '/system/functions', {
    service: 'echo',
    image: 'echo-http',
    labels: {},
    annotations: {},
    envVars: { greeting: 'hi' },
    registryAuth: 'ignored',
  });
  t.equal(dep.status, 202);
  t.equal(dep.text, '');

  const list = await call(srv.url, 'GET', '/system/functions');
  t.equal(list.status, 200);
  t.equal(list.headers['content-type'], 'application/json');
  const items = JSON.parse(list.text) as Record<string, unknown>[];
  t.equal(items.length, 1);
  t.same(
    Object.keys(items[0]!).filter((k) => k !== 'availableReplicas'),
    ['name', 'image', 'namespace', 'envVars', 'labels', 'annotations', 'replicas', 'createdAt'],
    'keys in upstream order, empty ones omitted',
  );
  t.match(items[0], {
    name: 'echo',
    image: 'echo-http',
    namespace: 'openfaas-fn',
    envVars: { greeting: 'hi' },
    labels: { faas_function: 'echo' },
    annotations: {},
    replicas: 1,
  });
  t.ok(!Number.isNaN(Date.parse(items[0]!.createdAt as string)), 'createdAt is a time');
  t.equal((await call(srv.url, 'GET', '/system/function/echo?namespace=openfaas-fn&usage=false')).status, 200);
  t.equal((await call(srv.url, 'GET', '/system/function/ghost')).status, 404);
  t.equal((await call(srv.url, 'GET', '/system/functions?namespace=kube-system')).status, 400);

  // 4. Invocation through the provider's /function route.
  await ready(client, 'echo', 1);
  const inv = await call(srv.url, 'POST', '/function/echo/some/path?x=1', 'payload', false);
  t.equal(inv.status, 200);
  t.same(JSON.parse(inv.text), { method: 'POST', url: '/some/path?x=1', body: 'payload', greeting: 'hi' });
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    const r = await call(srv.url, method, '/function/echo.openfaas-fn?m=' + method, undefined, false);
    t.equal(JSON.parse(r.text).method, method, `${method} reaches the function`);
  }
  const missing = await call(srv.url, 'GET', '/function/ghost', undefined, false);
  t.equal(missing.status, 503);
  t.equal(missing.text, 'No endpoints available for: ghost.\n');
  t.equal(missing.headers['x-openfaas-internal'], 'proxy');

  // ... and as the gateway would: the client's single endpoint.
  const eps = await client.endpoints('echo');
  t.same(eps, [{ id: 'provider-1', baseUrl: srv.url, pathPrefix: '/function/echo.openfaas-fn' }]);
  const viaEp = await request(`${eps[0]!.baseUrl}${eps[0]!.pathPrefix}/from-gateway?y=2`);
  t.equal(JSON.parse(await viaEp.body.text()).url, '/from-gateway?y=2');
  await t.rejects(client.endpoints('ghost'), { code: 'NOT_FOUND' });

  // 5. Streaming bundle through the client's deploy and update.
  await client.deploy({ service: 'cat', image: 'echo-cat', labels: { team: 'a' } });
  await ready(client, 'cat', 1);
  const cat = await call(srv.url, 'POST', '/function/cat', 'round trip body', false);
  t.equal(cat.text, 'round trip body');
  await client.update({ service: 'cat', image: 'echo-cat', labels: { team: 'b' } });
  t.match(await client.get('cat'), { labels: { team: 'b', faas_function: 'cat' } });
  await t.rejects(client.update({ service: 'ghost', image: 'echo-cat' }), { code: 'NOT_FOUND' });
  await t.rejects(client.deploy({ service: 'x', image: 'no-such-bundle' }), { name: 'ProviderError' });

  // 6. Logs: NDJSON, tail, follow with abort.
  await until(
    async () => {
      const r = await call(srv.url, 'GET', '/system/logs?name=echo&tail=-1');
      return r.text.includes('handled POST /some/path?x=1');
    },
    5000,
    'function stdout in logs',
  );
  const logs = await call(srv.url, 'GET', '/system/logs?name=echo&tail=1');
  t.equal(logs.status, 200);
  t.equal(logs.headers['content-type'], 'application/x-ndjson');
  const lines = logs.text.split('\n');
  t.equal(lines.pop(), '', 'newline-terminated');
  t.equal(lines.length, 1);
  t.same(Object.keys(JSON.parse(lines[0]!)), ['name', 'namespace', 'instance', 'timestamp', 'text']);
  t.equal((await call(srv.url, 'GET', '/system/logs?name=echo&tail=x')).status, 422);
  t.equal((await call(srv.url, 'GET', '/system/logs?name=echo&since=2026-13-99')).status, 422);
  t.equal((await call(srv.url, 'GET', '/system/logs?name=ghost')).status, 404);

  const ac = new AbortController();
  const followed: LogMessage[] = [];
  const reading = (async () => {
    for await (const m of client.logs!({ name: 'echo', tail: 1, follow: true }, ac.signal)) followed.push(m);
  })();
  await until(() => followed.length >= 1, 5000, 'backlog line');
  await call(srv.url, 'GET', '/function/echo/live-line', undefined, false);
  await until(() => followed.some((m) => m.text.includes('handled GET /live-line')), 5000, 'followed line');
  t.match(followed.at(-1), { name: 'echo', namespace: 'openfaas-fn', instance: /^echo-/ });
  ac.abort();
  await reading;
  t.pass('follow ends on abort');

  // 7. Scale through both paths; zero replicas means no endpoint.
  t.equal((await call(srv.url, 'POST', '/system/scale-function/echo', { serviceName: 'echo', replicas: 2 })).status, 202);
  await ready(client, 'echo', 2);
  t.equal((await call(srv.url, 'POST', '/system/scale-function/ghost', { serviceName: 'ghost', replicas: 1 })).status, 404);
  t.equal((await call(srv.url, 'POST', '/system/scale-function/echo', '{"replicas":')).status, 400);
  await client.scale('echo', 0);
  t.same(await client.endpoints('echo'), []);
  t.equal((await call(srv.url, 'GET', '/function/echo', undefined, false)).status, 503);
  await client.scale('echo', 1);
  await ready(client, 'echo', 1);
  t.equal((await call(srv.url, 'GET', '/function/echo', undefined, false)).status, 200, 'back from zero');

  // 8. Secrets.
  t.equal((await call(srv.url, 'POST', '/system/secrets', { name: 'api-key', value: 's3' })).status, 201);
  t.equal((await call(srv.url, 'POST', '/system/secrets', { name: 'api-key', value: 's3' })).status, 409);
  await t.rejects(client.createSecret({ name: 'api-key', value: 'x' }), { code: 'ALREADY_EXISTS' });
  await client.updateSecret({ name: 'api-key', rawValue: Buffer.from([0, 1, 2]).toString('base64') });
  await t.rejects(client.updateSecret({ name: 'ghost', value: 'x' }), { code: 'NOT_FOUND' });
  const secrets = await call(srv.url, 'GET', '/system/secrets');
  t.same(JSON.parse(secrets.text), [{ name: 'api-key', namespace: 'openfaas-fn' }], 'no values listed');
  t.same(await client.listSecrets(), [{ name: 'api-key', namespace: 'openfaas-fn' }]);
  t.equal((await call(srv.url, 'DELETE', '/system/secrets', { name: 'api-key' })).status, 202);
  await t.rejects(client.deleteSecret('api-key'), { code: 'NOT_FOUND' });

  // 9. Namespaces through the client.
  await client.createNamespace!({ name: 'team-a', labels: { openfaas: '1' } });
  t.same(await client.getNamespace!('team-a'), { name: 'team-a', labels: { openfaas: '1' } });
  t.same((await client.namespaces()).sort(), ['openfaas-fn', 'team-a']);
  await t.rejects(client.createNamespace!({ name: 'team-a' }), { code: 'ALREADY_EXISTS' });
  await client.deleteNamespace!('team-a');
  t.equal(await client.getNamespace!('team-a'), undefined);

  // 10. Remove.
  t.equal((await call(srv.url, 'DELETE', '/system/functions')).status, 400, 'expected a body');
  t.equal((await call(srv.url, 'DELETE', '/system/functions', { functionName: 'echo' })).status, 202);
  await client.remove('cat');
  await t.rejects(client.remove('cat'), { code: 'NOT_FOUND' });
  t.same(await client.list(), []);
  t.equal((await call(srv.url, 'GET', '/function/echo', undefined, false)).status, 503);

  const metrics = await call(srv.url, 'GET', '/metrics', undefined, false);
  t.match(metrics.text, /provider_http_requests_total\{code="202",method="POST",path="\/system\/functions"\} 2/);
});
