// The sub-commands as real processes: version/usage, `watchdog` (runs the bundled
// fwatchdog) and `gateway` (the gateway in front of a remote faas-provider, here
// provider-local served over the faas-provider REST API).
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serveProvider } from '../provider/rest.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createFileQueue } from '../queue-worker/index.js';
import { freePort, killGroup, until, watchdogCommand } from '../test/helpers.js';
import { buildFunction } from './build.js';
import { ensureAdminCredentials, PASSWORD_FILE } from './credentials.js';
import { toDeployment } from './deploy.js';
import { loadStack } from './stack.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts')];
const run = promisify(execFile);

function spawnCli(t: Test, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [...cli, ...args], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => killGroup(child.pid));
  return { child: child as ChildProcess, output: () => out, exited };
}

t.test('version, help and usage errors', async (t) => {
  const { stdout } = await run(process.execPath, [...cli, 'version']);
  t.match(stdout, /^faas-ts \d+\.\d+\.\d+ \(node v\d+/);
  const help = await run(process.execPath, [...cli, 'up', '--help']);
  t.match(help.stdout, /Usage: faas-ts up/);
  const none = await run(process.execPath, cli).catch((e: { code: number; stdout: string }) => e);
  t.match(none, { code: 2, stdout: /Commands:/ });
  const unknown = await run(process.execPath, [...cli, 'launch']).catch((e: { code: number; stderr: string }) => e);
  t.match(unknown, { code: 2, stderr: /unknown command "launch".*\n[\s\S]*CLI_ERR_USAGE/ });
  const badFlag = await run(process.execPath, [...cli, 'up', '--bogus']).catch((e: { code: number; stderr: string }) => e);
  t.match(badFlag, { code: 2, stderr: /CLI_ERR_USAGE/ });
});

t.test('`faas-ts watchdog` runs fwatchdog with the env it is given', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-wd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const wd = spawnCli(t, ['watchdog'], {
    mode: 'streaming',
    fprocess: 'cat',
    port: '0',
    metrics_port: '0',
    bind_address: '127.0.0.1',
    lock_path: join(dir, '.lock'),
    write_timeout: '2s',
    healthcheck_interval: '1',
  });
  await until(() => /Listening on port: \d+/.test(wd.output()), 15_000, 'watchdog listening');
  const port = /Listening on port: (\d+)/.exec(wd.output())![1];
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'echo me' });
  t.equal(res.status, 200);
  t.equal(await res.text(), 'echo me');
  wd.child.kill('SIGTERM');
  t.equal(await wd.exited, 0, 'SIGTERM is forwarded and the watchdog drains and exits 0');
});

t.test('`faas-ts gateway` fronts a remote faas-provider', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-gwcmd-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  t.teardown(() => provider.close());
  const stack = await loadStack(join(repo, 'stack.yml'), {});
  const hello = stack.functions.find((f) => f.name === 'hello-node')!;
  const built = await buildFunction(hello, { templateDirs: [join(repo, 'templates')], store: provider.bundles });
  const remote = await serveProvider(provider, { credentials: { user: 'admin', password: 'pw' } });
  t.teardown(() => remote.close());

  // With basic_auth=true the gateway sends its own credentials (secret_mount_path) to the provider.
  const secrets = join(dataDir, 'gw-secrets');
  await ensureAdminCredentials(secrets);
  await writeFile(join(secrets, PASSWORD_FILE), 'pw');

  const gw = spawnCli(t, ['gateway', '--port', '0'], {
    functions_provider_url: remote.url,
    metrics_port: '0',
    basic_auth: 'true',
    secret_mount_path: secrets,
  });
  await until(() => /Gateway: http:\/\/\S+/.test(gw.output()), 15_000, 'gateway banner');
  const url = /Gateway: (http:\/\/\S+)/.exec(gw.output())![1]!;
  const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };

  const info = await fetch(`${url}/system/info`, { headers: auth });
  t.equal(info.status, 200);
  t.match(await info.json(), { provider: { provider: 'faas-ts-local' } }, 'provider info comes from the remote provider');

  const spec = toDeployment(hello, built.template.fprocess);
  const deploy = await fetch(`${url}/system/functions`, { method: 'POST', headers: auth, body: JSON.stringify(spec) });
  t.equal(deploy.status, 202);
  let text = '';
  await until(
    async () => {
      const res = await fetch(`${url}/function/hello-node`, { method: 'POST', body: 'remote' });
      text = await res.text();
      return res.status === 200;
    },
    30_000,
    'hello-node through the gateway and the remote provider',
  );
  t.match(text, /Hello, remote!/);
  t.equal((await fetch(`${url}/system/functions`)).status, 401, 'the gateway itself asks for auth');

  gw.child.kill('SIGTERM');
  t.equal(await gw.exited, 0);
});

t.test('`faas-ts gateway` without functions_provider_url is a config error', async (t) => {
  const res = await run(process.execPath, [...cli, 'gateway'], { env: { PATH: process.env.PATH ?? '' } }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.match(res, { code: 1, stderr: /functions_provider_url is required[\s\S]*CLI_ERR_CONFIG/ });
});

t.test('`faas-ts queue-worker` delivers queued invocations from the file queue', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-qw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const seen: { method: string; url: string; body: string }[] = [];
  const gateway = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body });
      res.writeHead(200).end('done');
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => gateway.close(() => r())));

  // Queued while no worker runs: the queue is durable.
  const queue = await createFileQueue({ dir: join(dir, 'queue') });
  await queue.enqueue({ Method: 'POST', Path: '/', Function: 'sieve', QueryString: 'n=10', Body: Buffer.from('x').toString('base64') });
  await queue.close();

  const qw = spawnCli(t, ['queue-worker'], {
    queue_dir: join(dir, 'queue'),
    faas_gateway_address: '127.0.0.1',
    faas_gateway_port: String((gateway.address() as AddressInfo).port),
    metrics_port: '0',
  });
  await until(() => seen.length > 0, 20_000, 'queued invocation delivered');
  t.match(seen[0], { method: 'POST', url: /^\/function\/sieve(\/)?\?n=10$/, body: 'x' });
  t.match(qw.output(), /Queue worker: file queue .*queue → http:\/\/127\.0\.0\.1:\d+/);
  const metrics = /Metrics:\s+(\S+)/.exec(qw.output())?.[1];
  t.ok(metrics, 'metrics URL printed');
  t.equal((await fetch(metrics!)).status, 200);
  qw.child.kill('SIGTERM');
  t.equal(await qw.exited, 0, 'drains and exits 0 on SIGTERM');
});

const NATS_SERVER = '/usr/sbin/nats-server';

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

t.test('`faas-ts gateway` + `faas-ts queue-worker` run async invocations through NATS JetStream', { skip: !existsSync(NATS_SERVER) && 'nats-server not installed' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-nats-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const natsPort = await freePort();
  const nats = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(dir, 'js')], { stdio: 'ignore', detached: true });
  t.teardown(() => killGroup(nats.pid));
  await until(() => tcpOpen(natsPort), 10_000, 'nats-server listening');

  const provider = await createLocalProvider({ dataDir: join(dir, 'data'), watchdogCommand: watchdogCommand() });
  t.teardown(() => provider.close());
  const stack = await loadStack(join(repo, 'stack.yml'), {});
  const sieve = stack.functions.find((f) => f.name === 'sieve')!;
  const built = await buildFunction(sieve, { templateDirs: [join(repo, 'templates')], store: provider.bundles });
  await provider.deploy(toDeployment(sieve, built.template.fprocess));
  const remote = await serveProvider(provider);
  t.teardown(() => remote.close());

  const natsEnv = { faas_nats_address: '127.0.0.1', faas_nats_port: String(natsPort) };
  const gw = spawnCli(t, ['gateway', '--port', '0'], { functions_provider_url: remote.url, metrics_port: '0', ...natsEnv });
  await until(() => /^Async: /m.test(gw.output()) || gw.child.exitCode !== null, 20_000, 'gateway banner');
  const url = /Gateway: (http:\/\/\S+)/.exec(gw.output())?.[1];
  t.ok(url, gw.output());
  t.match(gw.output(), new RegExp(`Async: .*nats://127\\.0\\.0\\.1:${natsPort} \\(stream faas-request\\)`));

  const callbacks: { status: string | string[] | undefined; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      callbacks.push({ status: req.headers['x-function-status'], body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => receiver.close(() => r())));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;

  // Accepted and stored before any worker runs.
  const queued = await fetch(`${url}/async-function/sieve?n=50`, { method: 'POST', headers: { 'X-Callback-Url': callbackUrl } });
  t.equal(queued.status, 202);

  const gwPort = new URL(url!).port;
  const qw = spawnCli(t, ['queue-worker'], { ...natsEnv, faas_gateway_address: '127.0.0.1', faas_gateway_port: gwPort });
  await until(() => callbacks.length > 0, 30_000, 'callback from the queue worker');
  t.equal(callbacks[0]!.status, '200');
  t.match(JSON.parse(callbacks[0]!.body), { n: 50, count: 15, largest: 47 });

  qw.child.kill('SIGTERM');
  gw.child.kill('SIGTERM');
  t.equal(await qw.exited, 0);
  t.equal(await gw.exited, 0);
});
