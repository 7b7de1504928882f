/** The runnable entry (main.ts) as a real process: bad config, metrics endpoint, SIGTERM. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../test/helpers.js';
import { createFileQueue } from './index.js';
import { adopt, queueRequest, startRecordingServer, stopChild } from './test-support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'queue-worker/main.ts');

t.test('bad configuration: exit 2, every bad variable named on stderr', async (t) => {
  const child = adopt(
    spawn(process.execPath, ['--import', 'tsx', main], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', max_inflight: 'lots', ack_wait: 'forever', retry_http_codes: '999' },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 2);
  for (const name of ['max_inflight', 'ack_wait', 'retry_http_codes']) t.match(stderr, name);
});

t.test('file-queue worker process: serves /metrics, runs work, drains on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qw-main-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fn = await startRecordingServer((_r, res) => res.writeHead(200).end('ok'));
  t.teardown(() => fn.close());
  const q = await createFileQueue({ dir: join(dir, 'q') });
  for (let i = 0; i < 10; i++) await q.enqueue(queueRequest('metered', String(i)) as never);
  await q.close();
  const u = new URL(fn.url);
  const log = join(dir, 'worker.log');
  const { openSync } = await import('node:fs');
  const child = adopt(
    spawn(process.execPath, ['--import', 'tsx', main], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        queue_dir: join(dir, 'q'),
        faas_gateway_address: u.hostname,
        faas_gateway_port: u.port,
        max_inflight: '4',
        metrics_port: '0',
      },
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    }),
  );
  t.teardown(() => stopChild(child));
  let metricsUrl = '';
  await until(
    () => {
      const m = /"metricsUrl":"([^"]+)"/.exec(readFileSync(log, 'utf8'));
      if (m) metricsUrl = m[1]!;
      return !!m;
    },
    20_000,
    'worker started',
  );
  await until(() => fn.requests.length === 10, 10_000, 'ten invocations');
  let text = '';
  await until(
    async () => {
      text = await (await fetch(`${metricsUrl}/metrics`)).text();
      return /queue_worker_invocations_total\{function="metered",code="200"\} 10/.test(text);
    },
    5000,
    'metrics',
  );
  t.match(text, /queue_worker_queued_messages 0/);
  t.match(text, /queue_worker_invocation_duration_seconds_count\{function="metered"\} 10/);
  t.equal((await fetch(`${metricsUrl}/healthz`)).status, 200);
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  child.kill('SIGTERM');
  t.equal(await exit, 0);
  const reopened = await createFileQueue({ dir: join(dir, 'q') });
  t.equal(reopened.stats().live, 0, 'all acked before exit');
  await reopened.close();
});
