/**
 * Offload end to end (issue #14): three real layers on loopback, each a
 * gateway with its own provider-local and real fwatchdog replicas:
 *
 *   client → edge ──parent──▶ fog ──parent──▶ cloud
 *
 * A function only at the cloud is reached through edge → fog → cloud; a
 * saturated edge function sends the overflow up and every call succeeds; a
 * retry-safe method is re-sent upward after a local timeout while a POST is
 * not; host memory over its threshold sends calls up unless the function
 * opted out; no ready replica sends calls up. Headers and metrics show why.
 */
import t from 'tap';
import { until } from './helpers.js';
import { call, HANDLERS, metricValue, startLayer, type Layer } from './offload-support.js';

const NS = 'openfaas-fn';

t.test('three layers: edge → fog → cloud', async (t) => {
  const layers: Layer[] = [];
  t.teardown(async () => {
    for (const l of layers.reverse()) await l.close();
  });
  const cloud = await startLayer({ name: 'cloud', env: { offload_layer: 'cloud' } });
  layers.push(cloud);
  const fog = await startLayer({ name: 'fog', env: { offload_parent_url: cloud.url } });
  layers.push(fog);
  const edge = await startLayer({ name: 'edge', env: { offload_parent_url: fog.url, offload_local_timeout: '500ms' } });
  layers.push(edge);

  await cloud.bundle('echo', HANDLERS.echo);
  await fog.bundle('echo', HANDLERS.echo);
  await fog.bundle('slow', HANDLERS.sleep(300, 'slow@fog'));
  await fog.bundle('sluggish', HANDLERS.sleep(0, 'fast@fog'));
  await edge.bundle('echo', HANDLERS.echo);
  await edge.bundle('slow', HANDLERS.sleep(300, 'slow@edge'));
  await edge.bundle('sluggish', HANDLERS.sleep(1500, 'slow@edge'));
  await Promise.all([
    cloud.deploy('hello', 'echo'),
    fog.deploy('mid', 'echo'),
    fog.deploy('slow', 'slow', { replicas: 2 }),
    fog.deploy('sluggish', 'sluggish'),
    fog.deploy('cold', 'echo'),
    edge.deploy('here', 'echo'),
    edge.deploy('slow', 'slow', { envVars: { max_inflight: '1' } }),
    edge.deploy('sluggish', 'sluggish', { labels: { 'com.faas-ts.offload.retry-methods': 'GET' } }),
    edge.deploy('pinned', 'echo', { labels: { 'com.faas-ts.offload': 'false' } }),
    edge.deploy('cold', 'echo', { replicas: 0 }),
    fog.deploy('waking', 'echo'),
    edge.deploy('waking', 'echo', { replicas: 0 }),
    fog.deploy('limited', 'slow'),
    edge.deploy('limited', 'slow', { envVars: { max_inflight: '1' }, labels: { 'com.faas-ts.offload.retry-methods': 'GET' } }),
  ]);

  await t.test('a function only at the grandparent is reached through edge → fog → cloud', async (t) => {
    const out = await call(`${edge.url}/function/hello/sub/path?x=1`, { body: 'ping' });
    t.equal(out.status, 200);
    t.equal(out.text, 'POST ping', 'body streamed up two hops and the answer back');
    t.equal(out.layer, 'cloud');
    t.equal(out.hops, '2');
    t.equal(out.offload, 'edge=not-deployed, fog=not-deployed');
    const get = await call(`${edge.url}/function/hello.${NS}`);
    t.equal(get.status, 200, 'fn.ns addressing goes up too');
    t.equal(get.text, 'GET ');

    const mid = await call(`${edge.url}/function/mid`, { body: 'one hop' });
    t.match(mid, { status: 200, text: 'POST one hop', layer: 'fog', hops: '1', offload: 'edge=not-deployed' });

    const here = await call(`${edge.url}/function/here`, { body: 'local' });
    t.match(here, { status: 200, text: 'POST local', layer: 'edge', hops: '0' });
    t.equal(here.offload, undefined, 'a local call carries no offload header');

    const missing = await call(`${edge.url}/function/nowhere`);
    t.equal(missing.status, 404, 'deployed nowhere: the top layer answers 404');
    t.equal(missing.layer, 'cloud');
    t.match(missing.text, /^error finding function nowhere\.openfaas-fn/);

    const em = await edge.metrics();
    t.equal(metricValue(em, 'gateway_offload_total', { function_name: `hello.${NS}`, reason: 'not-deployed' }), 2);
    t.equal(metricValue(em, 'gateway_offload_seconds_count', { function_name: `hello.${NS}`, reason: 'not-deployed' }), 2);
    t.equal(metricValue(em, 'gateway_function_invocation_total', { function_name: `hello.${NS}` }), 0, 'not counted as a local invocation');
    const fm = await fog.metrics();
    t.equal(metricValue(fm, 'gateway_offload_total', { function_name: `hello.${NS}`, reason: 'not-deployed' }), 2);
    const cm = await cloud.metrics();
    t.equal(metricValue(cm, 'gateway_function_invocation_total', { function_name: `hello.${NS}`, code: '200' }), 2);
  });

  await t.test('a saturated child (max_inflight=1) sends the overflow up; every call succeeds', async (t) => {
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => call(`${edge.url}/function/slow`, { body: String(i) })));
    t.ok(
      answers.every((a) => a.status === 200),
      `all 200 (${answers.map((a) => a.status).join(',')})`,
    );
    const atEdge = answers.filter((a) => a.layer === 'edge');
    const atFog = answers.filter((a) => a.layer === 'fog');
    t.equal(atEdge.length + atFog.length, 6);
    t.ok(atEdge.length >= 1, `edge ran ${atEdge.length}`);
    t.ok(atFog.length >= 1, `fog ran ${atFog.length}`);
    t.ok(atEdge.every((a) => a.text === 'slow@edge' && a.offload === undefined));
    t.ok(atFog.every((a) => a.text === 'slow@fog' && a.offload === 'edge=saturated'));
    const em = await edge.metrics();
    t.equal(metricValue(em, 'gateway_offload_total', { function_name: `slow.${NS}`, reason: 'saturated' }), atFog.length);
    t.equal(metricValue(em, 'gateway_function_invocation_total', { function_name: `slow.${NS}`, code: '429' }), 0, 'no call was answered 429');
    t.equal(metricValue(em, 'gateway_function_invocation_total', { function_name: `slow.${NS}`, code: '200' }), atEdge.length);
  });

  await t.test('a retry-safe GET goes up after a local timeout; a POST is never re-sent', async (t) => {
    const get = await call(`${edge.url}/function/sluggish`);
    t.match(get, { status: 200, text: 'fast@fog', layer: 'fog', offload: 'edge=timeout' });
    const post = await call(`${edge.url}/function/sluggish`, { body: 'x' });
    t.match(post, { status: 200, text: 'slow@edge', layer: 'edge' });
    t.equal(post.offload, undefined);
    const em = await edge.metrics();
    t.equal(metricValue(em, 'gateway_offload_total', { function_name: `sluggish.${NS}`, reason: 'timeout' }), 1);
  });

  await t.test('host memory over its threshold sends calls up, unless the function opted out', async (t) => {
    // Memory used is always above 1 %: every call of this gateway has a reason to go up.
    const busy = await edge.gateway({
      offload_layer: 'edge2',
      offload_parent_url: fog.url,
      offload_memory_threshold: '0.01',
      scale_from_zero: 'false',
    });
    const up = await call(`${busy.url}/function/slow`, { body: 'm' });
    t.match(up, { status: 200, text: 'slow@fog', layer: 'fog', offload: 'edge2=host-memory' });
    const pinned = await call(`${busy.url}/function/pinned`, { body: 'stay' });
    t.match(pinned, { status: 200, text: 'POST stay', layer: 'edge2', hops: '0' });
    t.equal(pinned.offload, undefined, 'label com.faas-ts.offload=false keeps it here');

    // No ready replica (at zero, scale_from_zero off): up at once.
    const cold = await call(`${busy.url}/function/cold`, { body: 'c' });
    t.match(cold, { status: 200, text: 'POST c', layer: 'fog', offload: 'edge2=no-ready-replica' });
    const m = await (await fetch(`${busy.url}/metrics`)).text();
    t.equal(metricValue(m, 'gateway_offload_total', { function_name: `slow.${NS}`, reason: 'host-memory' }), 1);
    t.equal(metricValue(m, 'gateway_offload_total', { function_name: `cold.${NS}`, reason: 'no-ready-replica' }), 1);
  });

  await t.test('a second gateway on the same replicas: a retry-safe GET answered 429 here goes up; a slow wake-up goes up and continues', async (t) => {
    const other = await edge.gateway({ offload_layer: 'edge3', offload_parent_url: fog.url, offload_ready_wait: '1ms' });

    // Occupy the only slot of `limited` (max_inflight=1) through the main edge gateway.
    const busy = call(`${edge.url}/function/limited`, { body: 'hold' });
    await until(
      async () => metricValue(await edge.metrics(), 'gateway_function_invocation_started', { function_name: `limited.${NS}` }) === 1,
      10_000,
      'the slot is taken',
    );
    // `other` does not see that call in flight: it tries here, gets 429, and re-sends the GET upward.
    const get = await call(`${other.url}/function/limited`);
    t.match(get, { status: 200, text: 'slow@fog', layer: 'fog', offload: 'edge3=saturated' });
    t.match(await busy, { status: 200, text: 'slow@edge', layer: 'edge' });
    const om = await (await fetch(`${other.url}/metrics`)).text();
    t.equal(metricValue(om, 'gateway_function_invocation_total', { function_name: `limited.${NS}`, code: '429' }), 1, 'the local 429 is recorded');
    t.equal(metricValue(om, 'gateway_offload_total', { function_name: `limited.${NS}`, reason: 'saturated' }), 1);

    // At zero replicas with a 1 ms ready wait: the call goes up, the local wake-up goes on.
    const first = await call(`${other.url}/function/waking`, { body: 'w' });
    t.match(first, { status: 200, text: 'POST w', layer: 'fog', offload: 'edge3=no-ready-replica' });
    await until(async () => (await edge.provider.endpoints('waking')).length === 1, 20_000, 'woken locally');
    const later = await call(`${other.url}/function/waking`, { body: 'w2' });
    t.match(later, { status: 200, text: 'POST w2', layer: 'edge3' });
  });
});
