/** Health, readiness, lock file, max_inflight, metrics, flags, bad env and graceful drain. */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import t from 'tap';

import { freePort, request, spawnWatchdog, startWatchdog, until } from './fixtures/harness.js';

t.test('bad env → Error loading config, exit 1 (checklist 2, 4, 6, 7)', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ fprocess: '' }, /provide a "function_process" or "fprocess"/],
    [{ fprocess: 'cat', write_timeout: '0' }, /write_timeout/],
    [{ fprocess: 'cat', mode: 'http' }, /upstream_url/],
    [{ fprocess: 'cat', mode: 'bogus' }, /mode: unknown mode "bogus"/],
    [{ fprocess: 'cat', log_buffer_size: 'abc' }, /log_buffer_size: not an integer: "abc"/],
    [{ fprocess: 'cat', metrics_port: 'x', restart_policy: 'y' }, /metrics_port.*restart_policy/],
  ];
  await Promise.all(
    cases.map(async ([env, re]) => {
      const w = spawnWatchdog(t, env);
      const { code } = await w.exited;
      t.equal(code, 1, JSON.stringify(env));
      t.match(w.stderr(), /Error loading config: /);
      t.match(w.stderr(), re);
    }),
  );
});

t.test('-version and -run-healthcheck (checklist 14)', async (t) => {
  const v = spawnWatchdog(t, {}, ['-version']);
  t.equal((await v.exited).code, 0);
  t.match(v.stdout(), /^Version: \S+\tSHA: \S+\n$/);

  const noLock = spawnWatchdog(t, { fprocess: 'cat' }, ['-run-healthcheck']);
  t.equal((await noLock.exited).code, 1);
  t.match(noLock.stderr(), /unable to find lock file\./);

  const w = await startWatchdog(t, { fprocess: 'cat' });
  const hc = spawnWatchdog(t, { fprocess: 'cat', lock_path: w.lockPath }, ['-run-healthcheck']);
  t.equal((await hc.exited).code, 0);

  const noConfig = spawnWatchdog(t, { lock_path: w.lockPath }, ['-run-healthcheck']);
  t.equal((await noConfig.exited).code, 1, 'config is parsed before the health check');
});

t.test('health, ready and the lock file (checklist 9, 10, 11)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat' });
  t.ok(existsSync(w.lockPath), 'lock file written');
  const h = await request(w.port, { path: '/_/health' });
  t.equal(h.status, 200);
  t.equal(h.text, 'OK');
  t.equal((await request(w.port, { path: '/_/health', method: 'POST' })).status, 405);
  const r = await request(w.port, { path: '/_/ready' });
  t.equal(r.status, 200);
  t.equal(r.text, '');
  t.equal((await request(w.port, { path: '/_/ready', method: 'PUT' })).status, 405);
  t.equal((await request(w.port, { path: '/_/health/' })).status, 200, 'trailing slash goes to the function');

  rmSync(w.lockPath);
  t.equal((await request(w.port, { path: '/_/health' })).status, 503);
  t.equal((await request(w.port, { path: '/_/ready' })).status, 503);
  writeFileSync(w.lockPath, '');
  t.equal((await request(w.port, { path: '/_/health' })).status, 200);
  t.equal((await request(w.port, { path: '/_/ready' })).status, 200);
});

t.test('suppress_lock: no file, health 503 (checklist 15, upstream quirk kept)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', suppress_lock: 'true' });
  await until(() => /suppress_lock/.test(w.stderr()), 5000);
  t.notOk(existsSync(w.lockPath));
  t.equal((await request(w.port, { path: '/_/health' })).status, 503);
});

t.test('lock file cannot be written → non-zero exit with a hint', async (t) => {
  const w0 = spawnWatchdog(t, {}, ['-version']);
  await w0.exited;
  const file = `${w0.dir}/plain-file`;
  writeFileSync(file, '');
  const w = spawnWatchdog(t, { fprocess: 'cat', lock_path: `${file}/.lock` });
  t.not((await w.exited).code, 0);
  t.match(w.stderr(), /suppress_lock=true/);
});

t.test('max_inflight=1 → 429 for function and ready (checklist 12, 33)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'sleep 2', max_inflight: '1', metrics_port: '0' });
  const slow = request(w.port);
  await until(async () => (await request(w.port, { path: '/_/ready' })).status === 429, 5000, 'ready 429');
  const r = await request(w.port, { method: 'POST' });
  t.equal(r.status, 429);
  t.equal(r.text, 'Concurrent request limit exceeded. Max concurrent requests: 1\n');
  t.equal(r.headers['x-openfaas-internal'], 'faas-middleware');
  t.equal(r.headers['content-type'], 'text/plain');
  t.equal((await request(w.port, { path: '/_/health' })).status, 200, 'health is not limited');
  t.equal((await slow).status, 200);
  t.equal((await request(w.port, { path: '/_/ready' })).status, 200);
  const m = await request(w.port, { path: '/_/metrics' });
  t.match(m.text, /http_requests_total\{code="429",method="post"\} 1/);
  t.match(m.text, /http_requests_total\{code="200",method="get"\} 1/);
});

t.test('max_inflight under concurrency: never more than N at once', async (t) => {
  // The children outlive the burst (2 s), so exactly N of the burst are admitted.
  const w = await startWatchdog(t, { fprocess: 'sleep 2', max_inflight: '3' });
  const results = await Promise.all(Array.from({ length: 12 }, () => request(w.port)));
  t.equal(results.filter((r) => r.status === 200).length, 3, 'admitted');
  t.equal(results.filter((r) => r.status === 429).length, 9, 'rejected');
});

t.test('metrics on the metrics port and /_/metrics (checklist 33, 34)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', metrics_port: '0' });
  const m0 = await request(w.port, { path: '/_/metrics' });
  t.match(m0.text, /^http_requests_in_flight 0$/m);
  t.notMatch(m0.text, /http_requests_total\{/);
  await request(w.port, { method: 'POST', body: 'x' });
  await request(w.port, { path: '/_/health' });
  await request(w.port, { method: 'BREW' }).catch(() => undefined);
  const m = await request(w.port, { path: '/_/metrics' });
  t.match(m.text, /http_requests_total\{code="200",method="post"\} 1/);
  t.match(m.text, /http_request_duration_seconds_bucket\{le="0.005",code="200",method="post"\}/);
  for (const le of ['0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '\\+Inf']) {
    t.match(m.text, new RegExp(`http_request_duration_seconds_bucket\\{le="${le}",code="200",method="post"\\}`));
  }
  t.notMatch(m.text, /method="get"/, 'health not instrumented');
});

t.test('separate metrics listener', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'cat', metrics_port: String(await freePort()) });
  t.ok(w.metricsPort);
  const m = await request(w.metricsPort!, { path: '/metrics' });
  t.equal(m.status, 200);
  t.match(m.text, /http_requests_in_flight 0/);
  t.equal((await request(w.metricsPort!, { path: '/other' })).status, 404);

  // A second watchdog on the same metrics port keeps running; metrics stay on /_/metrics.
  const second = spawnWatchdog(t, { fprocess: 'cat', metrics_port: String(w.metricsPort) });
  await until(() => /Metrics listener failed on port/.test(second.stderr()), 10_000, 'metrics bind failure logged');
  const port = Number(/Listening on port: (\d+)/.exec(second.stderr())![1]);
  t.match((await request(port, { path: '/_/metrics' })).text, /http_requests_in_flight 0/);
});

t.test('SIGTERM drain: lock removed, health 503, in-flight finishes, exit 0 (checklist 35)', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'sh -c sleep${IFS}1.5;echo${IFS}done', healthcheck_interval: '700ms', write_timeout: '10s' });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const inflight = request(w.port);
  await until(() => /Forking|Started logging: stderr/.test(w.stderr()), 5000, 'request started');
  w.proc.kill('SIGTERM');
  await until(() => !existsSync(w.lockPath), 5000, 'lock removed');
  t.equal((await request(w.port, { path: '/_/health' })).status, 503, 'health 503 while draining');
  t.equal((await request(w.port, { path: '/_/ready' })).status, 503);
  const during = await request(w.port, { method: 'POST', body: 'still' });
  t.equal(during.status, 200, 'new requests served during healthcheck_interval');
  const r = await inflight;
  t.equal(r.status, 200);
  t.equal(r.text, 'done\n', 'in-flight request completed');
  const { code } = await w.exited;
  t.equal(code, 0);
  await t.rejects(request(w.port, { path: '/_/health' }), 'listener closed');
});

t.test('SIGTERM drain waits at most write_timeout', async (t) => {
  const w = await startWatchdog(t, { fprocess: 'sleep 30', healthcheck_interval: '100ms', write_timeout: '1s', exec_timeout: '0' });
  const inflight = request(w.port).catch((e: Error) => e);
  await until(() => /Started logging: stderr/.test(w.stderr()), 5000);
  const start = Date.now();
  w.proc.kill('SIGTERM');
  const { code } = await w.exited;
  t.equal(code, 0);
  t.ok(Date.now() - start < 5000, 'did not wait for the 30s child');
  await inflight;
});
