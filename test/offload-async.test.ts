/**
 * Async offload end to end: two layers (edge → cloud), each a gateway with
 * its own provider-local, embedded durable queue and queue worker.
 *
 * - A function only at the cloud: the edge hands /async-function calls to
 *   the cloud's /async-function (202 + the cloud's X-Call-Id); each call runs
 *   exactly once (one callback per call id, cloud invocations = calls) and
 *   nothing is queued at the edge.
 * - A function at the edge with max_inflight=1: the edge worker's concurrent
 *   invocations overflow to the cloud at execution time; every call answers
 *   once and the two layers' invocation counts add up to the calls.
 * - The cloud down: the edge answers 502 GW_ERR_OFFLOAD_FAILED and queues
 *   nothing (the client was told no).
 */
import t from 'tap';
import { createServer } from 'node:http';
import { until } from './helpers.js';
import { call, HANDLERS, metricValue, startLayer, type Layer } from './offload-support.js';

const NS = 'openfaas-fn';

interface Callback {
  callId: string;
  status: string;
  body: string;
}

t.test('async offload: edge → cloud', async (t) => {
  const callbacks: Callback[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      callbacks.push({
        callId: String(req.headers['x-call-id'] ?? ''),
        status: String(req.headers['x-function-status'] ?? ''),
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/cb`;

  const layers: Layer[] = [];
  t.teardown(async () => {
    for (const l of layers.reverse()) await l.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });
  const cloud = await startLayer({ name: 'cloud', queue: true, workerConcurrency: 4 });
  layers.push(cloud);
  const edge = await startLayer({ name: 'edge', queue: true, workerConcurrency: 4, env: { offload_parent_url: cloud.url } });
  layers.push(edge);

  await cloud.bundle('echo', HANDLERS.echo);
  await cloud.bundle('busy', HANDLERS.sleep(300, 'busy@cloud'));
  await edge.bundle('busy', HANDLERS.sleep(300, 'busy@edge'));
  await Promise.all([cloud.deploy('count', 'echo'), cloud.deploy('busy', 'busy'), edge.deploy('busy', 'busy', { envVars: { max_inflight: '1' } })]);

  await t.test('a function only at the parent: accepted by the parent, run exactly once per call', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const out = await call(`${edge.url}/async-function/count`, { body: `n${i}`, headers: { 'X-Callback-Url': callbackUrl } });
      t.equal(out.status, 202, out.text);
      t.equal(out.offload, 'edge=not-deployed');
      t.ok(out.callId, 'the X-Call-Id of the layer that accepted it');
      ids.push(out.callId!);
    }
    await until(() => cloud.worker!.stats().acked >= 5, 20_000, 'cloud worker acked 5');
    await until(() => callbacks.length >= 5, 10_000, '5 callbacks');
    t.same(callbacks.map((c) => c.callId).sort(), [...ids].sort(), 'one callback per accepted call id');
    t.same(callbacks.map((c) => c.body).sort(), ['POST n0', 'POST n1', 'POST n2', 'POST n3', 'POST n4']);
    t.ok(callbacks.every((c) => c.status === '200'));
    t.equal(metricValue(await cloud.metrics(), 'gateway_function_invocation_total', { function_name: `count.${NS}` }), 5, 'cloud ran each call once');
    t.equal(edge.worker!.stats().received, 0, 'the edge queue never saw them');
    t.equal(edge.queue!.stats().live, 0);
    t.equal(metricValue(await edge.metrics(), 'gateway_offload_total', { function_name: `count.${NS}`, reason: 'not-deployed' }), 5);
    callbacks.length = 0;
  });

  await t.test('a saturated function at the child: queued here, overflow runs at the parent, each call once', async (t) => {
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const out = await call(`${edge.url}/async-function/busy`, { body: `b${i}`, headers: { 'X-Callback-Url': callbackUrl } });
      t.equal(out.status, 202);
      t.equal(out.offload, undefined, 'queued at the edge (the function is deployed here)');
      ids.add(out.callId!);
    }
    await until(() => callbacks.length >= 4, 30_000, '4 callbacks');
    await until(() => edge.worker!.stats().acked >= 4, 10_000, 'edge worker acked 4');
    t.same(new Set(callbacks.map((c) => c.callId)), ids, 'one callback per call id');
    t.ok(callbacks.every((c) => c.status === '200'), `all 200 (${callbacks.map((c) => c.status).join(',')})`);
    const atEdge = callbacks.filter((c) => c.body === 'busy@edge').length;
    const atCloud = callbacks.filter((c) => c.body === 'busy@cloud').length;
    t.equal(atEdge + atCloud, 4);
    t.ok(atEdge >= 1 && atCloud >= 1, `edge ran ${atEdge}, cloud ran ${atCloud}`);
    const em = await edge.metrics();
    const cm = await cloud.metrics();
    t.equal(metricValue(em, 'gateway_function_invocation_total', { function_name: `busy.${NS}`, code: '200' }), atEdge);
    t.equal(metricValue(cm, 'gateway_function_invocation_total', { function_name: `busy.${NS}` }), atCloud, 'the rest ran at the cloud');
    t.equal(metricValue(em, 'gateway_offload_total', { function_name: `busy.${NS}`, reason: 'saturated' }), atCloud);
    t.equal(edge.worker!.stats().retried, 0, 'no 429 reached the worker');
    callbacks.length = 0;
  });

  await t.test('the parent down: the client is told no, and nothing is queued here', async (t) => {
    await cloud.stopGateway();
    const out = await call(`${edge.url}/async-function/count`, { body: 'lost?', headers: { 'X-Callback-Url': callbackUrl } });
    t.equal(out.status, 502);
    t.match(out.text, /GW_ERR_OFFLOAD_FAILED/);
    t.match(out.text, /not queued/);
    t.equal(edge.queue!.stats().live, 0);
    t.equal(edge.worker!.stats().received, 4, 'only the four earlier busy calls were ever queued here');
    t.equal(callbacks.length, 0);
    const em = await edge.metrics();
    t.equal(metricValue(em, 'gateway_offload_failures_total', { function_name: `count.${NS}`, outcome: 'parent-unavailable' }), 1);
  });
});
