/**
 * The provider-k8s server (main.ts) as a process: env parsing, a kubeconfig
 * pointing at the API server stand-in, faas-provider routes over HTTP, and an
 * invocation proxied to a real watchdog pod.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '../provider/index.js';
import { freePort, killGroup, until, watchdogCommand } from '../test/helpers.js';
import { startFakeApiServer } from './testing/apiserver.js';
import { watchdogPods } from './testing/watchdog-pods.js';
import { loadK8sServerEnv } from './env.js';

t.test('env: defaults, upstream names, one error naming every problem', async (t) => {
  const d = loadK8sServerEnv({});
  t.match(d, { port: 8081, host: '0.0.0.0', readTimeoutMs: 10_000, basicAuth: false, secretMountPath: '/var/secrets' });
  t.match(d.provider, { functionNamespace: 'openfaas-fn', imagePullPolicy: 'Always', endpointMode: 'endpointslices', probes: { type: 'http' }, namespaces: { discover: true, allowed: [] } });
  const c = loadK8sServerEnv({ port: '9000', read_timeout: '5m5s', write_timeout: '30', http_probe: 'false', allowed_namespaces: 'a, b', image_pull_policy: 'IfNotPresent', endpoint_mode: 'service', readiness_probe_period_seconds: '7' });
  t.equal(c.port, 9000);
  t.equal(c.readTimeoutMs, 305_000);
  t.equal(c.writeTimeoutMs, 30_000);
  t.match(c.provider, { imagePullPolicy: 'IfNotPresent', endpointMode: 'service', probes: { type: 'exec', periodSeconds: 7 }, namespaces: { allowed: ['a', 'b'] } });
  try {
    loadK8sServerEnv({ port: 'x', read_timeout: 'soon', basic_auth: 'maybe', image_pull_policy: 'Sometimes' });
    t.fail('expected INVALID');
  } catch (err) {
    t.ok(ProviderError.is(err, 'INVALID'));
    t.match((err as Error).message, /port.*read_timeout.*basic_auth/s);
    t.match((err as Error).message, /image_pull_policy/);
  }
});

const IMAGE = 'ghcr.io/faas-ts/cat:test';

t.test('main.ts serves the faas-provider API over the stand-in and proxies to a pod', { skip: !existsSync(watchdogCommand()[1]!) && 'dist/fwatchdog.cjs missing (npm run build:watchdog)' }, async (t) => {
  const pods = watchdogPods(watchdogCommand(), { [IMAGE]: { mode: 'streaming', fprocess: 'cat' } });
  const api = await startFakeApiServer({ ...pods.hooks });
  pods.attach(api);
  const dir = await mkdtemp(join(tmpdir(), 'k8s-main-'));
  t.teardown(async () => {
    await api.close();
    await pods.stopAll();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'config');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: standin, cluster: { server: "' + api.url + '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: test-token } }]',
      'contexts: [{ name: c, context: { cluster: standin, user: u } }]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'basic-auth-user'), 'admin\n');
  await writeFile(join(dir, 'basic-auth-password'), 'pw\n');
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig, port: String(port), bind_address: '127.0.0.1', basic_auth: 'true', secret_mount_path: dir, log_level: 'warn' };
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./main.ts', import.meta.url).pathname], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr += String(b)));
  child.stdout!.resume();
  t.teardown(() => killGroup(child.pid));
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };
  await until(async () => (await fetch(`${base}/system/info`, { headers: auth })).ok, 20_000, 'provider server up');
  t.equal((await fetch(`${base}/system/functions`)).status, 401, 'basic auth on /system');
  t.match(await (await fetch(`${base}/system/info`, { headers: auth })).json(), { provider: 'faas-ts-k8s', orchestration: 'kubernetes' });
  const dep = await fetch(`${base}/system/functions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'echo', image: IMAGE }) });
  t.ok(dep.status === 200 || dep.status === 202, `deploy ${dep.status}`);
  t.ok(api.requests.some((r) => r.method === 'POST' && r.path === '/apis/apps/v1/namespaces/openfaas-fn/deployments'), 'Deployment created through the API');
  await until(async () => ((await (await fetch(`${base}/system/function/echo`, { headers: auth })).json()) as { availableReplicas?: number }).availableReplicas === 1, 20_000, 'ready');
  const res = await fetch(`${base}/function/echo`, { method: 'POST', body: 'hello k8s' });
  t.equal(res.status, 200);
  t.equal(await res.text(), 'hello k8s', 'proxied to the watchdog pod');
  const list = (await (await fetch(`${base}/system/functions`, { headers: auth })).json()) as Array<{ name: string }>;
  t.same(list.map((f) => f.name), ['echo']);
  t.notOk(stderr.includes('Error'), 'no errors on stderr', { stderr });
});
