import t from 'tap';
import { loadSwarmMainConfig, parseDuration } from './main-config.js';

t.test('durations', async (t) => {
  t.equal(parseDuration('5m5s'), 305_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('10'), 10_000);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('soon'), undefined);
  t.equal(parseDuration(''), undefined);
});

t.test('defaults and overrides', async (t) => {
  t.match(loadSwarmMainConfig({}), {
    port: 8080, bindAddress: '0.0.0.0', readTimeoutMs: 10_000, basicAuth: false, secretMountPath: '/run/secrets/',
    network: 'func_functions', endpointMode: undefined, gatewayInSwarm: true, restartDelayMs: 5000,
  });
  t.equal(loadSwarmMainConfig({ dnsrr: 'true' }).endpointMode, 'tasks-dns', "upstream's dnsrr flag");
  t.equal(loadSwarmMainConfig({ dnsrr: 'true', endpoint_mode: 'vip' }).endpointMode, 'vip');
  t.match(loadSwarmMainConfig({ port: '9000', basic_auth: 'true', read_timeout: '5m5s', functions_network: 'fn' }), {
    port: 9000, basicAuth: true, readTimeoutMs: 305_000, network: 'fn',
  });
  t.throws(() => loadSwarmMainConfig({ port: 'x', read_timeout: 'later', endpoint_mode: 'mesh' }), /port.*endpoint_mode.*read_timeout/);
});
