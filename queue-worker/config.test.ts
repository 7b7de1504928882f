import t from 'tap';
import { backoffMs, loadWorkerConfig, parseDurationMs, QueueWorkerErrorCodes } from './index.js';

t.test('defaults follow upstream names', async (t) => {
  const c = loadWorkerConfig({});
  t.match(c, {
    backend: 'jetstream',
    natsUrl: 'nats://nats:4222',
    subject: 'faas-request',
    stream: 'faas-request',
    durable: 'faas',
    gatewayUrl: 'http://gateway:8080',
    maxInflight: 1,
    maxAckPending: 1,
    ackWaitMs: 30_000,
    retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000, retryOn: [429, 500, 502, 503, 504] },
    metricsPort: undefined,
  });
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.retry));
});

t.test('env values are read', async (t) => {
  const c = loadWorkerConfig({
    faas_nats_address: '127.0.0.1',
    faas_nats_port: '14222',
    faas_gateway_address: 'gw',
    faas_gateway_port: '9090',
    max_inflight: '20',
    ack_wait: '1m30s',
    max_retry_attempts: '3',
    initial_retry_wait: '250ms',
    max_retry_wait: '10',
    retry_http_codes: '500, 503',
    queue_dir: '/var/lib/faas/queue',
    metrics_port: '0',
    write_debug: 'true',
  });
  t.match(c, {
    backend: 'file',
    queueDir: '/var/lib/faas/queue',
    natsUrl: 'nats://127.0.0.1:14222',
    gatewayUrl: 'http://gw:9090',
    maxInflight: 20,
    maxAckPending: 20,
    ackWaitMs: 90_000,
    retry: { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 10_000, retryOn: [500, 503] },
    metricsPort: 0,
    debug: true,
  });
});

t.test('every bad variable is named in one error', async (t) => {
  let err: unknown;
  try {
    loadWorkerConfig({
      faas_gateway_port: 'eighty',
      max_inflight: '0',
      ack_wait: '5 minutes',
      retry_http_codes: '500,abc',
      max_retry_attempts: '-1',
      initial_retry_wait: '10s',
      max_retry_wait: '1s',
    });
  } catch (e) {
    err = e;
  }
  t.match(err, { code: 'QW_ERR_CONFIG' });
  const msg = (err as Error).message;
  for (const name of ['faas_gateway_port', 'max_inflight', 'ack_wait', 'retry_http_codes', 'max_retry_attempts', 'max_retry_wait']) {
    t.match(msg, name, `names ${name}`);
  }
});

t.test('durations: Go syntax or whole seconds', async (t) => {
  t.equal(parseDurationMs('30'), 30_000);
  t.equal(parseDurationMs('30s'), 30_000);
  t.equal(parseDurationMs('5m5s'), 305_000);
  t.equal(parseDurationMs('1.5s'), 1500);
  t.equal(parseDurationMs('250ms'), 250);
  t.equal(parseDurationMs('1h'), 3_600_000);
  t.equal(parseDurationMs('abc'), undefined);
  t.equal(parseDurationMs('5s garbage'), undefined);
  t.equal(parseDurationMs(''), undefined);
});

t.test('backoff doubles up to the cap', async (t) => {
  const r = { initialDelayMs: 100, maxDelayMs: 1000 };
  t.same([1, 2, 3, 4, 5, 6].map((a) => backoffMs(r, a)), [100, 200, 400, 800, 1000, 1000]);
});

t.test('error codes are unique strings', async (t) => {
  const codes = Object.keys(QueueWorkerErrorCodes);
  t.equal(new Set(codes).size, codes.length);
  t.ok(codes.every((c) => c.startsWith('QW_ERR_')));
});
