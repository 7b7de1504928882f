import t from 'tap';
import { coapConfigured, loadCoapConfig, loadMqttConfig, parseDurationMs } from './config.js';
import { ConnectorErrorCodes } from './errors.js';

t.test('mqtt defaults', async (t) => {
  const c = loadMqttConfig({ broker_url: 'mqtt://127.0.0.1:1883' });
  t.match(c, {
    brokerUrl: 'mqtt://127.0.0.1:1883',
    protocolVersion: 4,
    qos: 1,
    mode: 'sync',
    gatewayUrl: 'http://127.0.0.1:8080',
    gatewayUser: 'admin',
    refreshIntervalMs: 10_000,
    topicAnnotation: 'topic',
    replyTopicAnnotation: 'topic-reply',
    metricsPort: 0,
    cleanSession: true,
  });
  t.ok(Object.isFrozen(c));
});

t.test('mqtt settings', async (t) => {
  const c = loadMqttConfig({
    broker_url: 'mqtts://broker:8883',
    mqtt_protocol: '5',
    mqtt_qos: '0',
    asynchronous_invocation: 'true',
    rebuild_interval: '2s',
    upstream_timeout: '1500ms',
    reply_topic_annotation: '',
    gateway_password_file: '/run/secrets/pw',
  });
  t.match(c, { protocolVersion: 5, qos: 0, mode: 'async', refreshIntervalMs: 2000, invokeTimeoutMs: 1500, replyTopicAnnotation: '', gatewayPasswordFile: '/run/secrets/pw' });
});

t.test('every bad variable is named in one error', async (t) => {
  let err: (Error & { code?: string }) | undefined;
  try {
    loadMqttConfig({ mqtt_protocol: '4', rebuild_interval: '5ms', asynchronous_invocation: 'maybe', gateway_url: 'ftp://x', log_level: 'loud' });
  } catch (e) {
    err = e as Error & { code?: string };
  }
  t.equal(err?.code, ConnectorErrorCodes.CONFIG);
  for (const v of ['broker_url', 'mqtt_protocol', 'rebuild_interval', 'asynchronous_invocation', 'gateway_url', 'log_level']) {
    t.match(err?.message, `${v}:`, `names ${v}`);
  }
  t.throws(() => loadCoapConfig({ coap_port: '70000', upstream_timeout: 'soon' }), /coap_port:[^]*upstream_timeout:/);
});

t.test('coap: off unless configured, defaults', async (t) => {
  t.notOk(coapConfigured({}));
  t.ok(coapConfigured({ coap_port: '5683' }));
  t.ok(coapConfigured({ coap_enabled: 'true' }));
  t.match(loadCoapConfig({}), { port: 5683, host: '127.0.0.1', gatewayUrl: 'http://127.0.0.1:8080' });
});

t.test('durations', async (t) => {
  t.equal(parseDurationMs('30'), 30_000);
  t.equal(parseDurationMs('250ms'), 250);
  t.equal(parseDurationMs('1.5s'), 1500);
  t.equal(parseDurationMs('2m'), 120_000);
  t.equal(parseDurationMs('x'), undefined);
});
