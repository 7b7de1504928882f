/**
 * Fault injection between the gateway and a remote faas-provider: the
 * gateway runs with createRestProvider pointed at a loopback TCP proxy this
 * test controls, in front of a real serveProvider over provider-local with
 * real watchdog replicas. The proxy passes bytes through, delays them,
 * stalls them (the answer's head, then silence), blackholes new connections
 * (accepts, never answers) or resets them, while
 * a bounded load of /system/functions and /function/hello calls runs.
 *
 * Expectations (documented behaviour):
 * - /system/* answers a bounded 5xx (503, from the REST client's timeout or
 *   connection error), never hangs.
 * - The metrics port's /healthz is local and stays 200; the API port's
 *   /healthz relays the provider's health (502 when it is unreachable, as
 *   upstream), also bounded.
 * - Invocations: with a REST provider the function route IS the provider's
 *   own /function/ route, so when the provider is unreachable invocations
 *   fail too (502/503), bounded by the timeouts; a delayed provider only
 *   makes them slower.
 * - A provider that sends an answer's head and then stalls: /system/* is a
 *   503 after the REST client's body timeout, and so are invocations (their
 *   endpoint lookup, GET /system/function/NAME, stalls the same way).
 * - After the fault the gateway recovers without a restart.
 */
import t from 'tap';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createRestProvider, serveProvider } from '../provider/rest.js';
import { makeTestProvider, ready } from '../provider-local/test-fixtures.js';
import { describeCounts, diff, figure, startLoad, type LoadCounts } from './faults-support.js';
import { freePort, until } from './helpers.js';

type Mode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'stall' } | { kind: 'blackhole' } | { kind: 'reset' };

interface FaultProxy {
  url: string;
  mode: Mode;
  /** Reset every open connection (so keep-alive sockets see the new mode). */
  dropAll(): void;
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:`target` whose behaviour for new connections is `mode`. */
async function faultProxy(target: number): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: { kind: 'pass' },
    dropAll() {
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
    },
    close: () => new Promise<void>((r) => { proxy.dropAll(); server.close(() => r()); }),
  };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const mode = proxy.mode;
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'blackhole') {
      client.resume(); // read and drop everything, answer nothing
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    if (mode.kind === 'stall') {
      // the first chunk of the answer (status line, headers, maybe some body), then silence
      upstream.once('data', (chunk: Buffer) => {
        client.write(chunk.subarray(0, Math.max(1, chunk.indexOf('\r\n\r\n') + 4)));
        upstream.pause();
      });
    } else if (mode.kind === 'delay') {
      upstream.on('data', (chunk: Buffer) => {
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, mode.ms);
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

const REST_TIMEOUT_MS = 1500;
const UPSTREAM_TIMEOUT = '2s';
/** The client's own bound: an answer later than this is a hang. */
const HANG_MS = 15_000;

t.test('gateway over a REST provider behind a faulty link', async (t) => {
  const tp = await makeTestProvider({ timings: { stopGraceMs: 3000 } });
  const served = await serveProvider(tp.provider);
  const link = await faultProxy(Number(new URL(served.url).port));
  const rest = createRestProvider({ baseUrl: link.url, timeoutMs: REST_TIMEOUT_MS, defaultNamespace: 'openfaas-fn' });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: String(await freePort()), upstream_timeout: UPSTREAM_TIMEOUT, scale_from_zero_timeout: '2s' }), { provider: rest });
  t.teardown(async () => {
    const t0 = Date.now();
    await gw.close();
    t.comment(`gateway closed in ${Date.now() - t0} ms`);
    await rest.close?.();
    t.comment(`rest provider closed in ${Date.now() - t0} ms`);
    await link.close();
    await served.close();
    await tp.cleanup();
  });
  await tp.provider.deploy({ service: 'hello', image: 'hello-http' });
  await ready(tp.provider, 'hello');

  const timed = async (url: string, method: 'GET' | 'POST' = 'GET') => {
    const res = await request(url, { method, body: method === 'POST' ? 'x' : undefined, headersTimeout: HANG_MS, bodyTimeout: HANG_MS });
    await res.body.dump();
    return res.statusCode;
  };
  const system = () => timed(`${gw.url}/system/functions`);
  const invoke = () => timed(`${gw.url}/function/hello`, 'POST');
  const metricsHealth = () => timed(`${gw.metricsUrl}/healthz`);

  const phase = async (name: string, mode: Mode, settle: (s: LoadCounts, i: LoadCounts) => boolean) => {
    link.mode = mode;
    link.dropAll();
    const sys = startLoad({ concurrency: 2, maxCalls: 2000, maxMs: 30_000, call: system });
    const inv = startLoad({ concurrency: 2, maxCalls: 2000, maxMs: 30_000, call: invoke });
    const started = Date.now();
    await until(() => settle(sys.counts, inv.counts), 25_000, `${name}: enough calls answered`);
    const healthStatus = await metricsHealth();
    const apiHealth = await timed(`${gw.url}/healthz`);
    const s = await sys.stop();
    const i = await inv.stop();
    figure(t, `provider link ${name}`, { system: describeCounts(s), invoke: describeCounts(i), metricsHealthz: healthStatus, apiHealthz: apiHealth, phaseMs: Date.now() - started });
    return { s, i, healthStatus, apiHealth };
  };

  await t.test('pass-through: everything works', async (t) => {
    const { s, i, healthStatus, apiHealth } = await phase('pass', { kind: 'pass' }, (s, i) => s.attempted >= 50 && i.attempted >= 50);
    t.equal(s.failed + i.failed, 0, `no failure (${describeCounts(s)} / ${describeCounts(i)})`);
    t.equal(healthStatus, 200);
    t.equal(apiHealth, 200);
  });

  await t.test('delayed by 200 ms per chunk: slower, still correct', async (t) => {
    const { s, i } = await phase('delay 200ms', { kind: 'delay', ms: 200 }, (s, i) => s.attempted >= 10 && i.attempted >= 10);
    t.equal(s.failed + i.failed, 0, `no failure (${describeCounts(s)} / ${describeCounts(i)})`);
  });

  await t.test('stall after the head: bounded 503', async (t) => {
    const { s, i, healthStatus } = await phase('stall', { kind: 'stall' }, (s, i) => s.attempted >= 6 && i.attempted >= 6);
    t.equal(s.ok, 0, '/system/functions cannot complete');
    // Was 500 (GW_ERR_INTERNAL): the REST client let a body timeout escape unmapped.
    t.same(Object.keys(s.byOutcome), ['503'], `/system/functions answers 503 (${describeCounts(s)})`);
    t.ok(
      Object.keys(i.byOutcome).every((k) => /^5\d\d$/.test(k)),
      `invocations answer 5xx, never hang (${describeCounts(i)})`,
    );
    t.equal(healthStatus, 200, 'metrics-port /healthz stays 200');
  });

  for (const kind of ['blackhole', 'reset'] as const) {
    await t.test(`${kind}: bounded 5xx, metrics-port /healthz stays up`, async (t) => {
      const { s, i, healthStatus, apiHealth } = await phase(kind, { kind }, (s, i) => s.attempted >= 6 && i.attempted >= 6);
      t.equal(s.ok, 0, '/system/functions cannot succeed without the provider');
      t.ok(Object.keys(s.byOutcome).every((k) => /^5\d\d$/.test(k)), `/system/functions answers 5xx, no hang, no transport error (${describeCounts(s)})`);
      t.ok(Object.keys(i.byOutcome).every((k) => /^5\d\d$/.test(k) || k === '200'), `invocations answer (${describeCounts(i)})`);
      t.equal(healthStatus, 200, 'metrics-port /healthz is local and stays 200');
      t.equal(apiHealth, 502, 'API-port /healthz relays the unreachable provider as 502');
    });
  }

  await t.test('after the fault: recovers without a restart', async (t) => {
    link.mode = { kind: 'pass' };
    link.dropAll();
    await until(async () => (await system()) === 200 && (await invoke()) === 200, 15_000, 'recovered');
    const { s, i } = await phase('restored', { kind: 'pass' }, (s, i) => s.attempted >= 30 && i.attempted >= 30);
    t.equal(s.failed + i.failed, 0, `no failure after recovery (${describeCounts(s)} / ${describeCounts(i)})`);
    void diff;
  });
});
