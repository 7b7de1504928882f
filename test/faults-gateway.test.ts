/**
 * Fault injection: kill -9 of the whole `faas-ts up` process (gateway, local
 * provider, embedded file queue and its in-process worker) while sync and
 * async calls run, then a restart on the same data directory.
 *
 * Expectations: deployed functions (from the stack and through the API),
 * secrets and scale state are intact; every state file parses (no torn
 * writes); every async call that was answered 202 runs after recovery (the
 * function itself counts executions through a side effect, not through the
 * callback), and the orphaned replicas of the killed process are reaped.
 * Then a state file torn by a disk fault must not keep the platform down.
 *
 * Already covered elsewhere (not repeated): a clean SIGTERM + restart of
 * `faas-ts up` (test/start.test.ts), kill -9 of a standalone file-queue
 * consumer with pre-queued work and of a producer mid-enqueue
 * (queue-worker/file-queue-crash.test.ts).
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describeCounts, diff, figure, killGroup, spawnUp, startLoad, startSink, tally, unparsableJsonFiles, waitForUp, type UpProcess } from './faults-support.js';
import { processesUnder, until } from './helpers.js';

/** Writes every body it gets to the sink (the side effect counted by the test), then answers. */
const COUNTER = `'use strict';
module.exports = async (event, context) => {
  const body = Buffer.isBuffer(event.body) ? event.body.toString() : String(event.body ?? '');
  const res = await fetch(process.env.sink_url, { method: 'POST', body });
  if (!res.ok) throw new Error('sink answered ' + res.status);
  return context.status(200).succeed('counted ' + body);
};
`;

t.test('kill -9 of faas-ts up under sync + async load, restart on the same data dir', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'faults-gw-'));
  const dataDir = join(base, 'data');
  const sink = await startSink((_h, body) => body);
  const runs: UpProcess[] = [];
  t.teardown(async () => {
    for (const r of runs) killGroup(r.child.pid);
    for (const pid of processesUnder(base)) killGroup(pid);
    await sink.close();
    rmSync(base, { recursive: true, force: true });
  });
  mkdirSync(join(base, 'counter'));
  writeFileSync(join(base, 'counter', 'handler.js'), COUNTER);
  writeFileSync(
    join(base, 'stack.yml'),
    `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
functions:
  counter:
    lang: node20
    handler: ./counter
    image: counter:latest
    environment:
      sink_url: ${sink.url}/exec
`,
  );
  const env = { FAAS_TS_DATA_DIR: dataDir, initial_retry_wait: '100ms', max_retry_wait: '1s', max_inflight: '8' };
  const first = spawnUp(['-f', join(base, 'stack.yml')], env, base);
  runs.push(first);
  const { url } = await waitForUp(first, 50_000);
  const password = /^Password:\s+(\S+)/m.exec(first.stdout())![1]!;
  const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
  const api = async (method: string, path: string, body?: unknown, base = url) => {
    const res = await request(base + path, { method: method as 'GET', headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, text: await res.body.text() };
  };

  // State to survive the crash: a function deployed through the API, a secret, a scale.
  t.equal((await api('POST', '/system/secrets', { name: 'api-key', value: 's3cr3t-value' })).status, 201, 'secret created');
  t.equal(
    (await api('POST', '/system/functions', { service: 'extra', image: 'counter:latest', envVars: { sink_url: `${sink.url}/extra`, colour: 'blue' }, secrets: ['api-key'] })).status,
    202,
    'extra deployed',
  );
  t.equal((await api('POST', '/system/scale-function/counter', { serviceName: 'counter', replicas: 2 })).status, 202, 'counter scaled to 2');
  await until(async () => JSON.parse((await api('GET', '/system/function/counter')).text).availableReplicas === 2, 20_000, 'counter at 2');

  // Load: sync calls and async calls (ids recorded when answered 202).
  let gatewayUrl = url;
  const accepted = new Set<string>();
  const sync = startLoad({
    concurrency: 3,
    maxCalls: 50_000,
    maxMs: 50_000,
    call: async (i) => {
      const res = await request(`${gatewayUrl}/function/counter`, { method: 'POST', body: `s-${i}` });
      await res.body.dump();
      return res.statusCode;
    },
  });
  const async = startLoad({
    concurrency: 3,
    maxCalls: 50_000,
    maxMs: 50_000,
    call: async (i) => {
      const id = `a-${i}`;
      const res = await request(`${gatewayUrl}/async-function/counter`, { method: 'POST', body: id });
      await res.body.dump();
      if (res.statusCode === 202) accepted.add(id);
      return res.statusCode;
    },
  });
  t.teardown(() => Promise.all([sync.stop(), async.stop()]));
  await until(() => sync.counts.ok >= 100 && accepted.size >= 100, 20_000, 'load running');
  const s0 = sync.snapshot();
  const a0 = async.snapshot();
  const acceptedBeforeKill = accepted.size;
  const killedAt = Date.now();
  process.kill(first.child.pid!, 'SIGKILL');
  await first.exited;
  const orphans = processesUnder(join(dataDir, 'bundles'));
  t.ok(orphans.length > 0, 'replicas outlive the killed process (orphans)');

  const second = spawnUp(['-f', join(base, 'stack.yml')], env, base);
  runs.push(second);
  const up2 = await waitForUp(second, 50_000);
  gatewayUrl = up2.url;
  const recoveryMs = Date.now() - killedAt;
  t.match(second.stdout(), /^Password:\s+stored in /m, 'the password is kept, not regenerated');
  const mark = sync.counts.ok;
  await until(() => sync.counts.ok >= mark + 50, 20_000, 'sync calls served after the restart');
  const sWin = diff(sync.snapshot(), s0);
  const aWin = diff(async.snapshot(), a0);
  await Promise.all([sync.stop(), async.stop()]);

  // Every async call answered 202 has run (side effect seen), before or after the kill.
  await until(() => [...accepted].every((id) => sink.seen.has(id)), 40_000, 'every accepted async call executed');
  const asyncSeen = new Map([...sink.seen].filter(([k]) => k.startsWith('a-')));
  const { lost, duplicates } = tally(accepted, asyncSeen);
  t.same(lost, [], `no accepted async call lost (${accepted.size} accepted)`);

  // State: functions, replicas, secrets, env.
  const fns = JSON.parse((await api('GET', '/system/functions', undefined, gatewayUrl)).text) as { name: string; replicas: number; envVars?: Record<string, string>; secrets?: string[] }[];
  const counter = fns.find((f) => f.name === 'counter');
  const extra = fns.find((f) => f.name === 'extra');
  t.equal(counter?.replicas, 2, 'scale state of counter kept (2)');
  t.match(extra, { envVars: { colour: 'blue' }, secrets: ['api-key'] }, 'the API-deployed function is back with its env and secrets');
  t.match(JSON.parse((await api('GET', '/system/secrets', undefined, gatewayUrl)).text), [{ name: 'api-key' }], 'secret listed');
  t.equal(readFileSync(join(dataDir, 'secrets', 'openfaas-fn', 'api-key'), 'utf8'), 's3cr3t-value', 'secret value intact');
  await until(async () => (await request(`${gatewayUrl}/function/extra`, { method: 'POST', body: 'x' })).statusCode === 200, 20_000, 'extra answers');
  const files = unparsableJsonFiles(dataDir);
  t.same(files.bad, [], `every state file parses (${files.checked} checked)`);
  t.ok(files.checked >= 2, 'state files were checked');

  // The killed process's replicas were reaped by the second one (not left running beside the new ones).
  await until(() => { const live = processesUnder(join(dataDir, 'bundles')); return orphans.every((p) => !live.includes(p)); }, 10_000, 'orphan replicas reaped');
  const replicas = processesUnder(join(dataDir, 'bundles'));
  figure(t, 'kill -9 faas-ts up (embedded file queue)', {
    sync: describeCounts(sWin),
    async: describeCounts(aWin),
    asyncAccepted: accepted.size,
    acceptedBeforeKill,
    asyncExecuted: accepted.size - lost.length,
    lost: lost.length,
    duplicates,
    recoveryMs,
    liveReplicaProcs: replicas.length,
  });

  const exit = second.exited;
  second.child.kill('SIGTERM');
  t.match(await exit, { code: 0 }, 'the restarted process still shuts down cleanly');

  // A state file torn anyway (a disk fault; our writes are synced, then renamed):
  // the platform still starts and serves every other function.
  // Was: createLocalProvider threw on the JSON parse error, so `faas-ts up` could not start at all.
  const extraState = join(dataDir, 'state', 'functions', 'openfaas-fn', 'extra.json');
  writeFileSync(extraState, readFileSync(extraState, 'utf8').slice(0, 40));
  const third = spawnUp(['-f', join(base, 'stack.yml')], env, base);
  runs.push(third);
  const up3 = await waitForUp(third, 50_000);
  await until(async () => (await request(`${up3.url}/function/counter`, { method: 'POST', body: 'after-torn' })).statusCode === 200, 20_000, 'counter answers');
  t.match(third.stderr(), /unreadable state file skipped/, 'the torn file is reported in the log');
  const exit3 = third.exited;
  third.child.kill('SIGTERM');
  t.match(await exit3, { code: 0 });
});
