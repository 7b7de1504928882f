/**
 * The OpenFaaS certifier's cases (spec/cli-and-certifier.md §4.3) as the certifier's
 * older client sends them: POST deploys, Go's User-Agent, namespace in the query,
 * invocations without auth polled until 200 (verify_test.go). Shared by
 * certifier-local.test.ts and certifier-swarm.test.ts; the target is any gateway.
 * Uses the generic `functions/alpine` image (envProcess forked per request).
 */
import type { Test } from 'tap';
import { request as httpRequest } from 'node:http';
import { createHash } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { until } from './helpers.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h = { 'User-Agent': 'Go-http-client/1.1', ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) };
    const req = httpRequest(new URL(path, base), { method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface CertifierTarget {
  /** Gateway base URL. */
  gw: string;
  /** Basic auth of the admin user (the certifier's -enableAuth). */
  auth: Record<string, string>;
  /** The namespace every case runs in. */
  ns: string;
  /**
   * true when `ns` is the provider's default namespace: deploys the certifier sends
   * without a namespace are sent as they are. Otherwise they carry `namespace: ns`.
   */
  nsIsDefault: boolean;
  /** true when /system/namespaces must be exactly [ns] (else: contains it). */
  onlyNamespace: boolean;
  /** How long an invocation is polled for a 200 (certifier: 30 tries 750 ms apart). */
  invokeMs?: number;
  /** Deadline for replicas/logs to show up. Default 30 s. */
  readyMs?: number;
  /**
   * Keep the certifier's own pauses in the secret update (1 s after PUT /system/secrets,
   * 5 s after the redeploy). Without them the check is stricter than the certifier's:
   * the very next 200 must show the new value. A provider with rolling updates (old
   * replicas serve until new ones are ready) needs the certifier's timeline.
   */
  certifierPauses?: boolean;
}

const IMAGE = 'docker.io/functions/alpine:latest';
const SOME_JSON = `{
  "key": "value",
  "nested": {
    "list": [1, 2, 3]
  }
}`;

export async function certifierCases(t: Test, target: CertifierTarget): Promise<void> {
  const { gw, auth, ns: NS } = target;
  const inNs = <T extends object>(body: T): T => (target.nsIsDefault ? body : { ...body, namespace: NS });
  const api = (method: string, path: string, body?: unknown) =>
    send(gw, method, path, { ...auth, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) }, body === undefined ? undefined : JSON.stringify(body));
  const get = async (name: string) => JSON.parse((await api('GET', `/system/function/${name}?namespace=${NS}&usage=1`)).text) as Record<string, unknown>;
  /** verify_test.go: 30 tries 750 ms apart until an expected status; never carries auth. */
  const invoke = async (name: string, method = 'POST', body?: string, query = '') => {
    let last: Reply | undefined;
    await until(async () => {
      last = await send(gw, method, `/function/${name}.${NS}${query}`, {}, body);
      return last.status === 200;
    }, target.invokeMs ?? 22_500, `${name} answers 200`);
    return last!;
  };

  await t.test('info and health', async (t) => {
    t.equal((await send(gw, 'GET', '/healthz', {})).status, 200);
    const info = JSON.parse((await api('GET', '/system/info')).text) as { provider: { provider: string; orchestration: string; version: { release: string; sha: string } }; version: { release: string; sha: string } };
    for (const v of [info.provider.provider, info.provider.orchestration, info.provider.version.release, info.provider.version.sha, info.version.release, info.version.sha]) t.ok(v, 'non-empty');
    t.not(info.provider.provider, 'faasd', 'reports its own provider name');
  });

  const deployed = [
    { service: 'stronghash', image: IMAGE, envProcess: 'sha512sum', labels: {}, annotations: {} },
    { service: 'env-test-labels', image: IMAGE, envProcess: 'env', labels: { upstream_uri: 'example.com', canary_build: 'true' }, annotations: {} },
    { service: 'env-test-annotations', image: IMAGE, envProcess: 'env', labels: {}, annotations: { 'important-date': 'Fri Aug 10 08:21:00 BST 2018', 'some-json': SOME_JSON } },
    { service: 'memory-limit', image: IMAGE, envProcess: 'env', labels: {}, annotations: {}, limits: { memory: '5Mi', cpu: '100m' } },
  ];

  await t.test('Test_Deploy_MetaData and listing', async (t) => {
    for (const d of deployed) {
      const r = await api('POST', '/system/functions', { ...d, namespace: NS });
      t.ok([200, 202].includes(r.status), `${d.service}: ${r.status}`);
      const s = await get(d.service);
      t.match(s.labels, d.labels, 'labels present as an object right after deploy');
      t.ok(s.annotations !== null && typeof s.annotations === 'object', 'annotations present as an object right after deploy');
      t.same(Object.fromEntries(Object.entries((s.annotations ?? {}) as object).filter(([k]) => k in d.annotations)), d.annotations, 'annotations byte-exact');
    }
    const list = JSON.parse((await api('GET', `/system/functions?namespace=${NS}`)).text) as Record<string, unknown>[];
    t.same(list.map((f) => f.name).sort(), deployed.map((d) => d.service).sort(), 'exactly the deployed functions');
    for (const d of deployed) {
      const f = list.find((x) => x.name === d.service)!;
      t.equal(f.image, IMAGE, 'image verbatim');
      t.equal(f.namespace, NS);
      t.equal(f.envProcess, d.envProcess);
      t.notOk(f.readOnlyRootFilesystem);
      t.ok(f.envVars === undefined || f.envVars === null, 'envVars absent when none deployed');
      t.notOk(f.requests, 'requests absent');
      t.ok(!f.secrets || (f.secrets as unknown[]).length === 0);
      t.ok(!f.constraints || (f.constraints as unknown[]).length === 0);
      if (d.limits) t.same(f.limits, d.limits, 'limits exact');
      else t.notOk(f.limits, 'limits absent');
      t.match(f.labels, { ...d.labels, faas_function: d.service }, 'deployed labels plus faas_function (extra keys allowed)');
    }
    const s = await get('memory-limit');
    t.ok(typeof s.replicas === 'number', 'memory-limit status readable');
    const ns = JSON.parse((await api('GET', '/system/namespaces')).text) as string[];
    if (target.onlyNamespace) t.same(ns, [NS], 'Test_ListNamespaces');
    else t.ok(ns.includes(NS), 'Test_ListNamespaces');
  });

  await t.test('Test_Invoke: stronghash, verbs, env, query', async (t) => {
    const r = await invoke('stronghash', 'POST', 'hello');
    t.equal(r.text.split(/\s+/)[0], createHash('sha512').update('hello').digest('hex'));
    await api('POST', '/system/functions', inNs({ service: 'env-test-verbs', image: IMAGE, envProcess: 'env', envVars: {}, labels: {}, annotations: {} }));
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await invoke('env-test-verbs', m);
      t.match(res.text, `Http_Method=${m}`);
      t.ok(res.headers['x-call-id'] && res.headers['x-start-time'], 'X-Call-Id / X-Start-Time');
    }
    await api('POST', '/system/functions', inNs({ service: 'env-test', image: IMAGE, envProcess: 'env', envVars: { custom_env: 'custom_env_value' }, labels: {}, annotations: {} }));
    t.match((await invoke('env-test')).text, 'custom_env');
    t.match((await invoke('env-test', 'POST', undefined, '?testing=1')).text, 'Http_Query=testing=1');
    const nf = await send(gw, 'POST', `/function/.${NS}`, {});
    t.ok([404, 502].includes(nf.status), 'Test_InvokeNotFound');
  });

  await t.test('Test_FunctionLogs', async (t) => {
    await api('POST', '/system/functions', inNs({ service: 'test-logger', image: 'functions/alpine:latest', envProcess: 'cat', labels: {}, annotations: {} }));
    t.equal((await invoke('test-logger', 'POST', NS)).text, NS);
    let lines: { name: string; text: string }[] = [];
    await until(async () => {
      const r = await api('GET', `/system/logs?name=test-logger&namespace=${NS}&follow=false`);
      lines = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; text: string });
      return lines.some((l) => l.text.replace(/^[\d/: ]+/, '').startsWith(`Wrote ${NS.length} Bytes`));
    }, target.readyMs ?? 30_000, `Wrote ${NS.length} Bytes`);
    t.ok(lines.every((l) => l.name === 'test-logger'));
    t.ok(lines.some((l) => l.text.replace(/^[\d/: ]+/, '').startsWith('Forking fprocess')));
  });

  await t.test('Test_ScaleMinimum and Test_ScaleFromZeroDuringInvoke', async (t) => {
    await api('POST', '/system/functions', inNs({ service: 'test-scale-min', image: 'functions/alpine:latest', envProcess: 'sha512sum', labels: { 'com.openfaas.scale.min': '2' }, annotations: {} }));
    t.equal((await get('test-scale-min')).replicas, 2, 'replicas == min right after deploy');
    await api('POST', '/system/functions', inNs({ service: 'test-scale-from-zero', image: 'functions/alpine:latest', envProcess: 'sha512sum', labels: {}, annotations: {} }));
    await until(async () => ((await get('test-scale-from-zero')).availableReplicas as number) >= 1, 30_000, 'available');
    const r = await api('POST', `/system/scale-function/test-scale-from-zero?namespace=${NS}`, { serviceName: 'test-scale-from-zero', replicas: 0 });
    t.ok([200, 201, 202].includes(r.status));
    // Go decodes an omitted `replicas` (omitempty, as upstream's faas-provider types) as 0.
    t.equal((await get('test-scale-from-zero')).replicas ?? 0, 0, 'reads 0 at once');
    t.equal((await invoke('test-scale-from-zero')).status, 200, 'scaled from zero by the request');
  });

  await t.test('Test_SecretCRUD', async (t) => {
    const cases = [
      { name: 'secret-string', create: { value: 'this-is-the-secret-string-value' }, update: { value: 'this-is-the-NEW-secret-string-value' } },
      { name: 'secret-bytes', create: { rawValue: Buffer.from('this-is-the-RAW-secret-value').toString('base64') }, update: { rawValue: Buffer.from('this-is-the-NEW-RAW-secret-value').toString('base64') } },
    ];
    for (const c of cases) {
      const value = (v: { value?: string; rawValue?: string }) => v.value ?? Buffer.from(v.rawValue!, 'base64').toString();
      t.notOk((await api('GET', `/system/secrets?namespace=${NS}`)).text.includes(c.name));
      t.ok([200, 201, 202].includes((await api('POST', '/system/secrets', { name: c.name, namespace: NS, ...c.create })).status));
      const fn = { service: c.name, image: 'functions/alpine:latest', envProcess: `cat /var/openfaas/secrets/${c.name}`, secrets: [c.name], annotations: {}, namespace: NS };
      await api('POST', '/system/functions', fn);
      t.equal((await invoke(c.name)).text, value(c.create), `${c.name} byte for byte`);
      t.ok([200, 202].includes((await api('PUT', '/system/secrets', { name: c.name, namespace: NS, ...c.update })).status));
      if (target.certifierPauses) await pause(1000);
      t.ok([200, 202].includes((await api('PUT', '/system/functions', { ...fn, annotations: { 'secret-hash': 'new' } })).status));
      if (target.certifierPauses) await pause(5000);
      t.equal((await invoke(c.name)).text, value(c.update), 'first 200 after the update shows the new value');
      t.ok([200, 201, 202].includes((await api('DELETE', `/system/functions?namespace=${NS}`, { functionName: c.name })).status));
      t.ok([200, 202].includes((await api('DELETE', '/system/secrets', { name: c.name, namespace: NS, ...c.update })).status));
      t.notOk((await api('GET', `/system/secrets?namespace=${NS}`)).text.includes(c.name));
    }
  });
}
