/**
 * The provider contract suite: behaviour every Provider must show, whatever
 * the orchestrator. Run it from a provider's own test file:
 *
 *   runProviderContract(t, async () => ({ provider, deployableImage, cleanup }));
 *
 * `deployableImage` must run a function that answers 2xx to `GET /` on its
 * watchdog. Names used here are random-suffixed, so the suite can run against
 * a shared backend; everything it creates is removed at the end.
 */
import type { Test } from 'tap';
import { ProviderError } from './errors.js';
import type { Provider } from './provider.js';
import type { FunctionStatus } from './types.js';

export interface ContractTarget {
  provider: Provider;
  /** An image this provider can run; answers 2xx on GET /. */
  deployableImage: string;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** How long a replica may take to become ready (ms). Default 60 s. */
  readyTimeoutMs?: number;
  /** Invoke the function through endpoints() over HTTP. Default true. */
  invoke?: boolean;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rejects-with-code assertion that works across module copies (ProviderError.is). */
async function rejectsWith(t: Test, p: Promise<unknown>, code: ProviderError['code'], what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected ProviderError ${code}, resolved instead`);
  } catch (err) {
    t.ok(ProviderError.is(err, code), `${what}: ProviderError ${code}`, { found: err });
  }
}

export function runProviderContract(
  t: Test,
  makeProvider: () => Promise<ContractTarget>,
  options: ContractOptions = {},
): void {
  const readyMs = options.readyTimeoutMs ?? 60_000;
  const invoke = options.invoke ?? true;
  const suffix = Math.random().toString(36).slice(2, 8);
  const fn = (base: string) => `${base}-${suffix}`;

  t.test('provider contract', async (t) => {
    const target = await makeProvider();
    const p = target.provider;
    const image = target.deployableImage;
    const ns = p.defaultNamespace;
    t.teardown(() => target.cleanup());

    const available = async (name: string, n: number, namespace?: string) =>
      waitFor(async () => ((await p.get(name, namespace))?.availableReplicas ?? 0) === n, readyMs, `${name}: ${n} ready replicas`);

    await t.test('info and namespaces', async (t) => {
      const info = await p.info();
      t.ok(info.provider, 'provider name');
      t.ok(info.orchestration, 'orchestration');
      t.ok(info.version?.release && info.version.sha, 'version release and sha');
      t.ok(ns, 'a default namespace');
      t.ok((await p.namespaces()).includes(ns), 'namespaces() includes the default');
    });

    await t.test('deploy, get, list', async (t) => {
      const name = fn('contract-a');
      await p.deploy({
        service: name,
        image,
        labels: { team: 'contract' },
        annotations: { note: 'line 1\nline 2 {"json": true}' },
        envVars: { greeting: 'hi' },
      });
      const s = await p.get(name);
      t.ok(s, 'get finds the function at once');
      t.match(s, {
        name,
        image,
        namespace: ns,
        labels: { team: 'contract', faas_function: name },
        annotations: { note: 'line 1\nline 2 {"json": true}' },
        envVars: { greeting: 'hi' },
        replicas: 1,
      });
      t.ok(s?.createdAt && !Number.isNaN(Date.parse(s.createdAt)), 'createdAt is RFC 3339');
      const listed = await p.list(ns);
      t.ok(listed.some((f: FunctionStatus) => f.name === name && f.namespace === ns), 'list contains it');
      t.same(await p.list(), listed, 'list() without a namespace is the default namespace');
      t.equal(await p.get(fn('absent')), undefined, 'get of an unknown function is undefined');

      await available(name, 1);
      const eps = await p.endpoints(name);
      t.equal(eps.length, 1, 'one endpoint per ready replica');
      t.ok(eps[0]!.id && /^https?:\/\//.test(eps[0]!.baseUrl), 'endpoint has id and baseUrl');
      if (invoke) {
        const res = await fetch(`${eps[0]!.baseUrl}${eps[0]!.pathPrefix}/`);
        await res.arrayBuffer();
        t.ok(res.status >= 200 && res.status < 300, `invoke answers 2xx (${res.status})`);
      }
    });

    await t.test('deploy over an existing function updates it; update of an unknown one is NOT_FOUND', async (t) => {
      const name = fn('contract-a');
      const created = (await p.get(name))?.createdAt;
      await p.deploy({ service: name, image, labels: { team: 'contract', rev: '2' } });
      t.match(await p.get(name), { labels: { rev: '2', faas_function: name } }, 'redeploy = update');
      await p.update({ service: name, image, labels: { rev: '3' }, annotations: { a: 'b' } });
      const s = await p.get(name);
      t.match(s, { labels: { rev: '3' }, annotations: { a: 'b' }, replicas: 1 });
      t.equal(s?.createdAt, created, 'createdAt survives updates');
      await available(name, 1);
      await rejectsWith(t, p.update({ service: fn('ghost'), image }), 'NOT_FOUND', 'update unknown');
    });

    await t.test('scale up, to zero and back', async (t) => {
      const name = fn('contract-a');
      await p.scale(name, 2);
      t.equal((await p.get(name))?.replicas, 2, 'desired replicas reflect scale at once');
      await available(name, 2);
      t.equal((await p.endpoints(name)).length, 2, 'two endpoints');
      await p.scale(name, 0);
      t.equal((await p.get(name))?.replicas ?? 0, 0, 'scaled to zero reads 0 at once');
      await waitFor(async () => (await p.endpoints(name)).length === 0, readyMs, 'no endpoints at zero');
      await p.scale(name, 1);
      await available(name, 1);
      await rejectsWith(t, p.scale(fn('ghost'), 1), 'NOT_FOUND', 'scale unknown');
      await rejectsWith(t, p.scale(name, -1), 'INVALID', 'negative replicas');
    });

    await t.test('errors carry codes', async (t) => {
      await rejectsWith(t, p.deploy({ service: 'Not_A_Name', image }), 'INVALID', 'bad function name');
      await rejectsWith(t, p.endpoints(fn('ghost')), 'NOT_FOUND', 'endpoints of unknown');
      await rejectsWith(t, p.remove(fn('ghost')), 'NOT_FOUND', 'remove unknown');
    });

    await t.test('secrets CRUD', async (t) => {
      const s1 = fn('contract-secret');
      const s2 = fn('contract-raw');
      t.notOk((await p.listSecrets()).some((s) => s.name === s1), 'absent before create');
      await p.createSecret({ name: s1, value: 'v1' });
      await p.createSecret({ name: s2, rawValue: Buffer.from([0, 255, 10]).toString('base64') });
      const listed = await p.listSecrets();
      t.ok(listed.some((s) => s.name === s1) && listed.some((s) => s.name === s2), 'listed');
      t.ok(listed.every((s) => s.value === undefined && s.rawValue === undefined), 'list never returns values');
      await rejectsWith(t, p.createSecret({ name: s1, value: 'again' }), 'ALREADY_EXISTS', 'create existing');
      await p.updateSecret({ name: s1, value: 'v2' });
      await rejectsWith(t, p.updateSecret({ name: fn('nosecret'), value: 'x' }), 'NOT_FOUND', 'update missing');
      await p.deleteSecret(s1);
      await p.deleteSecret(s2);
      await rejectsWith(t, p.deleteSecret(s1), 'NOT_FOUND', 'delete missing');
      t.notOk((await p.listSecrets()).some((s) => s.name === s1 || s.name === s2), 'gone after delete');
    });

    if (p.createNamespace && p.deleteNamespace && p.getNamespace && p.updateNamespace) {
      await t.test('namespaces', async (t) => {
        const name = fn('contract-ns');
        await p.createNamespace!({ name, labels: { owner: 'contract' } });
        t.ok((await p.namespaces()).includes(name), 'listed');
        t.match(await p.getNamespace!(name), { name, labels: { owner: 'contract' } });
        await rejectsWith(t, p.createNamespace!({ name }), 'ALREADY_EXISTS', 'create existing namespace');
        await p.updateNamespace!({ name, annotations: { a: 'b' } });
        t.match(await p.getNamespace!(name), { name, annotations: { a: 'b' } });
        await rejectsWith(t, p.updateNamespace!({ name: fn('no-ns') }), 'NOT_FOUND', 'update missing namespace');
        await rejectsWith(t, p.createNamespace!({ name: 'Bad_NS' }), 'INVALID', 'bad namespace name');

        const f = fn('contract-b');
        await p.deploy({ service: f, image, namespace: name });
        t.match(await p.get(f, name), { name: f, namespace: name });
        t.equal(await p.get(f), undefined, 'not visible in the default namespace');
        t.ok((await p.list(name)).some((s) => s.name === f), 'listed in its namespace');
        await p.createSecret({ name: fn('ns-secret'), namespace: name, value: 'x' });
        t.ok((await p.listSecrets(name)).some((s) => s.name === fn('ns-secret')), 'secret in namespace');
        t.notOk((await p.listSecrets()).some((s) => s.name === fn('ns-secret')), 'not in the default namespace');
        await p.deleteSecret(fn('ns-secret'), name);
        await p.remove(f, name);
        await p.deleteNamespace!(name);
        t.notOk((await p.namespaces()).includes(name), 'deleted');
        t.equal(await p.getNamespace!(name), undefined, 'get after delete is undefined');
      });
    }

    await t.test('remove', async (t) => {
      const name = fn('contract-a');
      await p.remove(name);
      t.equal(await p.get(name), undefined, 'gone at once');
      t.notOk((await p.list()).some((f) => f.name === name), 'not listed');
      await rejectsWith(t, p.endpoints(name), 'NOT_FOUND', 'endpoints after remove');
    });
  });
}
