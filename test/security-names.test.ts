/**
 * Names are validated before they reach the filesystem or an orchestrator (#12).
 * - provider-local, directly and through the gateway: traversal and otherwise
 *   impossible names for functions, secrets and namespaces are refused
 *   (INVALID / 400) and the data directory is byte-for-byte unchanged.
 * - provider-swarm and provider-k8s, at the unit level: pointed at a Docker
 *   socket / API server that does not exist, every name-taking method answers
 *   INVALID for a bad name, i.e. it refused before making any call (a call
 *   would have failed with UNAVAILABLE).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import type { Provider } from '../provider/index.js';
import { createK8sProvider } from '../provider-k8s/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createSwarmProvider } from '../provider-swarm/index.js';
import { watchdogCommand } from './helpers.js';

const BAD = [
  '..',
  '../x',
  '../../state/functions/openfaas-fn/victim.json',
  // Deep enough to leave the temp dir: it points at a canary folder made beside it (see CANARY),
  // never at a real system file, so a regression cannot damage the machine running the test.
  '../../../sec-names-canary/canary',
  'a/b',
  'a\\b',
  '.hidden',
  '%2e%2e',
  'UPPER',
  'a b',
  'a\nb',
  'a\0b',
  '-lead',
  'trail-',
  'ünï',
  'x'.repeat(64),
  'x'.repeat(300),
  'fn,other',
  '*',
];

/** Beside the data dirs (all in tmpdir()): what `../../../sec-names-canary/canary` reaches from secrets/<ns>/. */
const CANARY_DIR = join(tmpdir(), 'sec-names-canary');

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = await stat(p);
      if (e.isDirectory()) {
        out.set(p, `dir ${s.mode.toString(8)}`);
        await walk(p);
      } else {
        out.set(p, `file ${s.mode.toString(8)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
      }
    }
  };
  await walk(dir);
  return out;
}

async function codeOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? `error: ${(err as Error).message}`;
  }
}

/** Every name-taking Provider method, each fed `n` in one position. */
/**
 * Names some providers accept as secret names on purpose: 64 characters on
 * provider-local (DNS subdomains, up to 253), capitals on Swarm (Docker's rule).
 * Neither can traverse anything.
 */
const VALID_SECRET: Record<string, string[]> = { local: ['x'.repeat(64)], swarm: ['UPPER'], k8s: [] };
const skip = (op: string, name: string, provider: string) =>
  VALID_SECRET[provider]!.includes(name) && /Secret\(name\)|deploy\(secrets\)/.test(op);

function operations(p: Provider): Record<string, (n: string) => Promise<unknown>> {
  const drain = async (n: string) => {
    if (!p.logs) throw new Error('provider has no logs');
    for await (const _ of p.logs({ name: n, follow: false }, AbortSignal.timeout(5000))) {
      // nothing
    }
  };
  return {
    'deploy(service)': (n) => p.deploy({ service: n, image: 'img' }),
    'deploy(namespace)': (n) => p.deploy({ service: 'ok', image: 'img', namespace: n }),
    // functions/alpine is a built-in image on provider-local, so the secret list is what gets checked.
    'deploy(secrets)': (n) => p.deploy({ service: 'ok', image: 'functions/alpine:latest', envProcess: 'cat', secrets: [n] }),
    'update(service)': (n) => p.update({ service: n, image: 'img' }),
    'remove(name)': (n) => p.remove(n),
    'remove(namespace)': (n) => p.remove('ok', n),
    'get(name)': (n) => p.get(n),
    'get(namespace)': (n) => p.get('ok', n),
    'scale(name)': (n) => p.scale(n, 1),
    'endpoints(name)': (n) => p.endpoints(n),
    'list(namespace)': (n) => p.list(n),
    'logs(name)': drain,
    'createSecret(name)': (n) => p.createSecret({ name: n, value: 'v' }),
    'createSecret(namespace)': (n) => p.createSecret({ name: 'ok', value: 'v', namespace: n }),
    'updateSecret(name)': (n) => p.updateSecret({ name: n, value: 'v' }),
    'deleteSecret(name)': (n) => p.deleteSecret(n),
    'deleteSecret(namespace)': (n) => p.deleteSecret('ok', n),
    'listSecrets(namespace)': (n) => p.listSecrets(n),
    'getNamespace(name)': (n) => p.getNamespace!(n),
    'createNamespace(name)': (n) => p.createNamespace!({ name: n }),
    'updateNamespace(name)': (n) => p.updateNamespace!({ name: n }),
    'deleteNamespace(name)': (n) => p.deleteNamespace!(n),
  };
}

t.test('provider-local refuses bad names before touching the data dir', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-names-'));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  t.teardown(async () => {
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  // A file a traversing secret name could reach: secrets/<ns>/../../state/...
  await mkdir(join(dataDir, 'state', 'functions', 'openfaas-fn'), { recursive: true, mode: 0o700 });
  await writeFile(join(dataDir, 'state', 'functions', 'openfaas-fn', 'victim.json'), '{"keep":true}', { mode: 0o600 });
  await provider.createSecret({ name: 'ok', value: 'v' });
  await mkdir(CANARY_DIR, { recursive: true });
  await writeFile(join(CANARY_DIR, 'canary'), 'outside');
  t.teardown(() => rm(CANARY_DIR, { recursive: true, force: true }));
  const before = await snapshot(dataDir);

  let tried = 0;
  const outcomes = new Map<string, number>();
  for (const [op, run] of Object.entries(operations(provider))) {
    for (const name of BAD) {
      if (skip(op, name, 'local')) continue;
      const code = await codeOf(() => run(name));
      tried++;
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      // Lookups of a name that cannot exist may say NOT_FOUND (an in-memory miss); nothing may succeed.
      const lookup = /^(get|remove|scale|endpoints|logs|getNamespace|updateNamespace|deleteNamespace)\(/.test(op);
      const allowed = lookup ? ['INVALID', 'NOT_FOUND', 'ok:undefined'] : ['INVALID'];
      const shown = code === 'ok' && op.startsWith('get') ? 'ok:undefined' : code;
      if (!allowed.includes(shown)) t.fail(`${op} with ${JSON.stringify(name)}: ${code}`);
    }
  }
  t.same(await snapshot(dataDir), before, 'data dir unchanged');
  t.equal(await readFile(join(dataDir, 'state', 'functions', 'openfaas-fn', 'victim.json'), 'utf8'), '{"keep":true}');
  t.equal(await readFile(join(CANARY_DIR, 'canary'), 'utf8'), 'outside', 'the file outside the data dir is still there');
  t.pass(`${tried} calls: ${JSON.stringify(Object.fromEntries(outcomes))}`);
});

t.test('the gateway answers 400 for bad names and leaves the data dir alone', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-names-gw-'));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  const creds = { user: 'admin', password: 'names-pw' };
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true' }), { provider, credentials: creds });
  t.teardown(async () => {
    await gw.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await provider.createSecret({ name: 'ok', value: 'v' });
  const before = await snapshot(dataDir);
  const authorization = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await request(gw.url + path, {
      method: method as 'GET',
      headers: { authorization, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.body.dump();
    return res.statusCode;
  };
  let tried = 0;
  for (const name of BAD) {
    const enc = encodeURIComponent(name);
    const secretOk = name === 'x'.repeat(64);
    const mutations: Array<[string, string, unknown]> = [
      ['POST', '/system/functions', { service: name, image: 'img' }],
      ['PUT', '/system/functions', { service: name, image: 'img' }],
      ['POST', '/system/functions', { service: 'ok', image: 'img', namespace: name }],
      ['DELETE', '/system/functions', { functionName: name }],
      ['DELETE', '/system/functions', { functionName: 'ok', namespace: name }],
      ['POST', '/system/functions', { service: 'ok', image: 'functions/alpine:latest', envProcess: 'cat', secrets: [name] }],
      ...(secretOk
        ? []
        : ([
            ['POST', '/system/secrets', { name, value: 'v' }],
            ['PUT', '/system/secrets', { name, value: 'v' }],
            ['DELETE', '/system/secrets', { name }],
          ] as Array<[string, string, unknown]>)),
      ['POST', '/system/secrets', { name: 'ok2', value: 'v', namespace: name }],
      ['POST', '/system/namespace/', { name }],
      ['POST', `/system/scale-function/ok?namespace=${enc}`, { serviceName: 'ok', replicas: 1 }],
      ['GET', `/system/functions?namespace=${enc}`, undefined],
      ['GET', `/system/secrets?namespace=${enc}`, undefined],
      ['GET', `/system/logs?name=${enc}`, undefined],
      ['GET', `/system/logs?name=ok&namespace=${enc}`, undefined],
    ];
    for (const [method, path, body] of mutations) {
      tried++;
      const status = await api(method, path, body);
      if (status !== 400) t.fail(`${method} ${path} ${JSON.stringify(body)}: ${status}`);
    }
    // Names in the path: 400, or 404 when the router cannot even match them (a '/' inside); never 2xx.
    for (const path of [`/system/function/${enc}`, `/system/scale-function/${enc}`, `/system/namespace/${enc}`]) {
      tried++;
      const status = await api(path.startsWith('/system/scale') ? 'POST' : 'GET', path, path.startsWith('/system/scale') ? { replicas: 1 } : undefined);
      if (status !== 400 && status !== 404) t.fail(`${path}: ${status}`);
    }
  }
  t.same(await snapshot(dataDir), before, 'data dir unchanged');
  t.pass(`${tried} requests refused`);
});

t.test('provider-swarm and provider-k8s refuse bad names without calling the orchestrator', async (t) => {
  const swarm = createSwarmProvider({ docker: { socketPath: join(tmpdir(), 'no-such-dir', 'docker.sock') } });
  const k8s = await createK8sProvider({ cluster: { server: 'http://127.0.0.1:1' } });
  t.teardown(async () => {
    await swarm.close();
    await k8s.close();
  });
  for (const [label, provider] of [['swarm', swarm], ['k8s', k8s]] as const) {
    // A good name does reach the (absent) orchestrator: the probe that makes INVALID meaningful.
    t.equal(await codeOf(() => provider.get('fine')), 'UNAVAILABLE', `${label}: a valid name goes to the backend`);
    let tried = 0;
    for (const [op, run] of Object.entries(operations(provider))) {
      for (const name of BAD) {
        if (skip(op, name, label)) continue;
        tried++;
        const code = await codeOf(() => run(name));
        if (code !== 'INVALID') t.fail(`${label} ${op} with ${JSON.stringify(name)}: ${code}`);
      }
    }
    t.pass(`${label}: ${tried} calls, all INVALID`);
  }
});

t.test('property: a secret path is a direct child of its namespace folder, or no path at all', async (t) => {
  const { SecretStore } = await import('../provider-local/secrets.js');
  const { dirname: parentOf, resolve: resolvePath } = await import('node:path');
  const fc = (await import('fast-check')).default;
  const root = join(tmpdir(), 'never-created-secrets-root');
  const store = new SecretStore(root);
  const piece = fc.constantFrom('..', '.', '/', '\\', '%2e', 'a', 'z9', '-', '\0', 'é', ' ', '\n', 'x'.repeat(60));
  const name = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.array(piece, { maxLength: 8 }).map((a) => a.join('')),
    fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/),
  );
  let paths = 0;
  let refused = 0;
  fc.assert(
    fc.property(name, name, (ns, secret) => {
      let p: string;
      try {
        p = store.path(ns, secret);
      } catch (err) {
        refused++;
        return (err as { code?: string }).code === 'INVALID';
      }
      paths++;
      return resolvePath(p) === p && parentOf(parentOf(p)) === root && !secret.includes('/') && secret !== '..' && ns !== '..';
    }),
    { numRuns: 5000 },
  );
  t.ok(paths > 0 && refused > 0, `${paths} paths built, ${refused} names refused, none outside ${root}/<ns>/`);
});
