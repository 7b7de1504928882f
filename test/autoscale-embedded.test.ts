/**
 * The embedded rule engine (no Prometheus): the shipped alert.rules.yml,
 * rendered with a shorter `for:` and rate window, evaluated over the
 * gateway's own registry; load → replicas up and ready → load stops →
 * resolved → back to min. Then scale to zero (idler) and the first call
 * after it, with provider-local and real watchdogs; an async call (file
 * queue + queue-worker) wakes a function at zero.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createFileQueue, createQueueWorker } from '../queue-worker/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRules } from '../gateway/scaling/monitoring-config.js';
import { until } from './helpers.js';
import { loadLoop, startStack } from './autoscale-support.js';

t.test('embedded engine scales a loaded function up and back to min', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'autoscale-rules-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const rules = join(dir, 'alert.rules.yml');
  await writeFile(rules, renderRules('alert.rules.yml', { ruleFor: '1s', rateWindow: '3s' }));
  const stack = await startStack({
    embedded_autoscaler: 'true',
    autoscaler_rules: rules,
    autoscaler_eval_interval: '500ms',
    autoscaler_repeat_interval: '2s',
    alert_cooldown: '1s',
  });
  t.teardown(() => stack.stop());
  await stack.deploy('hot', { 'com.openfaas.scale.min': '1', 'com.openfaas.scale.max': '3', 'com.openfaas.scale.factor': '50' });

  const load = loadLoop(stack, 'hot', 40, 30_000);
  t.teardown(() => load.stop());
  await until(async () => (await stack.status('hot')).replicas === 3, 15_000, 'scaled up to max');
  await until(async () => (await stack.status('hot')).availableReplicas === 3, 15_000, 'replicas ready');
  load.stop();
  t.ok((await load.done) > 0);
  await until(async () => (await stack.status('hot')).replicas === 1, 15_000, 'back to min');
  // The decision is counted right after the provider call returns.
  await until(async () => /direction="down",reason="rule_resolved"\} [1-9]/.test(await (await fetch(stack.metricsUrl + '/metrics')).text()), 5000, 'resolved decision');
  const metrics = await (await fetch(stack.metricsUrl + '/metrics')).text();
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="hot\.[^"]+",direction="up",reason="rule_firing"\} [1-9]/);
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="hot\.[^"]+",direction="down",reason="rule_resolved"\} [1-9]/);
});

t.test('a bad rule file stops the gateway from starting, naming the rule', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'autoscale-rules-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const rules = join(dir, 'bad.yml');
  await writeFile(rules, 'groups:\n  - name: g\n    rules:\n      - alert: TooClever\n        expr: histogram_quantile(0.9, x) > 1\n');
  await t.rejects(startStack({ embedded_autoscaler: 'true', autoscaler_rules: rules }), /rule TooClever: unsupported expression/);
});

t.test('idler scales a labelled function to zero; the first call after it is 200', async (t) => {
  const stack = await startStack({ scale_to_zero: 'true', scale_zero_interval: '200ms', scale_zero_duration: '1h' });
  t.teardown(() => stack.stop());
  await stack.deploy('sleepy', { 'com.openfaas.scale.zero': 'true', 'com.openfaas.scale.zero-duration': '1s' });
  await stack.deploy('awake', { 'com.openfaas.scale.zero-duration': '1s' });
  await stack.deploy('lazy', { 'com.openfaas.scale.zero': 'true' });

  // 1. A request in flight for longer than the idle time (2.5 s > 1 s) keeps it up:
  //    watch the replicas for the whole call.
  let done = false;
  const slow = stack.invoke('sleepy', '?sleep=2500').finally(() => (done = true));
  let minSeen = Infinity;
  while (!done) {
    minSeen = Math.min(minSeen, (await stack.status('sleepy')).replicas);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(await slow, 200);
  t.equal(minSeen, 1, 'not idled while a request is in flight');

  // 2. Idle → 0 replicas, no replica process left.
  await until(async () => (await stack.status('sleepy')).replicas === 0, 10_000, 'scaled to zero');
  await until(async () => (await stack.status('sleepy')).availableReplicas === 0, 10_000, 'replica stopped');
  t.equal((await stack.status('awake')).replicas, 1, 'unlabelled function is never idled');
  t.equal((await stack.status('lazy')).replicas, 1, 'default idle time (1h) not reached');

  // 3. The first call wakes it and answers 200; concurrent callers share the wake-up.
  const codes = await Promise.all([stack.invoke('sleepy'), stack.invoke('sleepy'), stack.invoke('sleepy')]);
  t.same(codes, [200, 200, 200]);
  t.equal((await stack.status('sleepy')).replicas, 1);
  // Idle decisions counted: at least the one above (with a 1 s idle time a slow
  // machine may idle the woken function again before this scrape).
  await until(async () => /reason="idle"\} [1-9]/.test(await (await fetch(stack.metricsUrl + '/metrics')).text()), 5000, 'idle decision');
  const metrics = await (await fetch(stack.metricsUrl + '/metrics')).text();
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="sleepy\.[^"]+",direction="down",reason="idle"\} [1-9]/);
});

t.test('an async call wakes a function at zero (the queue-worker invokes through /function)', async (t) => {
  const qdir = await mkdtemp(join(tmpdir(), 'autoscale-queue-'));
  t.teardown(() => rm(qdir, { recursive: true, force: true }));
  const queue = await createFileQueue({ dir: qdir });
  const stack = await startStack({}, undefined, queue);
  const worker = createQueueWorker({ source: queue.source(), gatewayUrl: stack.url });
  t.teardown(async () => {
    await worker.close();
    await stack.stop();
    await queue.close();
  });
  const callbacks: Array<{ status: string | undefined; body: string }> = [];
  const cb = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      callbacks.push({ status: req.headers['x-function-status'] as string | undefined, body });
      res.end();
    });
  });
  await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => cb.close(() => r())));
  const cbUrl = `http://127.0.0.1:${(cb.address() as AddressInfo).port}/cb`;

  await stack.deploy('night', { 'com.openfaas.scale.zero': 'true' });
  t.equal((await stack.api('POST', '/system/scale-function/night', { serviceName: 'night', replicas: 0 })).status, 202);
  await until(async () => (await stack.status('night')).availableReplicas === 0, 10_000, 'at zero');

  const res = await request(`${stack.url}/async-function/night`, { method: 'POST', body: 'wake', headers: { 'x-callback-url': cbUrl } });
  t.equal(res.statusCode, 202);
  await res.body.dump();
  await until(() => callbacks.length > 0, 20_000, 'callback');
  t.equal(callbacks[0]!.status, '200');
  t.equal(callbacks[0]!.body, 'ok');
  t.equal((await stack.status('night')).replicas, 1, 'woken to min');
});
