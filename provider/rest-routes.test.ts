/**
 * Route shapes of serveProvider() and the mapping back in createRestProvider(),
 * over real sockets. The provider behind the server is a small in-memory one
 * (defined below) so that edge cases a real backend cannot produce on demand
 * (a provider without namespace or log support, log lines pushed while a client
 * follows) can be driven from the test. The round trip over provider-local with
 * real watchdog processes is in rest.test.ts.
 */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { serveProvider, type ProviderServer } from './rest-server.js';
import { createRestProvider, parseNdjson } from './rest-client.js';
import { ProviderError } from './errors.js';
import type { Provider } from './provider.js';
import type {
  FunctionDeployment,
  FunctionNamespace,
  FunctionStatus,
  InvokeEndpoint,
  LogMessage,
  LogRequest,
  Secret,
} from './types.js';
import { until } from '../test/helpers.js';

// ---------------------------------------------------------------------------
// In-memory provider used only by this file.

class MemoryProvider implements Provider {
  readonly defaultNamespace = 'openfaas-fn';
  readonly functions = new Map<string, { spec: FunctionDeployment; replicas: number; createdAt: string }>();
  readonly secrets = new Map<string, Secret>();
  readonly nsSet = new Map<string, FunctionNamespace>([['openfaas-fn', { name: 'openfaas-fn' }]]);
  readonly logLines: LogMessage[] = [];
  readonly logWaiters = new Set<() => void>();
  endpointList: InvokeEndpoint[] = [];
  logsAborted = 0;

  #key(name: string, ns?: string): string {
    const n = ns || this.defaultNamespace;
    if (!this.nsSet.has(n)) throw ProviderError.invalid('namespace not valid');
    return `${n}/${name}`;
  }
  async deploy(spec: FunctionDeployment) {
    if (!/^[a-z0-9-]+$/.test(spec.service)) throw ProviderError.invalid(`invalid name ${spec.service}`);
    const labels = spec.labels === undefined ? undefined : spec.labels;
    this.functions.set(this.#key(spec.service, spec.namespace), {
      spec: { ...spec, labels },
      replicas: 1,
      createdAt: '2026-11-28T03:00:00Z',
    });
  }
  async update(spec: FunctionDeployment) {
    const k = this.#key(spec.service, spec.namespace);
    const cur = this.functions.get(k);
    if (!cur) throw ProviderError.notFound(`function ${spec.service}`);
    cur.spec = spec;
  }
  async remove(name: string, ns?: string) {
    if (!this.functions.delete(this.#key(name, ns))) throw ProviderError.notFound(`function ${name}`);
  }
  #status(name: string, ns: string): FunctionStatus | undefined {
    const f = this.functions.get(`${ns}/${name}`);
    if (!f) return undefined;
    const { service: _s, ...rest } = f.spec;
    return {
      ...rest,
      name,
      namespace: ns,
      replicas: f.replicas,
      availableReplicas: f.replicas,
      createdAt: f.createdAt,
      usage: { cpu: 0.5 },
    };
  }
  async list(ns?: string) {
    const n = ns || this.defaultNamespace;
    this.#key('x', n);
    return [...this.functions.keys()]
      .filter((k) => k.startsWith(`${n}/`))
      .map((k) => this.#status(k.slice(n.length + 1), n)!);
  }
  async get(name: string, ns?: string) {
    this.#key(name, ns);
    return this.#status(name, ns || this.defaultNamespace);
  }
  async scale(name: string, replicas: number, ns?: string) {
    const f = this.functions.get(this.#key(name, ns));
    if (!f) throw ProviderError.notFound(`function ${name}`);
    f.replicas = replicas;
  }
  async endpoints(name: string, ns?: string) {
    if (!this.functions.has(this.#key(name, ns))) throw ProviderError.notFound(`function ${name}`);
    return this.endpointList;
  }
  async listSecrets(ns?: string) {
    const n = ns || this.defaultNamespace;
    return [...this.secrets.values()].filter((s) => (s.namespace || this.defaultNamespace) === n);
  }
  async createSecret(s: Secret) {
    const k = this.#key(s.name, s.namespace);
    if (this.secrets.has(k)) throw new ProviderError('ALREADY_EXISTS', `secret ${s.name} already exists`);
    this.secrets.set(k, { ...s, namespace: s.namespace || this.defaultNamespace });
  }
  async updateSecret(s: Secret) {
    const k = this.#key(s.name, s.namespace);
    if (!this.secrets.has(k)) throw ProviderError.notFound(`secret ${s.name}`);
    this.secrets.set(k, { ...s, namespace: s.namespace || this.defaultNamespace });
  }
  async deleteSecret(name: string, ns?: string) {
    if (!this.secrets.delete(this.#key(name, ns))) throw ProviderError.notFound(`secret ${name}`);
  }
  async namespaces() {
    return [...this.nsSet.keys()];
  }
  async getNamespace(name: string) {
    return this.nsSet.get(name);
  }
  async createNamespace(ns: FunctionNamespace) {
    if (this.nsSet.has(ns.name)) throw new ProviderError('ALREADY_EXISTS', `namespace ${ns.name} exists`);
    this.nsSet.set(ns.name, ns);
  }
  async updateNamespace(ns: FunctionNamespace) {
    if (!this.nsSet.has(ns.name)) throw ProviderError.notFound(`namespace ${ns.name}`);
    this.nsSet.set(ns.name, ns);
  }
  async deleteNamespace(name: string) {
    if (!this.nsSet.delete(name)) throw ProviderError.notFound(`namespace ${name}`);
  }
  pushLog(m: LogMessage) {
    this.logLines.push(m);
    for (const w of this.logWaiters) w();
  }
  async *logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    let i = 0;
    const matching = () => this.logLines.filter((m) => m.name === req.name);
    const initial = matching();
    if (req.tail && req.tail > 0) i = Math.max(0, initial.length - req.tail);
    try {
      for (;;) {
        const all = matching();
        while (i < all.length) yield all[i++]!;
        if (!req.follow || signal.aborted) return;
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.logWaiters.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          this.logWaiters.add(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      if (signal.aborted) this.logsAborted++;
    }
  }
  async info() {
    return { provider: 'memory', version: { sha: 'abc', release: '0.0.1' }, orchestration: 'none' };
  }
  async close() {}
}

/** The same provider without the optional capabilities. */
function minimalProvider(): Provider {
  const m = new MemoryProvider();
  return {
    defaultNamespace: m.defaultNamespace,
    deploy: (s) => m.deploy(s),
    update: (s) => m.update(s),
    remove: (n, ns) => m.remove(n, ns),
    list: (ns) => m.list(ns),
    get: (n, ns) => m.get(n, ns),
    scale: (n, r, ns) => m.scale(n, r, ns),
    endpoints: (n, ns) => m.endpoints(n, ns),
    listSecrets: (ns) => m.listSecrets(ns),
    createSecret: (s) => m.createSecret(s),
    updateSecret: (s) => m.updateSecret(s),
    deleteSecret: (n, ns) => m.deleteSecret(n, ns),
    namespaces: () => m.namespaces(),
    info: () => m.info(),
    close: () => m.close(),
  };
}

// ---------------------------------------------------------------------------

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function start(t: Test, provider: Provider, opts: Parameters<typeof serveProvider>[1] = {}) {
  const srv: ProviderServer = await serveProvider(provider, opts);
  t.teardown(() => srv.close());
  return srv;
}

function plainTextError(t: Test, r: { status: number; headers: Record<string, unknown>; text: string }, status: number, body: string) {
  t.equal(r.status, status, `status ${status}`);
  t.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  t.equal(r.headers['x-content-type-options'], 'nosniff');
  t.equal(r.text, body + '\n');
}

t.test('router: unknown path 404, known path with a foreign method 405', async (t) => {
  const srv = await start(t, new MemoryProvider());
  plainTextError(t, await call(srv.url, 'GET', '/nope'), 404, '404 page not found');
  for (const [method, path] of [
    ['PATCH', '/system/functions'],
    ['POST', '/system/info'],
    ['GET', '/system/scale-function/x'],
    ['HEAD', '/system/functions'],
    ['POST', '/healthz'],
    ['PROPFIND', '/function/x'],
    ['TRACE', '/function/x/a'],
  ] as const) {
    const r = await call(srv.url, method, path);
    t.equal(r.status, 405, `${method} ${path}`);
    t.equal(r.text, '');
  }
  const h = await call(srv.url, 'HEAD', '/healthz');
  t.equal(h.status, 200);
  const g = await call(srv.url, 'GET', '/healthz');
  t.equal(g.text, 'OK');
});

t.test('functions: deploy, list bytes, get, update, scale, delete and their errors', async (t) => {
  const mem = new MemoryProvider();
  const srv = await start(t, mem);

  const deploy = await call(srv.url, 'POST', '/system/functions', {
    service: 'fn1',
    image: 'img:1',
    labels: {},
    annotations: {},
    envProcess: 'cat',
    registryAuth: 'ignored',
  });
  t.equal(deploy.status, 202);
  t.equal(deploy.text, '');

  const list = await call(srv.url, 'GET', '/system/functions');
  t.equal(list.status, 200);
  t.equal(list.headers['content-type'], 'application/json');
  t.equal(
    list.text,
    '[{"name":"fn1","image":"img:1","namespace":"openfaas-fn","envProcess":"cat","labels":{},"annotations":{},' +
      '"replicas":1,"availableReplicas":1,"createdAt":"2026-11-28T03:00:00Z","usage":{"cpu":0.5}}]',
  );

  const got = await call(srv.url, 'GET', '/system/function/fn1?namespace=openfaas-fn');
  t.equal(got.status, 200);
  t.match(JSON.parse(got.text), { name: 'fn1', labels: {}, usage: { cpu: 0.5 } });
  const noUsage = await call(srv.url, 'GET', '/system/function/fn1?usage=false');
  t.notOk('usage' in JSON.parse(noUsage.text), 'usage=false drops usage');

  plainTextError(t, await call(srv.url, 'GET', '/system/function/nope'), 404, 'function nope not found');
  plainTextError(t, await call(srv.url, 'GET', '/system/functions?namespace=kube-system'), 400, 'namespace not valid');

  // Body validation with the shared schemas.
  const noImage = await call(srv.url, 'POST', '/system/functions', { service: 'x' });
  t.equal(noImage.status, 400);
  t.match(noImage.text, /image/);
  t.equal(noImage.headers['content-type'], 'text/plain; charset=utf-8');
  const badType = await call(srv.url, 'POST', '/system/functions', { service: 'x', image: 'i', envVars: { a: 1 } });
  t.equal(badType.status, 400);
  const badJson = await call(srv.url, 'POST', '/system/functions', '{"service":');
  t.equal(badJson.status, 400);
  t.match(badJson.text, /unable to parse request body/);
  const badName = await call(srv.url, 'POST', '/system/functions', { service: 'Bad_Name', image: 'i' });
  plainTextError(t, badName, 400, 'invalid name Bad_Name');
  // No Content-Type at all: still parsed as JSON, as Go handlers do.
  const raw = await request(srv.url + '/system/functions', {
    method: 'POST',
    body: JSON.stringify({ service: 'fn2', image: 'img:2' }),
  });
  t.equal(raw.statusCode, 202);
  await raw.body.dump();

  t.equal((await call(srv.url, 'PUT', '/system/functions', { service: 'fn1', image: 'img:3' })).status, 202);
  t.equal(mem.functions.get('openfaas-fn/fn1')!.spec.image, 'img:3');
  plainTextError(
    t,
    await call(srv.url, 'PUT', '/system/functions', { service: 'ghost', image: 'i' }),
    404,
    'function ghost not found',
  );

  t.equal((await call(srv.url, 'POST', '/system/scale-function/fn1', { serviceName: 'fn1', replicas: 3 })).status, 202);
  t.equal(mem.functions.get('openfaas-fn/fn1')!.replicas, 3);
  t.equal(
    (await call(srv.url, 'POST', '/system/scale-function/ghost', { serviceName: 'ghost', replicas: 1 })).status,
    404,
  );
  t.equal((await call(srv.url, 'POST', '/system/scale-function/fn1', { replicas: -1 })).status, 400);

  plainTextError(t, await call(srv.url, 'DELETE', '/system/functions'), 400, 'expected a body');
  t.equal((await call(srv.url, 'DELETE', '/system/functions', { functionName: 'ghost' })).status, 404);
  t.equal((await call(srv.url, 'DELETE', '/system/functions', { functionName: 'fn1' })).status, 202);
  t.notOk(mem.functions.has('openfaas-fn/fn1'));
});

t.test('info, secrets and namespaces', async (t) => {
  const srv = await start(t, new MemoryProvider());
  const info = await call(srv.url, 'GET', '/system/info');
  t.equal(info.text, '{"provider":"memory","version":{"sha":"abc","release":"0.0.1"},"orchestration":"none"}');

  t.equal((await call(srv.url, 'POST', '/system/secrets', { name: 's1', value: 'v' })).status, 201);
  plainTextError(t, await call(srv.url, 'POST', '/system/secrets', { name: 's1', value: 'v' }), 409, 'secret s1 already exists');
  t.equal((await call(srv.url, 'PUT', '/system/secrets', { name: 's1', rawValue: 'AAE=' })).status, 202);
  t.equal((await call(srv.url, 'PUT', '/system/secrets', { name: 's9', value: 'v' })).status, 404);
  t.equal((await call(srv.url, 'POST', '/system/secrets', { value: 'v' })).status, 400);
  const secrets = await call(srv.url, 'GET', '/system/secrets');
  t.equal(secrets.text, '[{"name":"s1","namespace":"openfaas-fn"}]');
  t.equal((await call(srv.url, 'DELETE', '/system/secrets', { name: 's1' })).status, 202);
  t.equal((await call(srv.url, 'DELETE', '/system/secrets', { name: 's1' })).status, 404);

  t.equal((await call(srv.url, 'GET', '/system/namespaces')).text, '["openfaas-fn"]');
  // faas-cli's create: trailing slash, name in the body.
  t.equal((await call(srv.url, 'POST', '/system/namespace/', { name: 'team-a', labels: { openfaas: '1' } })).status, 202);
  const ns = await call(srv.url, 'GET', '/system/namespace/team-a');
  t.equal(ns.text, '{"name":"team-a","labels":{"openfaas":"1"}}');
  t.equal((await call(srv.url, 'PUT', '/system/namespace/team-a', { name: 'team-b' })).status, 400);
  t.equal((await call(srv.url, 'PUT', '/system/namespace/team-a', { annotations: { a: 'b' } })).status, 202);
  t.equal((await call(srv.url, 'GET', '/system/namespace/nope')).status, 404);
  t.equal((await call(srv.url, 'DELETE', '/system/namespace/team-a')).status, 202);
  t.equal((await call(srv.url, 'DELETE', '/system/namespace/team-a')).status, 404);
  t.equal((await call(srv.url, 'GET', '/system/namespaces')).text, '["openfaas-fn"]');
});

t.test('a provider without optional capabilities answers 501 / 405', async (t) => {
  const srv = await start(t, minimalProvider());
  plainTextError(
    t,
    await call(srv.url, 'GET', '/system/namespace/openfaas-fn'),
    501,
    'Feature not implemented in this version of OpenFaaS',
  );
  t.equal((await call(srv.url, 'POST', '/system/namespace/', { name: 'x' })).status, 405);
  t.equal((await call(srv.url, 'GET', '/system/logs?name=x')).status, 501);

  const client = createRestProvider({ baseUrl: srv.url });
  t.teardown(() => client.close());
  await t.rejects(client.getNamespace!('openfaas-fn'), { code: 'UNSUPPORTED' });
  await t.rejects(client.createNamespace!({ name: 'x' }), { code: 'UNSUPPORTED' });
});

t.test('logs: query parsing, NDJSON stream, follow and abort', async (t) => {
  const mem = new MemoryProvider();
  const srv = await start(t, mem, { writeTimeoutMs: 20_000 });
  await mem.deploy({ service: 'fn', image: 'i' });
  for (let i = 0; i < 3; i++) {
    mem.pushLog({ name: 'fn', namespace: 'openfaas-fn', instance: 'r1', timestamp: `2026-11-28T03:00:0${i}Z`, text: `line ${i}` });
  }

  plainTextError(t, await call(srv.url, 'GET', '/system/logs?name=fn&tail=abc'), 422, 'could not parse the log request');
  plainTextError(t, await call(srv.url, 'GET', '/system/logs?name=fn&since=yesterday'), 422, 'could not parse the log request');
  t.equal((await call(srv.url, 'GET', '/system/logs?name=ghost')).status, 404);
  t.equal((await call(srv.url, 'GET', '/system/logs')).status, 400);

  const all = await call(srv.url, 'GET', '/system/logs?name=fn&follow=nonsense&since=2026-11-28T02:00:00.123456789Z');
  t.equal(all.status, 200);
  t.equal(all.headers['content-type'], 'application/x-ndjson');
  t.equal(
    all.text,
    '{"name":"fn","namespace":"openfaas-fn","instance":"r1","timestamp":"2026-11-28T03:00:00Z","text":"line 0"}\n' +
      '{"name":"fn","namespace":"openfaas-fn","instance":"r1","timestamp":"2026-11-28T03:00:01Z","text":"line 1"}\n' +
      '{"name":"fn","namespace":"openfaas-fn","instance":"r1","timestamp":"2026-11-28T03:00:02Z","text":"line 2"}\n',
  );
  // Repeated parameters: the last one wins.
  const tail = await call(srv.url, 'GET', '/system/logs?name=fn&tail=5&tail=1');
  t.equal(tail.text.trim().split('\n').length, 1);

  // Follow through the REST client: lines arrive one by one; abort ends the stream.
  const client = createRestProvider({ baseUrl: srv.url });
  t.teardown(() => client.close());
  const ac = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const m of client.logs!({ name: 'fn', tail: 1, follow: true }, ac.signal)) seen.push(m.text);
  })();
  await until(() => seen.length === 1, 5000, 'tail line');
  t.same(seen, ['line 2']);
  mem.pushLog({ name: 'fn', namespace: 'openfaas-fn', instance: 'r1', timestamp: '2026-11-28T03:00:09Z', text: 'live' });
  await until(() => seen.length === 2, 5000, 'followed line');
  t.same(seen, ['line 2', 'live']);
  ac.abort();
  await reading;
  await until(() => mem.logsAborted === 1, 5000, 'server side log source aborted');
  t.pass('client abort reaches the provider');

  // Without follow the stream ends by itself.
  const done: LogMessage[] = [];
  for await (const m of client.logs!({ name: 'fn', since: new Date('2026-11-28T03:00:01Z') }, new AbortController().signal)) {
    done.push(m);
  }
  t.equal(done.length, 4);
  t.same(Object.keys(done[0]!), ['name', 'namespace', 'instance', 'timestamp', 'text']);
  await t.rejects(
    (async () => {
      for await (const _ of client.logs!({ name: 'ghost' }, new AbortController().signal));
    })(),
    { code: 'NOT_FOUND' },
  );
});

t.test('follow streams end at the write timeout', async (t) => {
  const mem = new MemoryProvider();
  const srv = await start(t, mem, { writeTimeoutMs: 300 });
  await mem.deploy({ service: 'fn', image: 'i' });
  const r = await call(srv.url, 'GET', '/system/logs?name=fn&follow=true');
  t.equal(r.status, 200);
  t.equal(r.text, '');
  await until(() => mem.logsAborted === 1, 5000);
  t.pass('log source aborted');
});

t.test('basic auth on /system/*, not on /function, /healthz, /metrics', async (t) => {
  const mem = new MemoryProvider();
  const srv = await start(t, mem, { credentials: { user: 'admin', password: 's3cret' } });
  for (const [method, path] of [
    ['GET', '/system/functions'],
    ['POST', '/system/functions'],
    ['GET', '/system/function/x'],
    ['POST', '/system/scale-function/x'],
    ['GET', '/system/info'],
    ['GET', '/system/secrets'],
    ['GET', '/system/logs?name=x'],
    ['GET', '/system/namespaces'],
    ['GET', '/system/namespace/x'],
  ] as const) {
    const r = await call(srv.url, method, path);
    t.equal(r.status, 401, `${method} ${path}`);
    t.equal(r.headers['www-authenticate'], 'Basic realm="Restricted"');
    t.equal(r.text, 'invalid credentials');
  }
  const wrong = 'Basic ' + Buffer.from('admin:nope').toString('base64');
  t.equal((await call(srv.url, 'GET', '/system/info', undefined, { authorization: wrong })).status, 401);
  const right = 'Basic ' + Buffer.from('admin:s3cret').toString('base64');
  t.equal((await call(srv.url, 'GET', '/system/info', undefined, { authorization: right })).status, 200);
  t.equal((await call(srv.url, 'GET', '/healthz')).status, 200);
  t.equal((await call(srv.url, 'GET', '/metrics')).status, 200);
  t.equal((await call(srv.url, 'GET', '/function/ghost')).status, 503);

  const anon = createRestProvider({ baseUrl: srv.url });
  t.teardown(() => anon.close());
  await t.rejects(anon.list(), { code: 'BACKEND', message: 'invalid credentials' });
  const authed = createRestProvider({ baseUrl: srv.url, credentials: { user: 'admin', password: 's3cret' } });
  t.teardown(() => authed.close());
  t.same(await authed.list(), []);
});

t.test('invocation proxy: path, query, method, body; 503 when unresolvable', async (t) => {
  const mem = new MemoryProvider();
  const seen: { method?: string; url?: string; body: string; fwdHost?: string }[] = [];
  const replica: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, fwdHost: req.headers['x-forwarded-host'] as string });
      if (req.url === '/no-ct') {
        res.end('untyped');
        return;
      }
      res.writeHead(req.url === '/redirect' ? 302 : 200, {
        'content-type': 'text/x-echo',
        ...(req.url === '/redirect' ? { location: '/elsewhere' } : {}),
      });
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => replica.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => replica.close(() => r())));
  const addr = replica.address() as { port: number };
  mem.endpointList = [{ id: 'r1', baseUrl: `http://127.0.0.1:${addr.port}`, pathPrefix: '' }];
  await mem.deploy({ service: 'echo', image: 'i' });
  const srv = await start(t, mem);

  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : 'payload';
    const r = await call(srv.url, method, '/function/echo.openfaas-fn/a/b%20c?q=1&q=2', body, { 'content-type': 'text/plain' });
    t.equal(r.status, 200, method);
    t.equal(r.text, `${method} /a/b%20c?q=1&q=2 ${body ?? ''}`);
  }
  t.equal((await call(srv.url, 'HEAD', '/function/echo')).status, 200);
  t.equal((await call(srv.url, 'GET', '/function/echo')).text, 'GET / ');
  t.equal((await call(srv.url, 'GET', '/function/echo/')).text, 'GET / ');
  t.equal((await call(srv.url, 'GET', '/function/echo?x=y')).text, 'GET /?x=y ');
  t.equal((await call(srv.url, 'GET', '/function/echo/a')).headers['content-type'], 'text/x-echo', "function's type wins");
  t.equal((await call(srv.url, 'POST', '/function/echo/no-ct', 'x', { 'content-type': 'application/x-in' })).headers['content-type'], 'application/x-in', "else the request's");
  t.equal((await call(srv.url, 'GET', '/function/echo/no-ct')).headers['content-type'], 'text/plain', 'else text/plain');
  const redirect = await call(srv.url, 'GET', '/function/echo/redirect');
  t.equal(redirect.status, 302, 'redirects are relayed, not followed');
  t.equal(redirect.headers.location, '/elsewhere');
  t.ok(seen.every((s) => s.fwdHost), 'X-Forwarded-Host set');

  const missing = await call(srv.url, 'GET', '/function/ghost.openfaas-fn');
  plainTextError(t, missing, 503, 'No endpoints available for: ghost.openfaas-fn.');
  t.equal(missing.headers['x-openfaas-internal'], 'proxy');
  mem.endpointList = [];
  t.equal((await call(srv.url, 'POST', '/function/echo', 'x')).status, 503, 'no ready replica');
  plainTextError(t, await call(srv.url, 'GET', '/function/'), 400, 'Provide function name in the request path');
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}`;
  t.equal((await call(srv.url, 'GET', `/function/${long}/x`)).text, `No endpoints available for: ${long}.\n`, 'long fn.ns names route');
  t.equal((await call(srv.url, 'GET', `/system/function/${'a'.repeat(63)}`)).status, 404);

  // Through the REST client, the endpoint is the provider's own /function route.
  mem.endpointList = [{ id: 'r1', baseUrl: `http://127.0.0.1:${addr.port}`, pathPrefix: '' }];
  const client = createRestProvider({ baseUrl: srv.url + '/' });
  t.teardown(() => client.close());
  t.same(await client.endpoints('echo'), [{ id: 'provider-1', baseUrl: srv.url, pathPrefix: '/function/echo.openfaas-fn' }]);
  await t.rejects(client.endpoints('ghost'), { code: 'NOT_FOUND' });
  await mem.scale('echo', 0);
  t.same(await client.endpoints('echo'), [], 'no endpoint while nothing is ready');
});

t.test('metrics: provider_http_* with templated paths', async (t) => {
  const mem = new MemoryProvider();
  const srv = await start(t, mem);
  await call(srv.url, 'GET', '/system/functions');
  await call(srv.url, 'GET', '/system/function/abc');
  await call(srv.url, 'GET', '/system/function/def');
  const m = await call(srv.url, 'GET', '/metrics');
  t.equal(m.status, 200);
  t.match(m.headers['content-type'], /^text\/plain/);
  t.match(m.text, /provider_http_requests_total\{code="200",method="GET",path="\/system\/functions"\} 1/);
  t.match(m.text, /provider_http_requests_total\{code="404",method="GET",path="\/system\/function\/\{name\}"\} 2/);
  t.match(m.text, /provider_http_request_duration_seconds_bucket\{le="0.005",code="200",method="GET",path="\/system\/functions"\}/);
});

t.test('REST client: every Provider method round-trips with error codes', async (t) => {
  const mem = new MemoryProvider();
  mem.nsSet.set('team-a', { name: 'team-a' });
  const srv = await start(t, mem);
  const client = createRestProvider({ baseUrl: srv.url });
  t.teardown(() => client.close());

  t.equal(client.defaultNamespace, 'openfaas-fn');
  t.same(await client.namespaces(), ['openfaas-fn', 'team-a']);
  t.same(await client.info(), { provider: 'memory', version: { sha: 'abc', release: '0.0.1' }, orchestration: 'none' });
  await client.health!();

  await client.deploy({ service: 'fn', image: 'img', labels: {}, namespace: 'team-a' });
  await client.deploy({ service: 'fn', image: 'img2', namespace: 'team-a' });
  const st = await client.get('fn', 'team-a');
  t.match(st, { name: 'fn', image: 'img2', namespace: 'team-a', replicas: 1 });
  t.equal(await client.get('fn'), undefined);
  t.same((await client.list('team-a')).map((f) => f.name), ['fn']);
  t.same(await client.list(), []);
  await client.update({ service: 'fn', image: 'img3', namespace: 'team-a' });
  await t.rejects(client.update({ service: 'zz', image: 'i' }), { code: 'NOT_FOUND', name: 'ProviderError' });
  await t.rejects(client.deploy({ service: 'Bad', image: 'i' }), { code: 'INVALID' });
  await t.rejects(client.list('kube-system'), { code: 'INVALID', message: 'namespace not valid' });
  await client.scale('fn', 2, 'team-a');
  t.equal((await client.get('fn', 'team-a'))!.replicas, 2);
  await t.rejects(client.scale('zz', 1), { code: 'NOT_FOUND' });
  t.same(
    await client.endpoints('fn', 'team-a'),
    [
      { id: 'provider-1', baseUrl: srv.url, pathPrefix: '/function/fn.team-a' },
      { id: 'provider-2', baseUrl: srv.url, pathPrefix: '/function/fn.team-a' },
    ],
    'one entry per ready replica, all through the provider',
  );
  await client.scale('fn', 0, 'team-a');
  t.same(await client.endpoints('fn', 'team-a'), [], 'none while scaled to zero');
  await client.remove('fn', 'team-a');
  await t.rejects(client.remove('fn', 'team-a'), { code: 'NOT_FOUND' });

  await client.createSecret({ name: 's', value: 'v', namespace: 'team-a' });
  await t.rejects(client.createSecret({ name: 's', value: 'v', namespace: 'team-a' }), { code: 'ALREADY_EXISTS' });
  await client.updateSecret({ name: 's', value: 'w', namespace: 'team-a' });
  t.same(await client.listSecrets('team-a'), [{ name: 's', namespace: 'team-a' }]);
  t.equal(mem.secrets.get('team-a/s')!.value, 'w');
  await client.deleteSecret('s', 'team-a');
  await t.rejects(client.deleteSecret('s', 'team-a'), { code: 'NOT_FOUND' });

  await client.createNamespace!({ name: 'team-b', labels: { openfaas: '1' } });
  t.same(await client.getNamespace!('team-b'), { name: 'team-b', labels: { openfaas: '1' } });
  await client.updateNamespace!({ name: 'team-b', annotations: { x: 'y' } });
  t.same(await client.getNamespace!('team-b'), { name: 'team-b', annotations: { x: 'y' } });
  await client.deleteNamespace!('team-b');
  t.equal(await client.getNamespace!('team-b'), undefined);
});

t.test('REST client: default namespace discovery and transport errors', async (t) => {
  const mem = new MemoryProvider();
  mem.nsSet.clear();
  mem.nsSet.set('fns', { name: 'fns' });
  const srv = await start(t, mem);
  const client = createRestProvider({ baseUrl: srv.url });
  t.teardown(() => client.close());
  t.equal(client.defaultNamespace, 'openfaas-fn', 'fallback before the first call');
  await client.listSecrets('fns');
  t.equal(client.defaultNamespace, 'fns', 'first of /system/namespaces');
  const fixed = createRestProvider({ baseUrl: srv.url, defaultNamespace: 'mine' });
  t.teardown(() => fixed.close());
  await fixed.namespaces();
  t.equal(fixed.defaultNamespace, 'mine');

  const down = createRestProvider({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
  t.teardown(() => down.close());
  await t.rejects(down.list(), { code: 'UNAVAILABLE' });
  await t.rejects(down.health!(), { code: 'UNAVAILABLE' });
  t.equal(down.defaultNamespace, 'openfaas-fn');
  t.throws(() => createRestProvider({ baseUrl: 'ftp://x' }), { code: 'INVALID' });
});

t.test('NDJSON parsing is incremental and survives split chunks', async (t) => {
  const line = (text: string) =>
    JSON.stringify({ name: 'fn', namespace: 'ns', instance: 'i', timestamp: 't', text }) + '\n';
  const bytes = Buffer.from(line('héllo') + line('wörld') + line('last-without-newline').trimEnd());
  // Split inside a multi-byte character and inside a line.
  const cut1 = bytes.indexOf(Buffer.from('é')) + 1;
  const cut2 = bytes.indexOf(Buffer.from('wö')) + 2;
  async function* chunks() {
    yield bytes.subarray(0, cut1);
    yield bytes.subarray(cut1, cut2);
    yield bytes.subarray(cut2);
  }
  const out: string[] = [];
  for await (const m of parseNdjson(chunks())) out.push(m.text);
  t.same(out, ['héllo', 'wörld', 'last-without-newline']);

  async function* bad() {
    yield Buffer.from('{"name":\n');
  }
  await t.rejects(
    (async () => {
      for await (const _ of parseNdjson(bad()));
    })(),
    { code: 'BACKEND' },
  );
});

t.test('invocation of an unreachable replica is a platform error', async (t) => {
  const mem = new MemoryProvider();
  await mem.deploy({ service: 'gone', image: 'i' });
  mem.endpointList = [{ id: 'r1', baseUrl: 'http://127.0.0.1:1', pathPrefix: '' }];
  const srv = await start(t, mem);
  const r = await call(srv.url, 'GET', '/function/gone');
  // The shared proxy (proxy.ts) answers 502 with an empty body; spec §8.3 has
  // 500 "Can't reach service for: NAME." here (see the report on proxy.ts).
  t.equal(r.status, 502);
  t.equal(r.text, '');
});

t.test('a port in use fails serveProvider cleanly', async (t) => {
  const first = await start(t, new MemoryProvider());
  const port = Number(new URL(first.url).port);
  await t.rejects(serveProvider(new MemoryProvider(), { port }), { code: 'EADDRINUSE' });
});
