/**
 * faas-cli contract: the requests an unmodified current faas-cli sends
 * (spec/cli-and-certifier.md §0.2, §3), replayed with the same method, path,
 * headers (User-Agent, Authorization, Content-Type, Accept-Encoding) and body
 * against a real gateway (`faas-ts up` in process: local provider, real
 * fwatchdog replicas, embedded durable queue and worker). Asserts the status
 * codes and JSON shapes faas-cli decodes.
 *
 * Functions use the generic `functions/alpine` image (fork per request with
 * envProcess), so no bundle build is needed.
 * Needs dist/fwatchdog.cjs (`npm run build:watchdog`; `npm test` builds it).
 */
import t from 'tap';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { findRepoRoot, loadUpConfig } from '../cli/config.js';
import { runUp } from '../cli/up.js';
import { until } from './helpers.js';

/** proxy.Client's User-Agent (faas-cli/<version>), the go-sdk invoke one, and Go's default. */
const UA_PROXY = 'faas-cli/0.17.4';
const UA_INVOKE = 'faas-cli/0.17.4 (openfaas; linux; amd64)';
const UA_SDK = 'openfaas-go-sdk';
const UA_GO = 'Go-http-client/1.1';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One HTTP/1.1 request with exactly the given headers (plus Host and
 * Content-Length, which Go's client also sends), like Go's net/http.
 */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers, 'Accept-Encoding': 'gzip' };
    if (body !== undefined) h['Content-Length'] = String(Buffer.byteLength(body));
    const req = httpRequest(url, { method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a streamed response until `enough(text)` holds, then aborts (logs --tail=true). */
function sendUntil(base: string, path: string, headers: Record<string, string>, enough: (text: string) => boolean, timeoutMs = 15_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method: 'GET', headers: { ...headers, 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
      let text = '';
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`stream did not deliver in ${timeoutMs}ms: ${text}`));
      }, timeoutMs);
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (enough(text)) {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          req.destroy();
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
  });
}

const ndjson = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { name: string; namespace: string; instance: string; timestamp: string; text: string });

t.test('faas-cli requests against faas-ts up (local provider, real watchdogs)', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faas-cli-contract-'));
  const repoRoot = findRepoRoot();
  const config = loadUpConfig(['--skip-deploy', '--port', '0'], {
    env: { FAAS_TS_DATA_DIR: join(base, 'data'), metrics_port: '0' },
    cwd: base,
    repoRoot,
    execPath: process.execPath,
  });
  const up = await runUp(config, { print: () => undefined, logger: pino({ level: 'silent' }), env: {} });
  t.teardown(async () => {
    await up.close();
    await rm(base, { recursive: true, force: true });
  });
  const gw = up.url;
  const password = (await readFile(join(config.credentialsDir, 'basic-auth-password'), 'utf8')).trim();
  const basic = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  /** proxy.Client headers: Authorization always; Content-Type only with a body. */
  const mgmt = (withBody: boolean) => ({
    'User-Agent': UA_PROXY,
    Authorization: basic,
    ...(withBody ? { 'Content-Type': 'application/json' } : {}),
  });
  const json = <T = Record<string, unknown>>(r: Reply) => JSON.parse(r.text) as T;

  // The body faas-cli builds from a stack.yml entry using every field (§1, §3.1):
  // labels/annotations always present, namespace in the body only.
  const deployBody = {
    service: 'stack-all',
    image: 'docker.io/functions/alpine:latest',
    envProcess: 'env',
    envVars: { custom_env: 'custom_env_value', write_debug: 'true' },
    constraints: ['node.platform.os == linux'],
    secrets: ['api-key'],
    labels: { 'com.openfaas.scale.min': '1', team: 'edge' },
    annotations: { topic: 'sensors', 'some-json': '{\n  "a": 1,\n  "b": [true, null]\n}\n' },
    limits: { memory: '128Mi', cpu: '500m' },
    requests: { memory: '64Mi', cpu: '100m' },
    readOnlyRootFilesystem: true,
    namespace: 'openfaas-fn',
  };

  await t.test('login: raw net/http GET /system/functions with Basic (§3.9)', async (t) => {
    const bad = await send(gw, 'GET', '/system/functions', { 'User-Agent': UA_GO, Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` });
    t.equal(bad.status, 401, 'bad credentials: 401, which faas-cli reports as "username or password is incorrect"');
    const empty = await send(gw, 'GET', '/system/functions', { 'User-Agent': UA_PROXY, Authorization: 'Bearer' });
    t.equal(empty.status, 401, 'no config entry: faas-cli sends an empty Bearer, which auth rejects');
    const ok = await send(gw, 'GET', '/system/functions', { 'User-Agent': UA_GO, Authorization: basic });
    t.equal(ok.status, 200);
    t.same(json(ok), []);
  });

  await t.test('ready and version (§3.5, §3.11)', async (t) => {
    const health = await send(gw, 'GET', '/healthz', { 'User-Agent': UA_GO });
    t.equal(health.status, 200, 'healthz needs no auth');
    const info = await send(gw, 'GET', '/system/info', mgmt(false));
    t.equal(info.status, 200);
    const body = json<{ provider: { provider: string; orchestration: string; version: { release: string; sha: string } }; version: { release: string; sha: string }; arch: string }>(info);
    for (const v of [body.provider.provider, body.provider.orchestration, body.provider.version.release, body.provider.version.sha, body.version.release, body.version.sha, body.arch]) {
      t.type(v, 'string');
      t.not(v, '');
    }
  });

  await t.test('namespaces (go-sdk client, §3.10)', async (t) => {
    const r = await send(gw, 'GET', '/system/namespaces', { 'User-Agent': UA_SDK, Authorization: basic });
    t.equal(r.status, 200);
    t.same(json(r), ['openfaas-fn']);
  });

  await t.test('secret create / list / update (§3.8)', async (t) => {
    let r = await send(gw, 'POST', '/system/secrets', mgmt(true), JSON.stringify({ name: 'api-key', namespace: 'openfaas-fn', value: 'first' }));
    t.ok([200, 201, 202].includes(r.status), `create: ${r.status} ${r.text}`);
    r = await send(gw, 'POST', '/system/secrets', mgmt(true), JSON.stringify({ name: 'api-key', namespace: 'openfaas-fn', value: 'again' }));
    t.equal(r.status, 409, 'existing secret: 409 (faas-cli then offers --replace)');
    // --from-file sends both rawValue (base64) and value; rawValue wins.
    r = await send(gw, 'POST', '/system/secrets', mgmt(true), JSON.stringify({ name: 'raw-one', rawValue: Buffer.from('raw\nbytes').toString('base64'), value: 'raw\nbytes' }));
    t.ok([200, 201, 202].includes(r.status), `create raw: ${r.status}`);
    r = await send(gw, 'GET', '/system/secrets?namespace=openfaas-fn', mgmt(false));
    t.equal(r.status, 200);
    const list = json<{ name: string; namespace?: string; value?: string }[]>(r);
    t.same(list.map((s) => s.name).sort(), ['api-key', 'raw-one']);
    t.ok(list.every((s) => s.value === undefined && !('rawValue' in s)), 'no values listed');
    r = await send(gw, 'GET', '/system/secrets', mgmt(false));
    t.equal(json<unknown[]>(r).length, 2, 'no namespace query: the default namespace');
    r = await send(gw, 'PUT', '/system/secrets', mgmt(true), JSON.stringify({ name: 'api-key', namespace: 'openfaas-fn', value: 'second' }));
    t.ok([200, 202].includes(r.status), `update: ${r.status}`);
    r = await send(gw, 'PUT', '/system/secrets', mgmt(true), JSON.stringify({ name: 'nope', namespace: 'openfaas-fn', value: 'x' }));
    t.equal(r.status, 404, 'unknown secret: 404 ("unable to find secret")');
  });

  await t.test('deploy: PUT → 404 → POST, then PUT updates (§3.1)', async (t) => {
    let r = await send(gw, 'PUT', '/system/functions', mgmt(true), JSON.stringify(deployBody));
    t.equal(r.status, 404, 'first deploy: PUT of an unknown function is 404, never 400/500');
    r = await send(gw, 'POST', '/system/functions', mgmt(true), JSON.stringify(deployBody));
    t.equal(r.status, 202, 'then POST: 202');
    r = await send(gw, 'PUT', '/system/functions', mgmt(true), JSON.stringify({ ...deployBody, annotations: { ...deployBody.annotations, rev: '2' } }));
    t.equal(r.status, 202, 'second deploy: PUT 202');
    // --update=false: POST only; POST for an existing function is an update.
    r = await send(gw, 'POST', '/system/functions', mgmt(true), JSON.stringify({ ...deployBody, annotations: { ...deployBody.annotations, rev: '3' } }));
    t.equal(r.status, 202);
    // A minimal deploy with null labels/annotations and a GPU limit key from a newer client.
    r = await send(gw, 'POST', '/system/functions', mgmt(true), JSON.stringify({ service: 'echo', image: 'functions/alpine:latest', envProcess: 'cat', labels: null, annotations: null, limits: { 'nvidia.com/gpu': '' } }));
    t.equal(r.status, 202, r.text);
    r = await send(gw, 'POST', '/system/functions', mgmt(true), JSON.stringify({ service: 'Bad_Name', image: 'x' }));
    t.equal(r.status, 400, 'invalid service name: 400');
    t.notOk(r.text.startsWith('{'), 'plain-text error body, shown to the user as is');
  });

  await t.test('list, list -v, describe with usage=1 (§3.3, §3.4)', async (t) => {
    let r = await send(gw, 'GET', '/system/functions', mgmt(false));
    t.equal(r.status, 200);
    const list = json<Record<string, unknown>[]>(r);
    t.same(list.map((f) => f.name).sort(), ['echo', 'stack-all']);
    const item = list.find((f) => f.name === 'stack-all')!;
    t.match(item, {
      name: 'stack-all',
      image: deployBody.image,
      namespace: 'openfaas-fn',
      envProcess: 'env',
      envVars: deployBody.envVars,
      constraints: deployBody.constraints,
      secrets: ['api-key'],
      labels: { ...deployBody.labels, faas_function: 'stack-all' },
      annotations: { ...deployBody.annotations, rev: '3' },
      limits: deployBody.limits,
      requests: deployBody.requests,
      readOnlyRootFilesystem: true,
    });
    t.equal(item.replicas, 1);
    t.ok(Number.isFinite(Date.parse(String(item.createdAt))), 'list -v reads createdAt (RFC 3339)');
    const echo = list.find((f) => f.name === 'echo')!;
    t.same(echo.labels, { faas_function: 'echo' }, 'null labels read back as an object');
    t.same(echo.annotations, {}, 'null annotations read back as an object');
    t.notOk('envVars' in echo || 'secrets' in echo || 'constraints' in echo || 'requests' in echo, 'empty fields omitted');

    r = await send(gw, 'GET', '/system/functions?namespace=openfaas-fn', mgmt(false));
    t.equal(json<unknown[]>(r).length, 2, '-n openfaas-fn');

    r = await send(gw, 'GET', '/system/function/stack-all?namespace=openfaas-fn&usage=1', mgmt(false));
    t.equal(r.status, 200);
    t.match(json(r), { name: 'stack-all', image: deployBody.image, namespace: 'openfaas-fn', annotations: { 'some-json': deployBody.annotations['some-json'] } });
    r = await send(gw, 'GET', '/system/function/stack-all?usage=1', mgmt(false));
    t.equal(r.status, 200, 'describe without -n');
    r = await send(gw, 'GET', '/system/function/missing?usage=1', mgmt(false));
    t.equal(r.status, 404, 'describe of an unknown function: 404 ("no such function")');
  });

  await t.test('ready NAME: poll until availableReplicas > 0 (§3.5)', async () => {
    for (const name of ['stack-all', 'echo']) {
      await until(async () => {
        const r = await send(gw, 'GET', `/system/function/${name}?usage=1`, mgmt(false));
        return (json<{ availableReplicas?: number }>(r).availableReplicas ?? 0) > 0;
      }, 30_000, `${name} ready`);
    }
  });

  await t.test('invoke: sync, -m, -H, --query, stdin body (§3.6)', async (t) => {
    const inv = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      send(gw, method, path, { 'User-Agent': UA_INVOKE, 'Content-Type': 'text/plain', ...headers }, body);
    let r = await inv('POST', '/function/echo.openfaas-fn', {}, 'hello from stdin\n');
    t.equal(r.status, 200);
    t.equal(r.text, 'hello from stdin\n', 'body passed through byte for byte');
    t.ok(r.headers['x-call-id'] && r.headers['x-start-time'], 'X-Call-Id and X-Start-Time');
    r = await inv('PUT', '/function/stack-all.openfaas-fn?a=1&b=two', { 'X-Custom': 'yes' }, '');
    t.equal(r.status, 200);
    t.match(r.text, /^Http_Method=PUT$/m);
    t.match(r.text, /^Http_Query=a=1&b=two$/m);
    t.match(r.text, /^Http_X_Custom=yes$/m, '-H header reaches the function');
    t.match(r.text, /^custom_env=custom_env_value$/m, 'envVars reach the process');
    for (const m of ['GET', 'PATCH', 'DELETE']) {
      r = await inv(m, '/function/stack-all.openfaas-fn', {});
      t.match(r.text, new RegExp(`^Http_Method=${m}$`, 'm'), `--method ${m}`);
    }
    r = await inv('POST', '/function/stack-all', { 'Content-Type': 'application/json' }, '{}');
    t.match(r.text, /^Http_Content_Type=application\/json$/m, '-H Content-Type');
    r = await inv('POST', '/function/nope.openfaas-fn', {}, '');
    t.equal(r.status, 404, 'unknown function: 404');
    await until(async () => {
      const list = json<{ name: string; invocationCount?: number }[]>(await send(gw, 'GET', '/system/functions', mgmt(false)));
      return (list.find((f) => f.name === 'stack-all')?.invocationCount ?? 0) >= 5;
    }, 10_000, 'list shows the invocation count describe reads');
  });

  await t.test('invoke --async with X-Callback-Url (§3.6)', async (t) => {
    const received: { body: string; headers: IncomingHttpHeaders }[] = [];
    const cb = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString(), headers: req.headers });
        res.end();
      });
    });
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => cb.close(() => r())));
    const port = (cb.address() as { port: number }).port;
    const r = await send(gw, 'POST', '/async-function/echo.openfaas-fn', {
      'User-Agent': UA_INVOKE,
      'Content-Type': 'text/plain',
      'X-Callback-Url': `http://127.0.0.1:${port}/done`,
    }, 'async body');
    t.equal(r.status, 202, 'queued: 202');
    t.ok(r.headers['x-call-id'], 'X-Call-Id returned');
    await until(() => received.length > 0, 20_000, 'callback');
    t.equal(received[0]!.body, 'async body', 'callback carries the function result');
    t.equal(received[0]!.headers['x-function-status'], '200');
    t.equal(received[0]!.headers['x-call-id'], r.headers['x-call-id']);
  });

  await t.test('logs: follow=false, tail, since, instance, follow=true (§3.7)', async (t) => {
    const q = (extra: string) => `/system/logs?name=echo&namespace=openfaas-fn${extra}`;
    await until(async () => /Forking fprocess/.test((await send(gw, 'GET', q('&follow=false&tail=-1'), mgmt(false))).text), 30_000, 'fork log line');
    let r = await send(gw, 'GET', q('&follow=false&tail=-1'), mgmt(false));
    t.equal(r.status, 200);
    t.match(String(r.headers['content-type']), /^application\/x-ndjson/);
    const all = ndjson(r.text);
    t.ok(all.length >= 2);
    for (const m of all) t.match(m, { name: 'echo', namespace: 'openfaas-fn', instance: String, timestamp: String, text: String });
    t.ok(all.some((m) => /Wrote \d+ Bytes/.test(m.text)), 'Wrote <n> Bytes line');
    r = await send(gw, 'GET', q('&follow=false&tail=1'), mgmt(false));
    t.equal(ndjson(r.text).length, 1, 'tail=1');
    const future = new Date(Date.now() + 3_600_000).toISOString();
    r = await send(gw, 'GET', q(`&follow=false&since=${encodeURIComponent(future)}`), mgmt(false));
    t.same(ndjson(r.text), [], 'since in the future: nothing');
    r = await send(gw, 'GET', q(`&follow=false&instance=${encodeURIComponent(all[0]!.instance)}&tail=-1`), mgmt(false));
    t.ok(ndjson(r.text).every((m) => m.instance === all[0]!.instance), 'instance filter');
    r = await send(gw, 'GET', q('&follow=false&tail=abc'), mgmt(false));
    t.equal(r.status, 422, 'unparseable tail: 422');
    // faas-cli's default is follow=true&tail=-1; with --since-time only new lines arrive.
    const since = encodeURIComponent(new Date().toISOString());
    const follow = sendUntil(gw, q(`&follow=true&tail=-1&since=${since}`), mgmt(false), (text) => /Wrote 13 Bytes/.test(text));
    const res = await send(gw, 'POST', '/function/echo.openfaas-fn', { 'User-Agent': UA_INVOKE, 'Content-Type': 'text/plain' }, 'follow-marker');
    t.equal(res.status, 200);
    const followed = await follow;
    t.equal(followed.status, 200);
    t.match(followed.text, /Wrote 13 Bytes/, 'a line written after the stream opened is delivered');
  });

  await t.test('secret values reach the function; remove (§3.8)', async (t) => {
    let r = await send(gw, 'POST', '/system/functions', mgmt(true), JSON.stringify({ service: 'read-secret', image: 'functions/alpine:latest', envProcess: 'cat /var/openfaas/secrets/api-key', secrets: ['api-key'], labels: {}, annotations: {} }));
    t.equal(r.status, 202);
    await until(async () => (await send(gw, 'POST', '/function/read-secret', { 'User-Agent': UA_INVOKE }, '')).status === 200, 30_000, 'read-secret');
    r = await send(gw, 'POST', '/function/read-secret', { 'User-Agent': UA_INVOKE }, '');
    t.equal(r.text, 'second', 'updated value, exact bytes');
    r = await send(gw, 'DELETE', '/system/secrets', mgmt(true), JSON.stringify({ name: 'raw-one', namespace: 'openfaas-fn' }));
    t.ok([200, 202].includes(r.status), `remove: ${r.status}`);
    r = await send(gw, 'DELETE', '/system/secrets', mgmt(true), JSON.stringify({ name: 'raw-one', namespace: 'openfaas-fn' }));
    t.equal(r.status, 404, 'second remove: 404 ("unable to find secret")');
  });

  await t.test('remove: body namespace (current faas-cli) and query namespace (certifier) (§3.2)', async (t) => {
    let r = await send(gw, 'DELETE', '/system/functions', mgmt(true), JSON.stringify({ functionName: 'stack-all', namespace: 'openfaas-fn' }));
    t.equal(r.status, 202);
    r = await send(gw, 'DELETE', '/system/functions?namespace=openfaas-fn', mgmt(true), JSON.stringify({ functionName: 'echo' }));
    t.equal(r.status, 202);
    r = await send(gw, 'DELETE', '/system/functions', mgmt(true), JSON.stringify({ functionName: 'read-secret' }));
    t.equal(r.status, 202, 'no namespace: the default');
    r = await send(gw, 'DELETE', '/system/functions', mgmt(true), JSON.stringify({ functionName: 'echo', namespace: 'openfaas-fn' }));
    t.equal(r.status, 404, 'unknown function: 404 ("No existing function to remove")');
    r = await send(gw, 'GET', '/system/functions', mgmt(false));
    t.same(json(r), []);
  });
});
