/**
 * Offload units: env parsing (defaults, every bad value reported at once),
 * hop accounting, the per-function settings from labels, the policy helpers
 * and the host load sampler.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayError, loadGatewayConfig, parseDurationMs } from '../gateway/index.js';
import { loadOffloadConfig, OFFLOAD_DEFAULTS, parseMethods } from '../gateway/offload/config.js';
import { incomingHops, mayForward, outgoingHops } from '../gateway/offload/hops.js';
import { busyFraction, createLoadSampler } from '../gateway/offload/load.js';
import { absentFunction, allSaturated, functionOffload, hostReason } from '../gateway/offload/policy.js';

const load = (env: Record<string, string>) => {
  const problems: string[] = [];
  const config = loadOffloadConfig(env, parseDurationMs, 60_000, problems);
  return { config, problems };
};

t.test('no parent, no layer: offload is off', async (t) => {
  t.equal(load({}).config, undefined);
  t.equal(loadGatewayConfig({}).offload, undefined);
});

t.test('defaults', async (t) => {
  const { config, problems } = load({ offload_parent_url: 'http://fog:8080/' });
  t.same(problems, []);
  t.ok(Object.isFrozen(config));
  t.match(config, {
    parentUrl: 'http://fog:8080',
    maxHops: OFFLOAD_DEFAULTS.maxHops,
    cpuThreshold: 0.8,
    memoryThreshold: 0.8,
    sampleIntervalMs: 1000,
    readyWaitMs: 2000,
    localTimeoutMs: 60_000,
    timeoutMs: 60_000,
    connectTimeoutMs: 2000,
    retryBodyBytes: 65536,
  });
  t.equal(config!.retryMethods.size, 0, 'no method is retried by default');
  t.ok(config!.layer.length > 0, 'layer defaults to the hostname');
  t.equal(load({ offload_layer: 'cloud' }).config?.parentUrl, undefined, 'the top layer: layer name only');
});

t.test('every value parsed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'offload-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pw'), 'secret\n');
  writeFileSync(join(dir, 'ca.pem'), 'x');
  const { config, problems } = load({
    offload_parent_url: 'https://cloud.example:8443/base/',
    offload_parents: 'fog=http://fog:8080, other=https://o',
    offload_layer: 'edge-1',
    offload_max_hops: '5',
    offload_user: 'admin',
    offload_password_file: join(dir, 'pw'),
    offload_ca_file: join(dir, 'ca.pem'),
    offload_cpu_threshold: '0.9',
    offload_memory_threshold: '1',
    offload_sample_interval: '250ms',
    offload_ready_wait: '500ms',
    offload_retry_methods: 'get, head',
    offload_local_timeout: '3s',
    offload_retry_body_bytes: '1024',
    offload_connect_timeout: '300ms',
    offload_timeout: '1m',
  });
  t.same(problems, []);
  t.match(config, {
    parentUrl: 'https://cloud.example:8443/base',
    layer: 'edge-1',
    maxHops: 5,
    user: 'admin',
    cpuThreshold: 0.9,
    memoryThreshold: 1,
    sampleIntervalMs: 250,
    readyWaitMs: 500,
    localTimeoutMs: 3000,
    retryBodyBytes: 1024,
    connectTimeoutMs: 300,
    timeoutMs: 60_000,
  });
  t.same([...config!.parents], [
    ['fog', 'http://fog:8080'],
    ['other', 'https://o'],
  ]);
  t.same([...config!.retryMethods], ['GET', 'HEAD']);
});

t.test('bad values: one error naming every variable', async (t) => {
  const { problems } = load({
    offload_parent_url: 'ftp://x',
    offload_parents: 'noequals,bad name=http://x,ok=http://user:pw@x',
    offload_layer: 'has space',
    offload_max_hops: '-1',
    offload_user: 'admin',
    offload_ca_file: '/nonexistent/ca.pem',
    offload_cpu_threshold: '80',
    offload_memory_threshold: '0',
    offload_sample_interval: 'soon',
    offload_retry_methods: 'GET,/x',
    offload_connect_timeout: '0',
  });
  for (const name of [
    'offload_parent_url',
    'offload_parents entry "noequals"',
    'offload_parents entry "bad name=http://x"',
    'offload_parents[ok]',
    'offload_layer',
    'offload_max_hops',
    'offload_user and offload_password_file',
    'offload_ca_file',
    'offload_cpu_threshold',
    'offload_memory_threshold',
    'offload_sample_interval',
    'offload_retry_methods',
    'offload_connect_timeout',
  ]) {
    t.ok(problems.some((p) => p.startsWith(name)), `${name} reported`);
  }
  let thrown: unknown;
  try {
    loadGatewayConfig({ offload_parent_url: 'not a url', offload_cpu_threshold: '2' });
  } catch (err) {
    thrown = err;
  }
  t.ok(GatewayError.is(thrown, 'GW_ERR_CONFIG'), 'GW_ERR_CONFIG at startup');
  t.match((thrown as Error).message, /offload_parent_url.*offload_cpu_threshold/);
});

t.test('parseMethods', async (t) => {
  t.same([...parseMethods('none')!], []);
  t.same([...parseMethods('')!], []);
  t.same([...parseMethods('get,Post')!], ['GET', 'POST']);
  t.equal(parseMethods('GET;POST'), undefined);
});

t.test('hops', async (t) => {
  t.same(incomingHops({}), { count: 0, path: [], invalid: false });
  const h = incomingHops({ 'x-faas-ts-hops': '2', 'x-faas-ts-path': 'a, b' });
  t.same(h, { count: 2, path: ['a', 'b'], invalid: false });
  t.same(outgoingHops(h, 'c'), { count: '3', path: 'a,b,c' });
  t.ok(mayForward(h, 3));
  t.notOk(mayForward(h, 2), 'at the limit: never forwarded');
  t.notOk(mayForward(incomingHops({ 'x-faas-ts-hops': '-1' }), 3), 'a malformed count is never forwarded');
  t.notOk(mayForward(incomingHops({ 'x-faas-ts-hops': '99999' }), 3));
  t.notOk(mayForward(incomingHops({}), 0), 'offload_max_hops=0 forwards nothing');
  const long = incomingHops({ 'x-faas-ts-path': Array.from({ length: 1000 }, (_, i) => `layer${i}`).join(',') });
  t.equal(long.path.length, 16, 'a forged path is cut to the newest 16 names');
  t.equal(long.path.at(-1), 'layer999');
  const huge = incomingHops({ 'x-faas-ts-path': `a,${'x'.repeat(100_000)}` });
  t.ok(huge.path.join(',').length <= 64 * 16, 'and to a bounded size');
});

t.test('per-function settings from labels', async (t) => {
  const { config } = load({ offload_parent_url: 'http://p', offload_parents: 'cloud=http://c', offload_retry_methods: 'GET' });
  const c = config!;
  t.match(functionOffload(c, {}, {}), { enabled: true, parentUrl: 'http://p', maxInflight: 0 });
  t.same([...functionOffload(c, null, undefined).retryMethods], ['GET']);
  t.match(functionOffload(c, { 'com.faas-ts.offload': 'false' }, {}), { enabled: false });
  t.match(functionOffload(c, { 'com.faas-ts.offload.parent': 'cloud' }, {}), { enabled: true, parentUrl: 'http://c' });
  const unknown = functionOffload(c, { 'com.faas-ts.offload.parent': 'mars' }, {});
  t.match(unknown, { enabled: false });
  t.match(unknown.problem, /names no parent/);
  t.same([...functionOffload(c, { 'com.faas-ts.offload.retry-methods': 'none' }, {}).retryMethods], []);
  t.same([...functionOffload(c, { 'com.faas-ts.offload.retry-methods': 'put,delete' }, {}).retryMethods], ['PUT', 'DELETE']);
  t.match(functionOffload(c, { 'com.faas-ts.offload.retry-methods': 'a b' }, {}).problem, /not a method list/);
  t.equal(functionOffload(c, {}, { max_inflight: '4' }).maxInflight, 4);
  t.equal(functionOffload(c, {}, { max_inflight: 'lots' }).maxInflight, 0);
  t.match(absentFunction(c), { enabled: true, parentUrl: 'http://p' });
  t.match(absentFunction(load({ offload_parents: 'cloud=http://c' }).config!), { enabled: false }, 'named parents only: absent functions stay');
});

t.test('policy helpers', async (t) => {
  const c = load({ offload_parent_url: 'http://p', offload_cpu_threshold: '0.5', offload_memory_threshold: '0.9' }).config!;
  t.equal(hostReason({ cpu: 0.6, memory: 0.95 }, c), 'host-cpu');
  t.equal(hostReason({ cpu: 0.4, memory: 0.95 }, c), 'host-memory');
  t.equal(hostReason({ cpu: 0.5, memory: 0.9 }, c), undefined, 'at the threshold is not over it');
  const off = load({ offload_parent_url: 'http://p', offload_cpu_threshold: '1', offload_memory_threshold: '1' }).config!;
  t.equal(hostReason({ cpu: 1, memory: 1 }, off), undefined, '1 = never');

  const e1 = { id: 'a', baseUrl: 'http://a', pathPrefix: '' };
  const e2 = { id: 'b', baseUrl: 'http://b', pathPrefix: '' };
  const inflight = new Map([
    ['http://a', 2],
    ['http://b', 1],
  ]);
  const f = (e: { baseUrl: string }) => inflight.get(e.baseUrl) ?? 0;
  t.notOk(allSaturated([e1, e2], f, 2), 'one replica has room');
  t.ok(allSaturated([e1, e2], f, 1));
  t.notOk(allSaturated([e1, e2], f, 0), 'no max_inflight: never saturated');
  t.notOk(allSaturated([], f, 1));
});

t.test('load sampler', async (t) => {
  t.equal(busyFraction({ idle: 100, total: 200 }, { idle: 150, total: 300 }), 0.5);
  t.equal(busyFraction({ idle: 100, total: 200 }, { idle: 100, total: 200 }), 0, 'no time passed');
  const sampler = createLoadSampler(20);
  t.teardown(() => sampler.close());
  const first = sampler.current();
  t.ok(first.memory > 0 && first.memory <= 1, `memory ${first.memory}`);
  // Keep one core busy until a sample shows CPU use.
  const deadline = Date.now() + 5000;
  while (sampler.current().cpu === 0 && Date.now() < deadline) {
    const spin = Date.now() + 30;
    while (Date.now() < spin);
    await new Promise((r) => setImmediate(r));
  }
  const cpu = sampler.current().cpu;
  t.ok(cpu > 0 && cpu <= 1, `cpu ${cpu}`);
});

t.test('CLI: --parent and --layer for `faas-ts up` and `faas-ts gateway`', async (t) => {
  const { loadGatewayOnlyConfig, loadUpConfig } = await import('../cli/config.js');
  const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
  const cwd = mkdtempSync(join(tmpdir(), 'offload-cli-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const rt = (env: Record<string, string>) => ({ env, cwd, repoRoot, execPath: process.execPath });

  const gw = loadGatewayOnlyConfig(['--parent', 'http://fog:8080', '--layer', 'edge'], rt({ functions_provider_url: 'http://127.0.0.1:8081' }));
  t.equal(gw.gatewayEnv.offload_parent_url, 'http://fog:8080');
  t.equal(gw.gatewayEnv.offload_layer, 'edge');
  t.match(loadGatewayConfig({ ...gw.gatewayEnv }).offload, { parentUrl: 'http://fog:8080', layer: 'edge' });

  const up = loadUpConfig(['--parent', 'https://cloud:8443'], rt({ offload_layer: 'from-env' }));
  t.equal(up.gatewayEnv.offload_parent_url, 'https://cloud:8443');
  t.equal(up.gatewayEnv.offload_layer, 'from-env', 'env variables pass through');
  const none = loadUpConfig([], rt({}));
  t.equal(none.gatewayEnv.offload_parent_url, undefined, 'no flag, no parent');
});
