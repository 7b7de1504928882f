/**
 * POST /system/alert through the gateway (app.inject) over the test-only
 * MemoryProvider: upstream arithmetic with our defaults, label edge cases,
 * cooldown idempotence, 400/500 bodies, decision metrics. Plus the rule
 * file loader's subset checks.
 */
import t, { type Test } from 'tap';
import { buildGateway, loadGatewayConfig } from '../gateway/index.js';
import { alertReplicas, loadRules, scaleLimits } from '../gateway/scaling/index.js';
import { MemoryProvider } from './gateway-memory-provider.js';

class FailingScaleProvider extends MemoryProvider {
  failFor = new Set<string>();
  override async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    if (this.failFor.has(name)) throw new Error(`backend refused ${name}`);
    return super.scale(name, replicas, namespace);
  }
}

const firing = (fn: string) => ({ status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'APIHighInvocationRate', function_name: fn } }] });
const resolved = (fn: string) => ({ status: 'resolved', alerts: [{ status: 'resolved', labels: { alertname: 'APIHighInvocationRate', function_name: fn } }] });

async function setup(t: Test, env: Record<string, string> = {}) {
  const provider = new FailingScaleProvider();
  const app = await buildGateway(loadGatewayConfig({ port: '0', scale_to_zero: 'false', alert_cooldown: '0', ...env }), { provider });
  t.teardown(() => app.close());
  const post = async (body: unknown) => {
    const res = await app.inject({ method: 'POST', url: '/system/alert', payload: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.statusCode, body: res.body };
  };
  const deploy = (service: string, labels: Record<string, string> = {}) => provider.deploy({ service, image: 'x', labels });
  const replicas = async (name: string) => (await provider.get(name))!.replicas;
  return { provider, app, post, deploy, replicas };
}

t.test('firing steps up to max, resolved goes back to min (defaults max 20, factor 20)', async (t) => {
  const { post, deploy, replicas, app } = await setup(t);
  await deploy('fn1');
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    t.equal((await post(firing('fn1.openfaas-fn'))).status, 200);
    seen.push((await replicas('fn1'))!);
  }
  t.same(seen, [5, 9, 13, 17, 20, 20]);
  const res = await post(resolved('fn1'));
  t.equal(res.status, 200);
  t.equal(res.body, '');
  t.equal(await replicas('fn1'), 1);
  t.equal((await post(resolved('fn1'))).status, 200, 'repeated resolved is a no-op');
  t.equal(await replicas('fn1'), 1);
  const metrics = await (await app.inject('/metrics')).body;
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="fn1.openfaas-fn",direction="up",reason="alert_firing"\} 5/);
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="fn1.openfaas-fn",direction="down",reason="alert_resolved"\} 1/);
});

t.test('labels: min/max/factor, non-numeric, min > max, factor 0 and > 100', async (t) => {
  const { post, deploy, replicas } = await setup(t);
  await deploy('a', { 'com.openfaas.scale.min': '2', 'com.openfaas.scale.max': '4', 'com.openfaas.scale.factor': '50' });
  await post(firing('a'));
  t.equal(await replicas('a'), 4, '2 + ceil(4/100*50)=2 → 4');
  await post(resolved('a'));
  t.equal(await replicas('a'), 2);

  await deploy('b', { 'com.openfaas.scale.max': 'lots', 'com.openfaas.scale.factor': 'x' });
  await post(firing('b'));
  t.equal(await replicas('b'), 5, 'non-numeric labels use defaults (step 4)');

  await deploy('c', { 'com.openfaas.scale.min': '3', 'com.openfaas.scale.max': '2' });
  t.equal(await replicas('c'), 3);
  await post(firing('c'));
  t.equal(await replicas('c'), 3, 'min > max: max raised to min, stays put');
  await post(resolved('c'));
  t.equal(await replicas('c'), 3);

  await deploy('d', { 'com.openfaas.scale.factor': '0' });
  await post(firing('d'));
  await post(firing('d'));
  t.equal(await replicas('d'), 1, 'factor 0 disables alert scaling');

  await deploy('e', { 'com.openfaas.scale.factor': '150', 'com.openfaas.scale.max': '10' });
  await post(firing('e'));
  t.equal(await replicas('e'), 3, 'factor > 100 → default 20: step ceil(10/100*20)=2');

  t.same(scaleLimits({ 'com.openfaas.scale.min': '-1' }).min, 1);
  t.same(alertReplicas('resolved', 0, scaleLimits({})).replicas, 0, 'resolved never wakes an idled function');
});

t.test('unknown functions are skipped with 200; a failed scale is 500 with [i] lines', async (t) => {
  const { post, deploy, provider, replicas } = await setup(t);
  t.equal((await post(firing('ghost'))).status, 200);
  t.equal((await post({ alerts: [{ status: 'firing', labels: {} }] })).status, 200, 'empty name skipped');
  await deploy('ok');
  await deploy('bad');
  provider.failFor.add('bad');
  const res = await post({
    status: 'firing',
    alerts: [
      { status: 'firing', labels: { function_name: 'ok' } },
      { status: 'firing', labels: { function_name: 'bad' } },
    ],
  });
  t.equal(res.status, 500);
  t.equal(res.body, '[1] backend refused bad\n');
  t.equal(await replicas('ok'), 5, 'the other alert was still applied');
});

t.test('malformed payloads are 400 with upstream body', async (t) => {
  const { post } = await setup(t);
  for (const body of ['', '   ', '{', 'null', '[1]', '"x"', '{"alerts":3}', '{"alerts":[1]}']) {
    const res = await post(body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.body, 'Unable to parse alert, bad format.');
  }
  const get = await (await setup(t)).app.inject({ method: 'GET', url: '/system/alert' });
  t.equal(get.statusCode, 405);
});

t.test('a repeated firing webhook within the cooldown adds no replicas', async (t) => {
  const { post, deploy, replicas } = await setup(t, { alert_cooldown: '1h' });
  await deploy('dup');
  await Promise.all([post(firing('dup')), post(firing('dup')), post(firing('dup'))]);
  t.equal(await replicas('dup'), 5);
});

t.test('basic auth protects /system/alert', async (t) => {
  const provider = new MemoryProvider();
  const app = await buildGateway(loadGatewayConfig({ basic_auth: 'true' }), { provider, credentials: { user: 'admin', password: 'pw' } });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/system/alert', payload: JSON.stringify(firing('x')) });
  t.equal(res.statusCode, 401);
});

t.test('rule loader: upstream rule accepted, unsupported expressions named', async (t) => {
  const rules = loadRules(`groups:
  - name: g
    rules:
      - alert: APIHighInvocationRate
        expr: sum(rate(gateway_function_invocation_total{code="200"}[10s])) BY (function_name) > 5
        for: 5s
        labels: { service: gateway, severity: major }
      - alert: InFlight
        expr: sum by (function_name) (gateway_function_inflight_requests) >= 10
`);
  t.equal(rules.length, 2);
  t.match(rules[0], { alert: 'APIHighInvocationRate', forMs: 5000, labels: { service: 'gateway' }, query: { windowMs: 10000, threshold: 5 } });
  t.throws(() => loadRules('groups:\n  - name: g\n    rules:\n      - alert: service_down\n        expr: up == 0\n'), /rule service_down: unsupported expression/);
  t.throws(() => loadRules('groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n'), /only alerting rules/);
  t.throws(() => loadRules('nope: 1'), /no "groups"/);
});
