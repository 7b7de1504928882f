// `faas-ts up` end to end: the real CLI process with the local provider, the
// bundled watchdog, the sample stack.yml and the gateway; then SIGTERM, and a
// second start on the same data dir.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliCommand, killGroup, processesUnder, until } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));


interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startUp(t: Test, dataDir: string, extraEnv: Record<string, string> = {}): Running {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    FAAS_TS_DATA_DIR: dataDir,
    FAAS_TS_LOG_LEVEL: 'info',
    port: '0',
    metrics_port: '0',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [...cliCommand(), 'up'], {
    cwd: repo,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => killGroup(child.pid));
  return { child, stdout: () => out, stderr: () => err, exited };
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(text)?.[1]?.trim();
}

/** Every live descendant of `root`, with its start time (to tell a reused pid apart). */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state ppid ... starttime is field 22.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    starts.set(Number(name), rest[19]!);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out = new Map<number, string>();
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.set(c, starts.get(c)!);
      queue.push(c);
    }
  }
  return out;
}

function stillRunning(pid: number, start: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] === start && rest[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitForBanner(run: Running): Promise<{ url: string; user: string; password: string }> {
  await until(
    () => /^Try:/m.test(run.stdout()) || run.child.exitCode !== null,
    60_000,
    'faas-ts up banner',
  );
  if (run.child.exitCode !== null) throw new Error(`faas-ts up exited ${run.child.exitCode}: ${run.stderr()}`);
  const url = field(run.stdout(), 'Gateway')!;
  const user = field(run.stdout(), 'User')!;
  const password = field(run.stdout(), 'Password')!;
  return { url, user, password };
}

async function invoke(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  let last = { status: 0, text: '', headers: new Headers() };
  await until(
    async () => {
      const res = await fetch(url, init);
      last = { status: res.status, text: await res.text(), headers: res.headers };
      return res.status === 200;
    },
    30_000,
    `200 from ${url}`,
  ).catch(() => undefined);
  return last;
}

t.test('faas-ts up: first start, invoke the samples, clean shutdown, restart', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-start-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'data');

  // 1. First start: the password is printed once and stored 0600.
  const first = startUp(t, dataDir);
  const banner = await waitForBanner(first);
  t.match(banner.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(banner.user, 'admin');
  t.match(banner.password, /^[A-Za-z0-9_-]{43}$/, 'a generated password is printed');
  const passwordFile = join(dataDir, 'gateway-secrets', 'basic-auth-password');
  t.equal(readFileSync(passwordFile, 'utf8'), banner.password);
  t.equal((await stat(passwordFile)).mode & 0o777, 0o600);
  t.notMatch(first.stderr(), banner.password, 'the password never reaches the log');

  const auth = `Basic ${Buffer.from(`${banner.user}:${banner.password}`).toString('base64')}`;

  // 2. The sample functions answer through the gateway.
  const hello = await invoke(`${banner.url}/function/hello-node`, { method: 'POST', body: 'faas-ts' });
  t.equal(hello.status, 200, `hello-node: ${hello.text}`);
  t.match(hello.text, /Hello, faas-ts!/);

  const echo = await invoke(`${banner.url}/function/echo-python/some/path?x=1&y=two`, {
    method: 'PUT',
    body: 'ping',
    headers: { 'content-type': 'text/plain' },
  });
  t.equal(echo.status, 200, `echo-python: ${echo.text}`);
  t.match(JSON.parse(echo.text || '{}'), { body: 'ping', method: 'PUT', path: '/some/path', query: { x: '1', y: 'two' } });

  const sieve = await invoke(`${banner.url}/function/sieve?n=100`);
  t.equal(sieve.status, 200, `sieve: ${sieve.text}`);
  t.match(JSON.parse(sieve.text || '{}'), { n: 100, count: 25, largest: 97 });
  const sieveDefault = await invoke(`${banner.url}/function/sieve`, { method: 'POST' });
  t.match(JSON.parse(sieveDefault.text || '{}'), { n: 1000, count: 168 }, 'n defaults to 1000');

  const har = await invoke(`${banner.url}/function/har-cnn?seed=5`);
  t.equal(har.status, 200, `har-cnn: ${har.text}`);
  const prediction = JSON.parse(har.text || '{}') as { activity?: string; probabilities?: number[] };
  t.match(prediction.activity, /^(WALKING|WALKING_UPSTAIRS|WALKING_DOWNSTAIRS|SITTING|STANDING|LAYING)$/);
  t.equal(prediction.probabilities?.length, 6);
  t.ok(Math.abs((prediction.probabilities ?? []).reduce((a, b) => a + b, 0) - 1) < 1e-3, 'probabilities sum to 1');
  const badWindow = await fetch(`${banner.url}/function/har-cnn`, { method: 'POST', body: '{"window": [1, 2]}' });
  t.equal(badWindow.status, 400, 'a malformed window is a 400');

  // Async: queued durably, run by the embedded worker, result posted to the callback URL.
  const callbacks: { headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      callbacks.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => receiver.close(() => r())));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done`;
  const queued = await fetch(`${banner.url}/async-function/sieve?n=30`, {
    method: 'POST',
    headers: { 'X-Callback-Url': callbackUrl },
  });
  t.equal(queued.status, 202, 'async invocation accepted');
  await until(() => callbacks.length > 0, 30_000, 'async callback');
  t.match(JSON.parse(callbacks[0]!.body), { n: 30, count: 10, largest: 29 }, 'the callback carries the result');
  t.match(callbacks[0]!.headers, { 'x-function-status': '200', 'x-function-name': 'sieve' });

  // 3. The management API needs the admin credentials.
  const unauth = await fetch(`${banner.url}/system/functions`);
  t.equal(unauth.status, 401, 'no credentials: 401');
  const wrong = await fetch(`${banner.url}/system/functions`, {
    headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` },
  });
  t.equal(wrong.status, 401, 'wrong password: 401');
  const list = await fetch(`${banner.url}/system/functions`, { headers: { authorization: auth } });
  t.equal(list.status, 200);
  const names = ((await list.json()) as { name: string }[]).map((f) => f.name).sort();
  t.same(names, ['echo-python', 'env-probe', 'har-cnn', 'hello-node', 'iot-predict', 'json-transform', 'sieve']);

  // 4. SIGTERM: exit 0 and no replica process left behind.
  const procs = descendants(first.child.pid!);
  t.ok(procs.size >= 3, `replica processes found (${procs.size})`);
  t.ok(processesUnder(dataDir).length >= 3, 'replicas run in their bundle folders');
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  t.same(exit, { code: 0, signal: null }, `exit 0 after SIGTERM; stderr tail: ${first.stderr().slice(-500)}`);
  await until(() => [...procs].every(([pid, start]) => !stillRunning(pid, start)), 5000, 'replicas gone').catch(() => undefined);
  const left = [...procs].filter(([pid, start]) => stillRunning(pid, start)).map(([pid]) => pid);
  t.same(left, [], 'no replica process outlives faas-ts up');
  t.same(processesUnder(dataDir), [], 'nothing runs in the data dir');

  // 5. Restart on the same data dir: no new password, functions still there.
  const second = startUp(t, dataDir);
  const again = await waitForBanner(second);
  t.match(again.password, /^stored in .*basic-auth-password$/, 'the password is not printed again');
  t.notMatch(second.stdout(), banner.password);
  t.equal(readFileSync(passwordFile, 'utf8'), banner.password, 'the password is unchanged');
  const outcomes = [...second.stderr().matchAll(/"outcome":"(\w+)"/g)].map((m) => m[1]);
  t.same(outcomes, Array(7).fill('unchanged'), 'unchanged functions are not redeployed');
  const list2 = await fetch(`${again.url}/system/functions`, { headers: { authorization: auth } });
  t.equal(list2.status, 200, 'the stored password still works');
  t.same(((await list2.json()) as { name: string }[]).map((f) => f.name).sort(), names);
  const hello2 = await invoke(`${again.url}/function/hello-node`, { method: 'POST', body: 'again' });
  t.match(hello2.text, /Hello, again!/);
  second.child.kill('SIGTERM');
  t.same(await second.exited, { code: 0, signal: null });
});

t.test('faas-ts up: SIGTERM while still starting stops everything it started', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-start-early-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const run = startUp(t, join(base, 'data'));
  // The first function is deployed (its replica is starting) but the gateway is not up yet.
  await until(() => /"outcome":"created"/.test(run.stderr()) || run.child.exitCode !== null, 60_000, 'first deploy');
  const seen = descendants(run.child.pid!);
  run.child.kill('SIGTERM');
  t.same(await run.exited, { code: 0, signal: null }, `exit 0; stderr tail: ${run.stderr().slice(-300)}`);
  await until(() => [...seen].every(([pid, start]) => !stillRunning(pid, start)), 5000, 'replicas gone').catch(() => undefined);
  t.same([...seen].filter(([pid, start]) => stillRunning(pid, start)).map(([pid]) => pid), [], 'no replica left');
  t.same(processesUnder(base), [], 'nothing runs in the data dir, including replicas started after the signal');
});

t.test('faas-ts up: a busy port fails cleanly (exit 1, nothing left running)', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-start-busy-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as AddressInfo).port;
  const run = startUp(t, join(base, 'data'), { port: String(port) });
  const exit = await run.exited;
  t.same(exit, { code: 1, signal: null });
  t.match(run.stderr(), /EADDRINUSE/);
  t.notMatch(run.stdout(), /^Gateway:/m, 'no banner');
  await until(() => processesUnder(base).length === 0, 5000, 'replicas gone').catch(() => undefined);
  t.same(processesUnder(base), [], 'the replicas started before the failure are stopped');
  t.notOk(existsSync(join(base, 'data', 'gateway-secrets', 'basic-auth-password')), 'the unshown password is not kept');
});
