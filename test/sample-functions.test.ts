/**
 * The repository's stack.yml as `faas-ts up` deploys it (with `${VAR:-default}`
 * substitution from the env), and the sample functions added for the research
 * workloads and for testing: iot-predict (logistic regression shipped as
 * model.json), json-transform (I/O), env-probe (sleep / env / secret).
 */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { findRepoRoot, loadUpConfig } from '../cli/config.js';
import { runUp } from '../cli/up.js';
import { until } from './helpers.js';

const repo = findRepoRoot();
const model = JSON.parse(await readFile(join(repo, 'functions/iot-predict/model.json'), 'utf8')) as {
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
  training: { accuracy: number };
};

t.test('stack.yml sample functions on faas-ts up', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'samples-'));
  const env = { IOT_PREDICT_MAX_REPLICAS: '3' };
  const config = loadUpConfig(['-f', join(repo, 'stack.yml'), '--port', '0'], {
    env: { ...env, FAAS_TS_DATA_DIR: join(base, 'data'), metrics_port: '0' },
    cwd: base,
    repoRoot: repo,
    execPath: process.execPath,
  });
  const up = await runUp(config, { print: () => undefined, logger: pino({ level: 'silent' }), env });
  t.teardown(async () => {
    await up.close();
    await rm(base, { recursive: true, force: true });
  });
  const post = async (path: string, body?: unknown) => {
    let res: Response | undefined;
    await until(async () => {
      res = await fetch(`${up.url}${path}`, body === undefined ? {} : { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return res.status !== 502 && res.status !== 503;
    }, 30_000, `${path} ready`);
    return { status: res!.status, json: (await res!.json()) as Record<string, unknown> };
  };
  const password = (await readFile(join(config.credentialsDir, 'basic-auth-password'), 'utf8')).trim();
  const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };

  await t.test('${VAR:-default} substitution reached the deployment', async (t) => {
    const fns = (await (await fetch(`${up.url}/system/functions`, { headers: auth })).json()) as { name: string; labels?: Record<string, string>; envVars?: Record<string, string> }[];
    t.same(fns.map((f) => f.name).sort(), ['echo-python', 'env-probe', 'har-cnn', 'hello-node', 'iot-predict', 'json-transform', 'sieve']);
    t.equal(fns.find((f) => f.name === 'iot-predict')?.labels?.['com.openfaas.scale.max'], '3', 'set variable wins');
    t.equal(fns.find((f) => f.name === 'env-probe')?.envVars?.PROBE_GREETING, 'hello from env-probe', 'unset variable: the default');
  });

  await t.test('iot-predict: the shipped model, single and batch', async (t) => {
    t.ok(model.training.accuracy > 0.8, 'model.json was fitted (training accuracy recorded)');
    const hot = [95, 6.5, 4.5, 50, 1900];
    const calm = [62, 1.8, 5.2, 40, 1300];
    const expected = (x: number[]) => 1 / (1 + Math.exp(-(model.bias + x.reduce((s, v, i) => s + model.weights[i]! * ((v - model.mean[i]!) / model.std[i]!), 0))));
    let r = await post('/function/iot-predict', { features: hot });
    t.equal(r.status, 200);
    t.equal(r.json.label, 'failure');
    t.ok(Math.abs((r.json.probability as number) - expected(hot)) < 1e-5, 'same arithmetic as the model file');
    r = await post('/function/iot-predict', { features: { temperature_c: 62, vibration_mm_s: 1.8, pressure_bar: 5.2, humidity_pct: 40, rpm: 1300 } });
    t.equal(r.json.label, 'normal', 'named features');
    r = await post('/function/iot-predict', { instances: [hot, calm] });
    t.same((r.json.predictions as { label: string }[]).map((p) => p.label), ['failure', 'normal']);
    r = await post('/function/iot-predict', { features: [1, 2] });
    t.equal(r.status, 400);
    t.match(r.json.error, /expected 5 finite numbers/);
  });

  await t.test('json-transform: per-device statistics', async (t) => {
    const r = await post('/function/json-transform', {
      readings: [
        { device: 'b', metric: 'temp', value: 20, ts: 2 },
        { device: 'a', metric: 'temp', value: 10, ts: 5 },
        { device: 'a', metric: 'temp', value: 30, ts: 1 },
        { device: 'a', metric: 'hum', value: 50 },
        { device: 'a', metric: 'temp', value: 'n/a' },
      ],
    });
    t.equal(r.status, 200);
    t.same(r.json, {
      devices: [
        { device: 'a', metrics: { hum: { count: 1, min: 50, max: 50, mean: 50, first: null, last: null }, temp: { count: 2, min: 10, max: 30, mean: 20, first: 1, last: 5 } } },
        { device: 'b', metrics: { temp: { count: 1, min: 20, max: 20, mean: 20, first: 2, last: 2 } } },
      ],
      accepted: 4,
      rejected: 1,
    });
    t.equal((await post('/function/json-transform', 'not json')).status, 400);
  });

  await t.test('env-probe: sleep, env, secret', async (t) => {
    let r = await post('/function/env-probe?sleep=50&env=PROBE_GREETING');
    t.equal(r.status, 200);
    t.same(r.json.env, { PROBE_GREETING: 'hello from env-probe' });
    t.equal(r.json.slept, 50);
    t.equal((await post('/function/env-probe?fail=418&sleep=0')).status, 418);
    // Deploy a copy with a secret: the same bundle, as faas-cli deploy --secret would.
    let res = await fetch(`${up.url}/system/secrets`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'probe-key', value: 's3cret' }) });
    t.ok([200, 201, 202].includes(res.status));
    res = await fetch(`${up.url}/system/functions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'env-probe-secret', image: 'env-probe:latest', secrets: ['probe-key'], labels: {}, annotations: {} }) });
    t.equal(res.status, 202);
    r = await post('/function/env-probe-secret?secret=probe-key');
    t.same(r.json.secret, { 'probe-key': 's3cret' });
    t.equal((await post('/function/env-probe-secret?secret=nope')).status, 404);
  });
});
