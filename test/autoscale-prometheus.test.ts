/**
 * The production loop, for real: Debian's prometheus + alertmanager with the
 * shipped deploy/prometheus configs (timings shortened through the renderer's
 * config values), the gateway (basic auth) over provider-local with real
 * watchdogs. Load → APIHighInvocationRate fires → Alertmanager posts to
 * /system/alert → replicas go up (and become ready) → load stops → resolved
 * → back to min.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { until } from './helpers.js';
import { loadLoop, startMonitoring, startStack } from './autoscale-support.js';

const skip = !existsSync('/usr/bin/prometheus') || !existsSync('/usr/bin/prometheus-alertmanager');

t.test('prometheus + alertmanager scale a loaded function up and back', { skip: skip && 'prometheus not installed (scripts/ensure-system-deps.sh)' }, async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.stop());
  await stack.deploy('busy', { 'com.openfaas.scale.max': '4', 'com.openfaas.scale.factor': '50' });
  t.equal((await stack.status('busy')).replicas, 1);

  const mon = await startMonitoring(stack, {
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    ruleFor: '1s',
    rateWindow: '5s',
    groupWait: '1s',
    groupInterval: '2s',
    repeatInterval: '3s',
  });
  t.teardown(() => mon.stop());

  const load = loadLoop(stack, 'busy', 40, 40_000);
  t.teardown(() => load.stop());
  await until(async () => (await stack.status('busy')).replicas >= 3, 25_000, 'scaled up by an alert');
  await until(async () => (await stack.status('busy')).availableReplicas >= 3, 15_000, 'extra replicas ready');
  load.stop();
  t.ok((await load.done) > 0, 'load got 200s');

  await until(async () => (await stack.status('busy')).replicas === 1, 25_000, 'resolved: back to min');
  await until(async () => /reason="alert_resolved"\} [1-9]/.test(await (await fetch(stack.metricsUrl + '/metrics')).text()), 5000, 'resolved decision');
  const metrics = await (await fetch(stack.metricsUrl + '/metrics')).text();
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="busy\.[^"]+",direction="up",reason="alert_firing"\} [1-9]/);
  t.match(metrics, /gateway_scaling_decisions_total\{function_name="busy\.[^"]+",direction="down",reason="alert_resolved"\} [1-9]/);
});
