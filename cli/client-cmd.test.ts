// The client commands (list, invoke, describe, new, deploy, secret, logs,
// remove, login) as real processes against a real `faas-ts up`.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { cliCommand, killGroup, until } from '../test/helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

const cli = cliCommand();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, cwd: string, stdin = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}

t.test('client commands against faas-ts up', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-client-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'data');
  const up = spawn(process.execPath, [...cli, 'up'], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', HOME: base, FAAS_TS_DATA_DIR: dataDir, port: '0', metrics_port: '0' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => killGroup(up.pid));
  let out = '';
  up.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr!.resume();
  await until(() => /^Try:/m.test(out) || up.exitCode !== null, 60_000, 'faas-ts up');
  const gateway = /^Gateway:\s+(\S+)/m.exec(out)![1]!;

  // The local admin password is found through the data dir; faas-cli's config dir is empty.
  const env = { HOME: base, OPENFAAS_URL: gateway, FAAS_TS_DATA_DIR: dataDir, OPENFAAS_CONFIG: join(base, 'openfaas') };
  const cwd = base;

  let r = await runCli(['list'], env, cwd);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Function\s+Invocations\s+Replicas\n/);
  t.match(r.stdout, /\nhello-node\s+\d+\s+1\n/);
  r = await runCli(['list', '-q'], env, cwd);
  t.same(r.stdout.trim().split('\n'), ['echo-python', 'env-probe', 'har-cnn', 'hello-node', 'iot-predict', 'json-transform', 'sieve']);

  await until(async () => (await fetch(`${gateway}/function/hello-node`)).status === 200, 30_000, 'hello-node ready');
  r = await runCli(['invoke', 'hello-node'], env, cwd, 'client');
  t.equal(r.stdout, 'Hello, client! (from hello-node)\n');
  r = await runCli(['invoke', 'echo-python', '-m', 'PUT', '--query', 'a=1', '-H', 'X-Test=yes'], env, cwd, 'body');
  t.match(JSON.parse(r.stdout), { body: 'body', method: 'PUT', query: { a: '1' } });
  r = await runCli(['invoke', 'sieve', '--async'], env, cwd, '');
  t.equal(r.code, 0);
  t.match(r.stderr, /Function submitted asynchronously/);
  r = await runCli(['invoke', 'no-such-fn'], env, cwd, '');
  t.equal(r.code, 1);
  t.match(r.stderr, /unexpected status code: 404/);

  r = await runCli(['describe', 'hello-node'], env, cwd);
  t.match(r.stdout, /Status:\s+Ready/);
  t.match(r.stdout, new RegExp(`URL:\\s+${gateway.replace(/[.]/g, '\\.')}/function/hello-node`));
  r = await runCli(['namespaces'], env, cwd);
  t.equal(r.stdout, 'Namespaces:\n - openfaas-fn\n', 'faas-cli namespace list output');
  r = await runCli(['namespace', 'ls', '--json'], env, cwd);
  t.same(JSON.parse(r.stdout), ['openfaas-fn']);
  r = await runCli(['describe', 'nope'], env, cwd);
  t.match(r, { code: 1, stderr: /no such function: nope/ });

  // new + deploy --build: a fresh function from the node20 template.
  const stackFile = join(base, 'my-stack.yml');
  r = await runCli(['new', 'fresh', '--lang', 'node20', '-f', stackFile], env, cwd);
  t.equal(r.code, 0, r.stderr);
  t.ok((await stat(join(base, 'fresh', 'handler.js'))).isFile());
  t.match(parseYaml(await readFile(stackFile, 'utf8')), { functions: { fresh: { lang: 'node20', handler: './fresh', image: 'fresh:latest' } } });
  r = await runCli(['deploy', '-f', stackFile, '--build'], env, cwd);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Deploying: fresh\.\n  building bundle \(node20\) \.\.\.\nDeployed fresh: 202/, 'progress, then the result');
  await until(async () => (await fetch(`${gateway}/function/fresh`)).status === 200, 30_000, 'fresh ready');
  r = await runCli(['invoke', 'fresh', '--content-type', 'application/json'], env, cwd, '{"a":1}');
  t.match(JSON.parse(r.stdout), { status: 'Received input: {"a":1}' });
  r = await runCli(['deploy', '-f', stackFile], env, cwd);
  t.match(r.stdout, /Deployed fresh \(updated\): 202/, 'a second deploy is an update (PUT)');

  r = await runCli(['secret', 'create', 'api-key', '--from-literal', 's3cr3t'], env, cwd);
  t.equal(r.code, 0, r.stderr);
  r = await runCli(['secret', 'create', 'api-key', '--from-literal', 'again'], env, cwd);
  t.match(r, { code: 1, stderr: /already exists/ });
  r = await runCli(['secret', 'update', 'api-key'], env, cwd, 'n3w\n');
  t.equal(r.code, 0, r.stderr);
  r = await runCli(['secret', 'list'], env, cwd);
  t.match(r.stdout, /^api-key$/m);
  r = await runCli(['secret', 'remove', 'api-key'], env, cwd);
  t.equal(r.code, 0);

  r = await runCli(['logs', 'hello-node', '--tail', '50'], env, cwd);
  t.equal(r.code, 0);
  t.match(r.stdout, /hello-node-\S+ .*POST/);

  r = await runCli(['remove', 'fresh'], env, cwd);
  t.match(r, { code: 0, stdout: /Removed fresh/ });
  r = await runCli(['list', '-q'], env, cwd);
  t.notMatch(r.stdout, /fresh/);

  // Without any credentials the gateway answers 401 and the hint says what to do.
  const bare = { HOME: base, OPENFAAS_URL: gateway, FAAS_TS_DATA_DIR: join(base, 'elsewhere'), OPENFAAS_CONFIG: join(base, 'openfaas') };
  r = await runCli(['list'], bare, cwd);
  t.match(r, { code: 1, stderr: /401.*faas-ts login/ });

  // login checks the password and stores it where faas-cli keeps it.
  r = await runCli(['login', '-p', 'wrong'], bare, cwd);
  t.match(r, { code: 1, stderr: /username or password is incorrect/ });
  const password = (await readFile(join(dataDir, 'gateway-secrets', 'basic-auth-password'), 'utf8')).trim();
  r = await runCli(['login', '--password-stdin'], bare, cwd, `${password}\n`);
  t.equal(r.code, 0, r.stderr);
  const config = parseYaml(await readFile(join(base, 'openfaas', 'config.yml'), 'utf8'));
  t.match(config, { auths: [{ gateway, auth: 'basic', token: Buffer.from(`admin:${password}`).toString('base64') }] });
  t.equal((await stat(join(base, 'openfaas', 'config.yml'))).mode & 0o777, 0o600);
  r = await runCli(['list', '-q'], bare, cwd);
  t.equal(r.code, 0, 'the stored credentials are used');

  up.kill('SIGTERM');
  await new Promise((resolve) => up.once('exit', resolve));
});
