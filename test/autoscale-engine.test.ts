/**
 * The embedded rule engine, tick by tick on an injected clock: rate over a
 * window, `for:`, repeat while firing, resolved once, counter resets, the
 * gauge form and label matchers, over a real prom-client Registry.
 */
import t, { type Test } from 'tap';
import { Counter, Gauge, Registry } from 'prom-client';
import type { AlertPayload } from '../gateway/scaling/index.js';
import { createRuleEngine, loadRules } from '../gateway/scaling/index.js';

const RULES = `groups:
  - name: g
    rules:
      - alert: HighRate
        expr: sum(rate(calls_total{code="200"}[10s])) by (function_name) > 5
        for: 3s
        labels: { service: gateway, severity: major }
      - alert: Busy
        expr: sum by (function_name) (inflight{function_name=~"slow.*"}) >= 3
`;

function setup(t: Test) {
  const registry = new Registry();
  const calls = new Counter({ name: 'calls_total', help: 'h', labelNames: ['function_name', 'code'], registers: [registry] });
  const inflight = new Gauge({ name: 'inflight', help: 'h', labelNames: ['function_name'], registers: [registry] });
  let clock = 0;
  const sent: Array<{ status: string; fn: string; alertname: string; labels: Record<string, string> }> = [];
  const engine = createRuleEngine({
    rules: loadRules(RULES),
    registry,
    handler: {
      async handle(p: AlertPayload) {
        for (const a of p.alerts) sent.push({ status: a.status, fn: a.labels.function_name!, alertname: a.labels.alertname!, labels: a.labels });
        return [];
      },
    },
    evalIntervalMs: 3_600_000, // only manual ticks
    repeatIntervalMs: 5_000,
    now: () => clock,
  });
  t.teardown(() => engine.close());
  const step = async (ms: number, perSecond: number, fn = 'a.ns', code = '200') => {
    calls.inc({ function_name: fn, code }, (perSecond * ms) / 1000);
    clock += ms;
    await engine.tick();
  };
  return { calls, inflight, step, sent, engine, tickAt: async (ms: number) => ((clock += ms), engine.tick()) };
}

t.test('rate above threshold fires after for:, repeats, resolves once', async (t) => {
  const { step, sent } = setup(t);
  await step(1000, 0);
  await step(1000, 20); // rate 20/s from the first sample; pending
  await step(1000, 20);
  await step(1000, 20);
  t.same(sent, [], 'not before for: 3s');
  await step(1000, 20);
  t.equal(sent.length, 1);
  t.match(sent[0], { status: 'firing', fn: 'a.ns', alertname: 'HighRate', labels: { service: 'gateway', severity: 'major' } });
  for (let i = 0; i < 5; i++) await step(1000, 20);
  t.equal(sent.length, 2, 'repeated after repeatInterval');
  // Load stops: the 10 s window drains.
  for (let i = 0; i < 12 && sent.at(-1)!.status === 'firing'; i++) await step(1000, 0);
  t.equal(sent.at(-1)!.status, 'resolved');
  const n = sent.length;
  for (let i = 0; i < 5; i++) await step(1000, 0);
  t.equal(sent.length, n, 'resolved is sent once');
});

t.test('other codes do not count; a function below the threshold does not fire', async (t) => {
  const { step, sent } = setup(t);
  for (let i = 0; i < 8; i++) await step(1000, 50, 'a.ns', '500');
  t.same(sent, [], 'code="500" excluded by the matcher');
  for (let i = 0; i < 8; i++) await step(1000, 3, 'b.ns');
  t.same(sent, [], '3/s is below 5');
});

t.test('a counter reset is not a negative rate', async (t) => {
  const { step, sent, calls } = setup(t);
  for (let i = 0; i < 3; i++) await step(1000, 20);
  calls.reset();
  for (let i = 0; i < 4; i++) await step(1000, 20);
  t.equal(sent.filter((s) => s.status === 'firing').length, 1);
});

t.test('gauge form with a regex matcher, no for:', async (t) => {
  const { inflight, sent, tickAt } = setup(t);
  inflight.set({ function_name: 'slow.ns' }, 3);
  inflight.set({ function_name: 'fast.ns' }, 10);
  await tickAt(1000);
  t.same(sent.map((s) => [s.status, s.fn, s.alertname]), [['firing', 'slow.ns', 'Busy']]);
  inflight.set({ function_name: 'slow.ns' }, 1);
  await tickAt(1000);
  t.same(sent.at(-1), { status: 'resolved', fn: 'slow.ns', alertname: 'Busy', labels: sent[0]!.labels });
});
