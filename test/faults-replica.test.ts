/**
 * Fault injection, provider-local: kill -9 of a function replica's process
 * (the http-mode function server under its watchdog) and of a replica's
 * fwatchdog itself, each while a bounded concurrent load runs through a real
 * gateway against two functions. The bystander function must not lose a
 * call; the victim's other replica keeps serving; the killed replica comes
 * back; the failure is in the function logs and in /metrics. Also a replica
 * that stops answering (SIGSTOP of its process group): taken out by the
 * health check, the calls stuck on it end with 502 after upstream_timeout.
 *
 * Already covered elsewhere (not repeated): a crashed replica restarted
 * without load (provider-local/lifecycle.test.ts), watchdog restart policy of
 * its child (watchdog/http-mode.test.ts).
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { makeTestProvider, ready, READY_MS, collect } from '../provider-local/test-fixtures.js';
import { describeCounts, diff, figure, startLoad } from './faults-support.js';
import { until } from './helpers.js';

/** Direct children of `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === ppid && rest[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

t.test('kill -9 of a function process and of a watchdog under load', async (t) => {
  const registry = new Registry();
  const tp = await makeTestProvider({ timings: { stopGraceMs: 3000, backoffInitialMs: 100 }, registry });
  const { provider } = tp;
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', upstream_timeout: '3s' }), { provider, registry });
  t.teardown(async () => {
    await gw.close();
    await tp.cleanup();
  });
  await provider.deploy({ service: 'victim', image: 'hello-http', labels: { 'com.openfaas.scale.min': '2' } });
  await provider.deploy({ service: 'bystander', image: 'hello-http' });
  await ready(provider, 'victim', 2);
  await ready(provider, 'bystander', 1);

  const call = async (name: string) => {
    const res = await request(`${gw.url}/function/${name}`, { method: 'POST', body: 'x' });
    await res.body.dump();
    return res.statusCode;
  };
  const metrics = async () => (await (await request(`${gw.url}/metrics`)).body.text());

  for (const target of ['function process', 'watchdog'] as const) {
    await t.test(`kill -9 the ${target} of one victim replica`, async (t) => {
      const victimFailures = (text: string) =>
        metric(text, 'gateway_function_invocation_total', { function_name: 'victim.openfaas-fn' }) -
        metric(text, 'gateway_function_invocation_total', { function_name: 'victim.openfaas-fn', code: '200' });
      const failuresBefore = victimFailures(await metrics());
      const victims = startLoad({ concurrency: 4, maxCalls: 20_000, maxMs: 25_000, call: () => call('victim') });
      const bystanders = startLoad({ concurrency: 4, maxCalls: 20_000, maxMs: 25_000, call: () => call('bystander') });
      await until(() => victims.counts.ok >= 50 && bystanders.counts.ok >= 50, 10_000, 'load running');
      const [first] = provider.replicas('victim');
      const restartsBefore = first!.restarts;
      const watchdogPid = first!.pid!;
      const [fnPid] = childrenOf(watchdogPid);
      t.ok(fnPid, 'the watchdog has a function process');
      const v0 = victims.snapshot();
      const b0 = bystanders.snapshot();
      const killedAt = Date.now();
      process.kill(target === 'watchdog' ? watchdogPid : fnPid!, 'SIGKILL');

      // Recovery: the killed replica serves again (same instance, a new process).
      await until(
        () => {
          const r = provider.replicas('victim').find((x) => x.id === first!.id);
          if (!r || r.state !== 'ready') return false;
          return target === 'watchdog' ? r.pid !== watchdogPid : childrenOf(watchdogPid).some((p) => p !== fnPid);
        },
        READY_MS,
        'killed replica ready again',
      );
      const recoveryMs = Date.now() - killedAt;
      // Some calls after recovery, so the restarted replica takes traffic.
      const mark = victims.counts.ok;
      await until(() => victims.counts.ok >= mark + 50, 10_000, 'victim served after recovery');
      const v = diff(victims.snapshot(), v0);
      const b = diff(bystanders.snapshot(), b0);
      await Promise.all([victims.stop(), bystanders.stop()]);

      t.equal(b.failed, 0, `bystander function lost no call during the fault (${describeCounts(b)})`);
      t.ok(v.ok > 0, `the victim's other replica kept serving (${describeCounts(v)})`);
      const after = provider.replicas('victim').find((x) => x.id === first!.id)!;
      if (target === 'watchdog') t.ok(after.restarts > restartsBefore, 'the provider counted a restart');

      const text = await metrics();
      const all = diff(victims.counts, { attempted: 0, ok: 0, failed: 0, byOutcome: {} });
      t.equal(
        victimFailures(text) - failuresBefore,
        all.failed,
        'every failed victim call is counted by status in gateway_function_invocation_total',
      );
      if (target === 'watchdog') {
        t.ok(
          metric(text, 'provider_local_replica_restarts_total', { function_name: 'victim.openfaas-fn' }) >= 1,
          'provider_local_replica_restarts_total counts the restart',
        );
        const logs = await collect(provider.logs({ name: 'victim', follow: false }, new AbortController().signal));
        t.ok(logs.some((m) => /killed by SIGKILL; restarting/.test(m.text)), 'the kill is in the function logs');
      } else {
        const logs = await collect(provider.logs({ name: 'victim', follow: false }, new AbortController().signal));
        t.ok(logs.some((m) => /Forked function has terminated/.test(m.text)), "the watchdog's note about its dead child is in the function logs");
      }
      figure(t, `kill -9 ${target} (provider-local)`, {
        victim: describeCounts(v),
        bystander: describeCounts(b),
        recoveryMs,
      });
    });
  }

  await t.test('a replica that stops answering (SIGSTOP) is taken out; calls stuck on it end with a bounded 5xx', async (t) => {
    const victims = startLoad({ concurrency: 4, maxCalls: 20_000, maxMs: 30_000, call: () => call('victim') });
    const bystanders = startLoad({ concurrency: 4, maxCalls: 20_000, maxMs: 30_000, call: () => call('bystander') });
    await until(() => victims.counts.ok >= 50 && bystanders.counts.ok >= 50, 10_000, 'load running');
    const [frozen] = provider.replicas('victim').filter((r) => r.state === 'ready');
    const v0 = victims.snapshot();
    const b0 = bystanders.snapshot();
    const frozenAt = Date.now();
    process.kill(-frozen!.pid!, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(-frozen!.pid!, 'SIGCONT');
      } catch {
        // gone
      }
    });
    await until(() => provider.replicas('victim').find((r) => r.id === frozen!.id)?.state !== 'ready', 20_000, 'frozen replica taken out by the health check');
    const outMs = Date.now() - frozenAt;
    // Calls that were routed to it before it was taken out end with 502 after upstream_timeout.
    await until(() => (victims.counts.byOutcome['502'] ?? 0) > (v0.byOutcome['502'] ?? 0), 10_000, 'a stuck call answered 502');
    const mark = victims.counts.ok;
    await until(() => victims.counts.ok >= mark + 50, 10_000, 'the victim is served by its other replica');
    process.kill(-frozen!.pid!, 'SIGCONT');
    await until(() => provider.replicas('victim').find((r) => r.id === frozen!.id)?.state === 'ready', 20_000, 'thawed replica ready again');
    const backMs = Date.now() - frozenAt;
    const v = diff(victims.snapshot(), v0);
    const b = diff(bystanders.snapshot(), b0);
    await Promise.all([victims.stop(), bystanders.stop()]);
    t.equal(b.failed, 0, `bystander function lost no call (${describeCounts(b)})`);
    t.ok(Object.keys(v.byOutcome).every((k) => k === '200' || k === '502'), `victim calls: 200, or 502 for the ones stuck on the frozen replica (${describeCounts(v)})`);
    t.ok(v.failed < v.ok, `only the calls that reached the frozen replica failed (${v.failed} of ${v.attempted})`);
    figure(t, 'SIGSTOP a watchdog (provider-local)', { victim: describeCounts(v), bystander: describeCounts(b), takenOutMs: outMs, readyAgainMs: backMs });
  });
});
