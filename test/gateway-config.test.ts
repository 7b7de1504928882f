/** Gateway config parsing, error-code registry and small pure helpers. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { GatewayError, GatewayErrorCodes, loadGatewayConfig, parseDurationMs } from '../gateway/index.js';
import { canonicalPath } from '../gateway/router.js';
import { functionSubPath } from '../gateway/routes/function-proxy.js';
import { clampReplicas } from '../gateway/routes/system-functions.js';
import { wakeReplicas } from '../gateway/scale-from-zero.js';
import { goArch } from '../gateway/routes/system-info.js';
import { mapError } from '../gateway/http-errors.js';
import { createRequire } from 'node:module';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../gateway/metrics.js';
import { ProviderError, functionDeploymentSchema, scaleServiceRequestSchema, type Provider } from '../provider/index.js';
import { buildGateway } from '../gateway/index.js';
import { compileSubset, type SubsetSchema } from '../gateway/validate.js';

t.test('defaults', async (t) => {
  const c = loadGatewayConfig({});
  t.match(c, {
    port: 8080,
    bindAddress: '127.0.0.1',
    metricsPort: 8082,
    readTimeoutMs: 60_000,
    writeTimeoutMs: 60_000,
    upstreamTimeoutMs: 60_000,
    basicAuth: false,
    secretMountPath: '/run/secrets/',
    scaleFromZero: true,
    functionNamespace: '',
    maxIdleConns: 1024,
    maxIdleConnsPerHost: 1024,
    maxBodyBytes: 20 * 1024 * 1024,
    maxFunctionBodyBytes: 0,
    maxReplicas: 0,
  });
  t.equal(c.scaleFromZeroTimeoutMs, 60_000, 'bounded by write_timeout');
  t.equal(loadGatewayConfig({ write_timeout: '5m' }).scaleFromZeroTimeoutMs, 100_000);
  t.equal(loadGatewayConfig({ scale_from_zero_timeout: '3s' }).scaleFromZeroTimeoutMs, 3_000);
  t.equal(c.version.release, '0.1.0');
  t.equal(c.version.sha, '');
  t.ok(Object.isFrozen(c), 'frozen');
  t.ok(Object.isFrozen(c.version));
});

t.test('values from env', async (t) => {
  const c = loadGatewayConfig({
    port: '0',
    bind_address: '0.0.0.0',
    metrics_port: '0',
    read_timeout: '30',
    write_timeout: '1m30s',
    upstream_timeout: '250ms',
    basic_auth: 'true',
    secret_mount_path: '/tmp/x',
    scale_from_zero: 'false',
    function_namespace: 'team',
    max_idle_conns_per_host: '16',
    max_body_bytes: '100',
    max_replicas: '5',
    GIT_SHA: 'abc123',
  });
  t.match(c, {
    port: 0,
    bindAddress: '0.0.0.0',
    metricsPort: 0,
    readTimeoutMs: 30_000,
    writeTimeoutMs: 90_000,
    upstreamTimeoutMs: 250,
    basicAuth: true,
    secretMountPath: '/tmp/x',
    scaleFromZero: false,
    functionNamespace: 'team',
    maxIdleConnsPerHost: 16,
    maxBodyBytes: 100,
    maxReplicas: 5,
  });
  t.equal(c.version.sha, 'abc123');
});

t.test('booleans: only the exact string true', async (t) => {
  t.equal(loadGatewayConfig({ basic_auth: 'TRUE' }).basicAuth, false);
  t.equal(loadGatewayConfig({ basic_auth: '1' }).basicAuth, false);
  t.equal(loadGatewayConfig({ scale_from_zero: 'yes' }).scaleFromZero, false);
});

t.test('invalid durations fall back to defaults', async (t) => {
  const c = loadGatewayConfig({ read_timeout: 'soon', write_timeout: '-5s', upstream_timeout: '10x' });
  t.equal(c.readTimeoutMs, 60_000);
  t.equal(c.writeTimeoutMs, 60_000);
  t.equal(c.upstreamTimeoutMs, 60_000);
});

t.test('one error names every bad variable', async (t) => {
  try {
    loadGatewayConfig({ port: 'http', metrics_port: '70000', max_idle_conns: 'many', max_body_bytes: '0', read_timeout: '0', ui_dir: '/nonexistent/ui' });
    t.fail('should throw');
  } catch (err) {
    t.ok(GatewayError.is(err, 'GW_ERR_CONFIG'));
    const msg = (err as Error).message;
    for (const name of ['port=', 'metrics_port', 'max_idle_conns', 'max_body_bytes', 'read_timeout', 'ui_dir']) t.match(msg, name);
  }
});

t.test('parseDurationMs', async (t) => {
  const cases: Array<[string | undefined, number | undefined]> = [
    ['30', 30_000],
    ['0', 0],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2s500ms', 2_500],
    ['1000us', 1],
    ['', undefined],
    [undefined, undefined],
    ['s', undefined],
    ['10', 10_000],
    ['-1s', undefined],
    ['1d', undefined],
    ['1m 30s', undefined],
  ];
  for (const [input, expected] of cases) t.equal(parseDurationMs(input), expected, String(input));
});

t.test('error codes are unique, consistent and documented', async (t) => {
  const readme = readFileSync(new URL('../gateway/README.md', import.meta.url), 'utf8');
  const codes = Object.keys(GatewayErrorCodes);
  t.equal(new Set(codes).size, codes.length);
  for (const code of codes) {
    t.match(code, /^GW_ERR_[A-Z_]+$/);
    t.match(readme, new RegExp(`\\| \`${code}\` \\| ${GatewayErrorCodes[code as keyof typeof GatewayErrorCodes]} \\|`), `${code} documented`);
    const e = new GatewayError(code as keyof typeof GatewayErrorCodes, 'x');
    t.equal(e.statusCode, GatewayErrorCodes[code as keyof typeof GatewayErrorCodes]);
  }
  const documented = [...readme.matchAll(/\| `(GW_ERR_[A-Z_]+)` \|/g)].map((m) => m[1]);
  t.same(documented.sort(), [...codes].sort(), 'README lists no extra codes');
});

t.test('mapError', async (t) => {
  t.match(mapError(ProviderError.notFound('function x')), { status: 404, message: 'function x not found' });
  t.match(mapError(new ProviderError('ALREADY_EXISTS', 'dup')), { status: 409 });
  t.match(mapError(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })), {
    status: 413,
    code: 'GW_ERR_BODY_TOO_LARGE',
  });
  t.match(mapError(new TypeError('boom')), { status: 500, message: 'internal error', expected: false });
  t.match(mapError('string thrown'), { status: 500 });
});

t.test('functionSubPath', async (t) => {
  for (const [url, expected] of [
    ['/function/fn', '/'],
    ['/function/fn/', '/'],
    ['/function/fn?q=1', '/?q=1'],
    ['/function/fn/a/b?q=1', '/a/b?q=1'],
    ['/function/fn.ns/x', '/x'],
    ['/function/fn/a%20b', '/a%20b'],
  ] as const) {
    t.equal(functionSubPath(url), expected, url);
  }
});

t.test('canonicalPath', async (t) => {
  t.equal(canonicalPath('/system/functions'), undefined);
  t.equal(canonicalPath('/ui/'), undefined);
  t.equal(canonicalPath('/function/fn/.well-known'), undefined);
  t.equal(canonicalPath('//a'), '/a');
  t.equal(canonicalPath('/a/./b/'), '/a/b/');
  t.equal(canonicalPath('/a/../../b'), '/b');
  t.equal(canonicalPath('/a/..'), '/');
});

t.test('clampReplicas and wakeReplicas', async (t) => {
  const open = { allowZero: true, maxReplicas: 0 };
  t.equal(clampReplicas(0, undefined, open), 0);
  t.equal(clampReplicas(0, undefined, { allowZero: false, maxReplicas: 0 }), 1);
  t.equal(clampReplicas(100, undefined, open), 100);
  t.equal(clampReplicas(100, { 'com.openfaas.scale.max': '4' }, open), 4);
  t.equal(clampReplicas(100, { 'com.openfaas.scale.max': 'lots' }, open), 100, 'non-integer label ignored');
  t.equal(clampReplicas(100, { 'com.openfaas.scale.max': '40' }, { allowZero: true, maxReplicas: 5 }), 5);
  t.equal(wakeReplicas(undefined), 1);
  t.equal(wakeReplicas({ 'com.openfaas.scale.min': '3' }), 3);
  t.equal(wakeReplicas({ 'com.openfaas.scale.min': '0' }), 1);
  t.equal(wakeReplicas({ 'com.openfaas.scale.min': 'x' }), 1);
});

t.test('goArch uses Go names', async (t) => {
  t.equal(goArch('x64'), 'amd64');
  t.equal(goArch('arm64'), 'arm64');
  t.equal(goArch('arm'), 'arm');
  t.equal(goArch('ia32'), '386');
});

t.test('compileSubset validates the provider schemas without ajv', async (t) => {
  const check = compileSubset(functionDeploymentSchema as SubsetSchema);
  t.equal(check({ service: 'a', image: 'b' }, 'body'), undefined);
  t.equal(check({ service: 'a', image: 'b', labels: null, limits: null, registryAuth: 'x' }, 'body'), undefined);
  t.equal(check({ service: 'a', image: 'b', envVars: { A: 'x' }, secrets: ['s'], readOnlyRootFilesystem: true }, 'body'), undefined);
  t.equal(check(undefined, 'body'), 'body must be object');
  t.equal(check([], 'body'), 'body must be object');
  t.equal(check({ image: 'b' }, 'body'), "body must have required property 'service'");
  t.equal(check({ service: '', image: 'b' }, 'body'), 'body/service must NOT have fewer than 1 characters');
  t.equal(check({ service: 'a', image: 'b', envVars: { A: 1 } }, 'body'), 'body/envVars/A must be string');
  t.equal(check({ service: 'a', image: 'b', secrets: ['x', 2] }, 'body'), 'body/secrets/1 must be string');
  t.equal(check({ service: 'a', image: 'b', labels: 'x' }, 'body'), 'body/labels must be object or null');
  t.equal(check({ service: 'a', image: 'b', limits: { memory: 5 } }, 'body'), 'body/limits/memory must be string');
  const scale = compileSubset(scaleServiceRequestSchema as SubsetSchema);
  t.equal(scale({ replicas: 2 }, 'body'), undefined);
  t.equal(scale({ replicas: 1.5 }, 'body'), 'body/replicas must be integer');
  t.equal(scale({ replicas: -1 }, 'body'), 'body/replicas must be >= 0');

  const app = await buildGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), {
    provider: { defaultNamespace: 'openfaas-fn' } as unknown as Provider,
  });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/system/functions', payload: { image: 'x' } });
  t.equal(res.statusCode, 400);
  t.equal(res.body, "invalid request: body must have required property 'service'\n");
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  t.notOk(loaded.some((k) => k.includes('/@fastify/ajv-compiler/')), 'Fastify never loads its ajv compiler');
});

t.test('GatewayMetrics exposition: counters and cumulative histogram buckets', async (t) => {
  const registry = new Registry();
  const provider = {
    defaultNamespace: 'openfaas-fn',
    namespaces: async () => ['openfaas-fn'],
    list: async () => [{ name: 'f', image: 'i', namespace: 'openfaas-fn', replicas: 2 }],
  } as unknown as Provider;
  const m = new GatewayMetrics(registry, provider);
  for (const s of [0.003, 0.005, 0.2, 20]) {
    m.invocationStarted('f.ns');
    m.invocationCompleted('f.ns', 200, s);
  }
  m.invocationStarted('f.ns');
  m.invocationCompleted('f.ns', 502, 0.01);
  t.equal(m.invocationCount('f.ns'), 5);
  const text = await registry.metrics();
  t.match(text, '# TYPE gateway_function_invocation_total counter');
  t.match(text, 'gateway_function_invocation_total{function_name="f.ns",code="200"} 4');
  t.match(text, 'gateway_function_invocation_total{function_name="f.ns",code="502"} 1');
  t.match(text, 'gateway_function_invocation_started{function_name="f.ns"} 5');
  t.match(text, '# TYPE gateway_functions_seconds histogram');
  t.match(text, 'gateway_functions_seconds_bucket{le="0.005",function_name="f.ns",code="200"} 2');
  t.match(text, 'gateway_functions_seconds_bucket{le="0.25",function_name="f.ns",code="200"} 3');
  t.match(text, 'gateway_functions_seconds_bucket{le="10",function_name="f.ns",code="200"} 3');
  t.match(text, 'gateway_functions_seconds_bucket{le="+Inf",function_name="f.ns",code="200"} 4');
  t.match(text, 'gateway_functions_seconds_sum{function_name="f.ns",code="200"} 20.208');
  t.match(text, 'gateway_functions_seconds_count{function_name="f.ns",code="200"} 4');
  t.match(text, 'gateway_service_count{function_name="f.openfaas-fn"} 2');
  t.match(text, 'process_cpu_user_seconds_total');
  const json = await registry.getMetricsAsJSON();
  t.ok(json.some((j) => j.name === 'gateway_functions_seconds'), 'JSON export works too');
  registry.resetMetrics();
  t.notMatch(await registry.metrics(), 'gateway_function_invocation_total{');
});
