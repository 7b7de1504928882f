/**
 * Offload when things go wrong: a parent that is down (connection refused),
 * a parent that accepts connections and never answers, and a loop (A's parent
 * is B, B's parent is A) stopped by the hop limit. Real gateways with a real
 * provider-local and fwatchdog replicas on loopback.
 */
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { request } from 'undici';
import { freePort } from './helpers.js';
import { call, HANDLERS, metricValue, startLayer } from './offload-support.js';

const NS = 'openfaas-fn';

t.test('offload faults', async (t) => {
  const closedPort = await freePort();
  const layer = await startLayer({ name: 'orphan', env: { offload_parent_url: `http://127.0.0.1:${closedPort}` } });
  t.teardown(() => layer.close());
  await layer.bundle('echo', HANDLERS.echo);
  await layer.deploy('here', 'echo');

  await t.test("a parent that is down: the child's own answer, at once", async (t) => {
    const missing = await call(`${layer.url}/function/nothere`, { body: 'payload' });
    t.equal(missing.status, 404, "the child's own 404");
    t.match(missing.text, /^error finding function nothere\.openfaas-fn/);
    t.equal(missing.layer, 'orphan');
    t.match(missing.error, /^orphan=not-deployed: ECONNREFUSED/);
    const m = await layer.metrics();
    t.equal(metricValue(m, 'gateway_offload_failures_total', { function_name: `nothere.${NS}`, outcome: 'parent-unavailable' }), 1);
    t.equal(metricValue(m, 'gateway_offload_total', { function_name: `nothere.${NS}` }), 0);

    // A local function is still served locally while the parent is down.
    t.match(await call(`${layer.url}/function/here`, { body: 'x' }), { status: 200, text: 'POST x', layer: 'orphan' });

    // A call that had a reason to go up (host memory) runs here, its streamed body intact.
    const busy = await layer.gateway({ offload_layer: 'busy', offload_parent_url: `http://127.0.0.1:${closedPort}`, offload_memory_threshold: '0.01' });
    const body = 'b'.repeat(100_000);
    const out = await call(`${busy.url}/function/here`, { body });
    t.equal(out.status, 200);
    t.ok(out.text === `POST ${body}`, `the whole body reached the local replica (${out.text.length - 5} of ${body.length} bytes)`);
    t.equal(out.layer, 'busy');
    t.match(out.error, /^busy=host-memory: ECONNREFUSED/);
  });

  await t.test('a parent that never answers: bounded by offload_timeout, then the child answers', async (t) => {
    const sockets = new Set<Socket>();
    const blackhole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume(); // read everything, answer nothing
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    t.teardown(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          blackhole.close(() => r());
        }),
    );
    const port = (blackhole.address() as { port: number }).port;
    const gw = await layer.gateway({ offload_layer: 'stuck', offload_parent_url: `http://127.0.0.1:${port}`, offload_timeout: '800ms' });

    const get = await call(`${gw.url}/function/nothere`);
    t.equal(get.status, 404, 'no body sent: falls back to the local 404');
    t.match(get.error, /^stuck=not-deployed: UND_ERR_HEADERS_TIMEOUT/);

    // The body went to the silent parent and cannot be re-sent: a clear 502.
    const post = await call(`${gw.url}/function/nothere`, { body: 'consumed' });
    t.equal(post.status, 502);
    t.match(post.text, /GW_ERR_OFFLOAD_FAILED/);
  });

  await t.test('a parent that breaks off mid-response: the client sees a truncated response, the child keeps serving', async (t) => {
    const cut = createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\ncontent-type: text/plain\r\n\r\npartial');
        setImmediate(() => s.destroy());
      });
    });
    await new Promise<void>((r) => cut.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => cut.close(() => r())));
    const gw = await layer.gateway({ offload_layer: 'cut', offload_parent_url: `http://127.0.0.1:${(cut.address() as { port: number }).port}` });
    const res = await request(`${gw.url}/function/nothere`);
    t.equal(res.statusCode, 200, "the parent's status was already sent");
    await t.rejects(res.body.text(), 'the body ends early: the client can tell');
    const m = await (await request(`${gw.url}/metrics`)).body.text();
    t.equal(metricValue(m, 'gateway_offload_total', { function_name: `nothere.${NS}` }), 1);
    t.match(await call(`${gw.url}/function/here`, { body: 'still' }), { status: 200, text: 'POST still', layer: 'cut' });
  });

  await t.test('a loop A → B → A is stopped by the hop limit with 508', async (t) => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await layer.gateway({ port: String(pa), offload_layer: 'A', offload_parent_url: `http://127.0.0.1:${pb}` });
    const b = await layer.gateway({ port: String(pb), offload_layer: 'B', offload_parent_url: `http://127.0.0.1:${pa}` });

    const out = await call(`${a.url}/function/ghost`, { body: 'round and round' });
    t.equal(out.status, 508);
    t.match(out.text, /GW_ERR_OFFLOAD_HOP_LIMIT/);
    t.match(out.text, /path A > B > A/);
    t.equal(out.layer, 'B', 'refused where the limit was reached');
    t.equal(out.hops, '3');
    t.equal(out.offload, 'A=not-deployed, B=not-deployed, A=not-deployed');

    const mb = await (await request(`${b.url}/metrics`)).body.text();
    t.equal(metricValue(mb, 'gateway_offload_failures_total', { function_name: `ghost.${NS}`, outcome: 'hop-limit' }), 1);
    t.equal(metricValue(mb, 'gateway_offload_total', { function_name: `ghost.${NS}` }), 1, 'B forwarded once (hop 2)');

    // A forged hop count at the limit is never forwarded either; a garbage count is treated the same.
    const forged = await call(`${a.url}/function/ghost`, { headers: { 'x-faas-ts-hops': '3' } });
    t.match(forged, { status: 508, layer: 'A' });
    const garbage = await call(`${a.url}/function/ghost`, { headers: { 'x-faas-ts-hops': 'many' } });
    t.match(garbage, { status: 508, layer: 'A' });
    // A function deployed where the limit is reached still runs there.
    t.match(await call(`${a.url}/function/here`, { headers: { 'x-faas-ts-hops': '3' } }), { status: 200, layer: 'A', hops: '3' });
  });
});
