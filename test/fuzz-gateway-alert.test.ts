/**
 * Property-based fuzzing of POST /system/alert (the Alertmanager webhook)
 * against `faas-ts up` as a real child process: payloads of every shape
 * (wrong types, missing labels, non-object alerts) for functions whose
 * scaling labels (com.openfaas.scale.min/max/factor) are garbage. Answers
 * must be 200, the spec's 400 `Unable to parse alert, bad format.` or a 500
 * with one `[i] error` line per failed scale call; replicas must stay a sane
 * integer; the gateway must survive with bounded RSS.
 *
 * Seed: fixed (reproducible); FUZZ_SEED=random or FUZZ_SEED=<n> to vary.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  FN,
  Tally,
  call,
  checkRss,
  checkUnharmed,
  expectAnswer,
  fuzzSeed,
  property,
  send,
  type Answer,
  settledRssKiB,
  startFuzzGateway,
} from './fuzz-gateway-support.js';

const seed = fuzzSeed();
const tally = new Tally();

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const stringOrNull = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/**
 * The payload shape upstream's json.Unmarshal accepts for the keys it reads
 * (spec §2.7): an object; status and receiver strings; alerts an array of
 * objects with a string status and labels an object of strings; null = absent.
 */
function wellFormed(p: unknown): boolean {
  if (!isObject(p) || !stringOrNull(p.status) || !stringOrNull(p.receiver)) return false;
  if (p.alerts === undefined || p.alerts === null) return true;
  if (!Array.isArray(p.alerts)) return false;
  return p.alerts.every(
    (a) => isObject(a) && stringOrNull(a.status) && (a.labels === undefined || a.labels === null || (isObject(a.labels) && Object.values(a.labels).every(stringOrNull))),
  );
}

/** Alertmanager-like payloads, well-formed or not, naming functions from `fnName`. */
function payloadOf(fnName: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const alert = fc.oneof(
    fc.record(
      {
        status: fc.oneof(fc.constantFrom('firing', 'resolved', 'FIRING', ''), fc.jsonValue({ maxDepth: 1 })),
        labels: fc.oneof(
          fc.record({ alertname: fc.oneof(fc.constant('APIHighInvocationRate'), fc.jsonValue({ maxDepth: 1 })), function_name: fc.oneof(fnName, fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const payload = fc.oneof(
    fc.record({ status: fc.jsonValue({ maxDepth: 1 }), receiver: fc.jsonValue({ maxDepth: 1 }), alerts: fc.oneof(fc.array(alert, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  return payload;
}

/** 200 (or 500 with one `[i] error` line per failed scale) for a well-formed payload, else upstream's 400. */
function checkAlertAnswer(a: Answer, p: unknown, what: string): void {
  if (wellFormed(p)) {
    expectAnswer(a, [200, 500], what, { newline: false });
    if (a.status === 500 && !/^(\[\d+\] [^\n]+\n)+$/.test(a.text)) throw new Error(`${what}: 500 body ${JSON.stringify(a.text)}`);
  } else {
    expectAnswer(a, [400], what, { newline: false });
    if (a.text !== 'Unable to parse alert, bad format.') throw new Error(`${what}: 400 body ${JSON.stringify(a.text)}`);
  }
}

t.test('Alertmanager webhook under fuzzing', async (t) => {
  const gw = await startFuzzGateway(t);
  for (let i = 0; i < 20; i++) await call(gw, 'GET', '/system/functions');
  const rssBefore = await settledRssKiB(gw);

  await t.test('payload shapes: 400 exactly when upstream could not decode it', async (t) => {
    // Functions that do not exist (or cannot): every well-formed payload is a no-op 200.
    const payload = payloadOf(fc.constantFrom('fz-none', '', 'A.B', '../x', 'fz-none.BAD', 'x.y.z', '.', 'fz-none.openfaas-fn'));
    await property(
      t,
      'alert shapes',
      payload,
      async (p) => {
        const a = await send(gw, tally, 'POST /system/alert', 'POST', '/system/alert', { body: JSON.stringify(p) });
        checkAlertAnswer(a, p, `alert ${JSON.stringify(p).slice(0, 300)}`);
      },
      600,
    );
    // Wrong types in the keys that are read were accepted (200, alert ignored) before; upstream cannot decode them.
    for (const body of ['{"alerts":[[]]}', '{"alerts":[{"labels":[]}]}', '{"alerts":[{"labels":{"function_name":1}}]}', '{"alerts":[{"status":true}]}', '{"status":1}', '{"receiver":{}}']) {
      const a = await send(gw, tally, 'POST /system/alert', 'POST', '/system/alert', { body });
      t.equal(a.status, 400, body);
      t.equal(a.text, 'Unable to parse alert, bad format.');
    }
    for (const body of ['{}', '{"alerts":null}', '{"alerts":[{"labels":null,"status":null}]}', '{"alerts":[{"labels":{"function_name":null}}]}']) {
      t.equal((await send(gw, tally, 'POST /system/alert', 'POST', '/system/alert', { body })).status, 200, body);
    }
  });

  await t.test('functions with garbage scaling labels', async (t) => {
    // A second function whose scaling labels are garbage: alerts must still be a clean answer.
    const base = JSON.parse((await call(gw, 'GET', `/system/function/${FN}`)).text) as Record<string, unknown>;
    // Garbage and edge values. A numeric min starts that many replicas at deploy (provider-local
    // caps at 50) and a firing step adds ceil(max * factor / 100): those stay small so the campaign
    // measures the gateway, not 50 node processes starting on a 2-core machine.
    const garbage = ['abc', '-1', '1.5', '', ' 2 ', '1e2', 'NaN', 'Infinity', '0x10'];
    const limits = fc.record({
      'com.openfaas.scale.min': fc.option(fc.constantFrom(...garbage, '0', '2'), { nil: undefined }),
      'com.openfaas.scale.max': fc.option(fc.constantFrom(...garbage, '0', '3', '99999999999999999999'), { nil: undefined }),
      'com.openfaas.scale.factor': fc.option(fc.constantFrom(...garbage, '0', '3', '101', '99999999999999999999'), { nil: undefined }),
    });
    const payload = payloadOf(fc.constantFrom('fz-labels', `fz-labels.openfaas-fn`, 'fz-none', '', 'A.B', '../x', 'fz-labels.BAD', 'x.y.z', FN));
    let deployed = 0;
    await property(
      t,
      'alerts',
      fc.tuple(limits, fc.array(payload, { minLength: 1, maxLength: 8 })),
      async ([labels, payloads]) => {
        const clean = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== undefined)) as Record<string, string>;
        // scale.min 0 (or garbage) keeps the deploy cheap; replicas start only on a firing alert.
        const spec = { ...base, service: 'fz-labels', name: undefined, labels: { ...clean, 'com.openfaas.scale.min': clean['com.openfaas.scale.min'] ?? '0' } };
        for (const k of ['name', 'replicas', 'availableReplicas', 'createdAt', 'invocationCount', 'usage']) delete (spec as Record<string, unknown>)[k];
        const d = await send(gw, tally, 'POST /system/functions', 'POST', '/system/functions', { body: JSON.stringify(spec) });
        if (d.status !== 202) throw new Error(`deploy fz-labels ${JSON.stringify(clean)}: ${d.status} ${d.text}`);
        deployed++;
        for (const p of payloads) {
          const a = await send(gw, tally, 'POST /system/alert', 'POST', '/system/alert', { body: JSON.stringify(p) });
          checkAlertAnswer(a, p, `alert ${JSON.stringify(p).slice(0, 200)} labels ${JSON.stringify(clean)}`);
        }
        const st = JSON.parse((await call(gw, 'GET', '/system/function/fz-labels')).text) as { replicas?: number };
        const r = st.replicas ?? 0;
        if (!Number.isInteger(r) || r < 0 || r > 50) throw new Error(`fz-labels replicas ${r} after alerts (labels ${JSON.stringify(clean)})`);
      },
      60,
    );
    t.ok(deployed > 0);
    const rm = await send(gw, tally, 'DELETE /system/functions', 'DELETE', '/system/functions', { body: JSON.stringify({ functionName: 'fz-labels' }) });
    t.equal(rm.status, 202, 'fz-labels removed');
  });

  const rssAfter = await settledRssKiB(gw);
  await checkUnharmed(t, gw);
  checkRss(t, rssBefore, rssAfter);
  for (const line of tally.lines()) t.comment(line);
  t.comment(`crashes=0 RSS before=${rssBefore} KiB after=${rssAfter} KiB seed=${seed}`);
});
