import t, { type Test } from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findRepoRoot,
  loadBuildConfig,
  loadGatewayOnlyConfig,
  loadUpConfig,
  templateDirs,
  type Runtime,
} from './config.js';
import { CliError } from './errors.js';

const repo = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

async function fixture(t: Test): Promise<{ cwd: string; fakeRepo: string }> {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-config-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const fakeRepo = join(base, 'repo');
  const cwd = join(base, 'work');
  await mkdir(join(fakeRepo, 'dist'), { recursive: true });
  await mkdir(cwd, { recursive: true });
  await writeFile(join(fakeRepo, 'dist', 'fwatchdog.cjs'), '// bundle\n');
  await writeFile(join(fakeRepo, 'stack.yml'), 'functions: {}\n');
  return { cwd, fakeRepo };
}


function rt(cwd: string, repoRoot: string, env: Record<string, string> = {}): Runtime {
  return { env, cwd, repoRoot, execPath: '/usr/bin/node' };
}

t.test('findRepoRoot finds this package from a nested module', async (t) => {
  t.equal(findRepoRoot(join(repo, 'cli', 'main.ts')), repo);
  t.equal(findRepoRoot(join(repo, 'dist', 'cli', 'main.js')), repo);
});

t.test('up: defaults', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  const c = loadUpConfig([], rt(cwd, fakeRepo, { PATH: '/bin' }));
  t.equal(c.dataDir, join(cwd, '.faas-ts'));
  t.equal(c.credentialsDir, join(cwd, '.faas-ts', 'gateway-secrets'));
  t.equal(c.stackFile, join(fakeRepo, 'stack.yml'), 'no stack in the cwd: the repo sample stack');
  t.same(c.templateDirs, [join(fakeRepo, 'template'), join(fakeRepo, 'templates')]);
  t.same(c.watchdogCommand, ['/usr/bin/node', join(fakeRepo, 'dist', 'fwatchdog.cjs')]);
  t.equal(c.deploy, true);
  t.equal(c.logLevel, 'info');
  t.equal(c.gatewayEnv.basic_auth, 'true', 'basic auth on by default');
  t.equal(c.gatewayEnv.secret_mount_path, c.credentialsDir);
  t.equal(c.gatewayEnv.PATH, '/bin', 'other env passes through');
  t.equal(c.gatewayEnv.port, undefined, 'gateway keeps its own port default');
  t.equal(c.queueDir, join(cwd, '.faas-ts', 'queue'));
  t.match(c.worker, { backend: 'file', queueDir: c.queueDir, maxInflight: 1 });
  t.ok(Object.isFrozen(c));
});

t.test('up: env and flags', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  await writeFile(join(cwd, 'stack.yml'), 'functions: {}\n');
  const env = {
    FAAS_TS_DATA_DIR: 'state',
    FAAS_TS_LOG_LEVEL: 'debug',
    port: '9999',
    basic_auth: 'false',
    max_inflight: '4',
    max_retry_attempts: '2',
    faas_nats_address: 'ignored-by-up',
  };
  let c = loadUpConfig([], rt(cwd, fakeRepo, env));
  t.equal(c.dataDir, join(cwd, 'state'), 'FAAS_TS_DATA_DIR relative to the cwd');
  t.equal(c.stackFile, join(cwd, 'stack.yml'), 'stack.yml in the cwd wins over the sample');
  t.same(c.templateDirs, [join(cwd, 'template'), join(cwd, 'templates'), join(fakeRepo, 'templates')]);
  t.equal(c.logLevel, 'debug');
  t.equal(c.gatewayEnv.port, '9999');
  t.equal(c.gatewayEnv.basic_auth, 'false', 'an explicit basic_auth is respected');
  t.match(c.worker, { backend: 'file', maxInflight: 4, retry: { maxAttempts: 2 } }, 'queue-worker env applies to the embedded worker');

  await writeFile(join(cwd, 'other.yml'), 'functions: {}\n');
  c = loadUpConfig(['-f', 'other.yml', '--data-dir', '/tmp/x', '--port', '0', '--skip-deploy'], rt(cwd, fakeRepo, env));
  t.equal(c.stackFile, join(cwd, 'other.yml'));
  t.equal(c.dataDir, '/tmp/x', '--data-dir beats the env');
  t.equal(c.gatewayEnv.port, '0', '--port beats the env');
  t.equal(c.deploy, false);
});

t.test('up: every problem is reported at once', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  await rm(join(fakeRepo, 'dist', 'fwatchdog.cjs'));
  await writeFile(join(cwd, 'a-file'), '');
  const err = (() => {
    try {
      loadUpConfig(
        ['-f', 'missing.yml', '--port', '70000'],
        rt(cwd, fakeRepo, { FAAS_TS_DATA_DIR: 'a-file', FAAS_TS_LOG_LEVEL: 'loud', max_inflight: '0' }),
      );
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(CliError.is(err, 'CLI_ERR_CONFIG'));
  const problems = (err as CliError).problems;
  t.equal(problems.length, 6, problems.join('\n'));
  t.match(problems.join('\n'), /max_inflight/);
  t.match(problems.join('\n'), /not a directory/);
  t.match(problems.join('\n'), /missing\.yml/);
  t.match(problems.join('\n'), /--port "70000"/);
  t.match(problems.join('\n'), /FAAS_TS_LOG_LEVEL="loud"/);
  t.match(problems.join('\n'), /npm run build/);
  t.match((err as Error).message, /--port/, 'the message lists the problems');
});

t.test('up: unknown flags are usage errors', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  t.throws(() => loadUpConfig(['--nope'], rt(cwd, fakeRepo)), { code: 'CLI_ERR_USAGE', exitCode: 2 });
  t.throws(() => loadUpConfig(['extra'], rt(cwd, fakeRepo)), { code: 'CLI_ERR_USAGE' });
});

t.test('build: config and positional function names', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  const c = loadBuildConfig(['--data-dir', 'd', 'fn-a', 'fn-b'], rt(cwd, fakeRepo));
  t.equal(c.dataDir, join(cwd, 'd'));
  t.same(c.only, ['fn-a', 'fn-b']);
  t.throws(() => loadBuildConfig(['-f', 'nope.yml'], rt(cwd, fakeRepo)), { code: 'CLI_ERR_CONFIG' });
});

t.test('gateway: functions_provider_url is required and must be http(s)', async (t) => {
  const { cwd, fakeRepo } = await fixture(t);
  t.throws(() => loadGatewayOnlyConfig([], rt(cwd, fakeRepo)), { code: 'CLI_ERR_CONFIG', problems: [/functions_provider_url is required/] });
  t.throws(() => loadGatewayOnlyConfig([], rt(cwd, fakeRepo, { functions_provider_url: 'ftp://x' })), { code: 'CLI_ERR_CONFIG' });
  const c = loadGatewayOnlyConfig(['--port', '0'], rt(cwd, fakeRepo, { functions_provider_url: 'http://127.0.0.1:8081' }));
  t.equal(c.providerUrl, 'http://127.0.0.1:8081/');
  t.equal(c.gatewayEnv.port, '0');
  t.equal(c.nats, undefined, 'no faas_nats_address: no async queue');

  const withNats = loadGatewayOnlyConfig(
    [],
    rt(cwd, fakeRepo, { functions_provider_url: 'http://p:8081', faas_nats_address: 'nats', faas_nats_channel: 'jobs' }),
  );
  t.match(withNats.nats, { natsUrl: 'nats://nats:4222', subject: 'jobs', stream: 'jobs' });
  t.throws(
    () => loadGatewayOnlyConfig([], rt(cwd, fakeRepo, { functions_provider_url: 'http://p', faas_nats_address: 'n', faas_nats_port: 'x' })),
    { code: 'CLI_ERR_CONFIG', problems: [/faas_nats_port/] },
  );
});

t.test('templateDirs has no duplicates', async (t) => {
  t.same(templateDirs('/r/stack.yml', '/r'), ['/r/template', '/r/templates']);
});
