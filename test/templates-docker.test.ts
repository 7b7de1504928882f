/**
 * Docker form of every template: `faas-ts build --docker --build-arg
 * BASE_IMAGE=<local base>` (faas-cli's ./build/<fn>/ layout, then `docker build`)
 * on a function made from each template's own handler skeleton, the container run
 * with its port published on 127.0.0.1, HEALTHCHECK and /_/health awaited, and the
 * function invoked. No registry is needed: the templates' base image is a build ARG,
 * and the local bases come from this machine's own files
 * (scripts/images/build-runtime-base.sh, build-python-base.sh; both cached by a
 * hash of their inputs, so a rerun costs well under a second each). The watchdog
 * image (FROM scratch + dist/fwatchdog.cjs) is tagged by the bundle's hash and kept.
 * Skips only when no Docker engine can be reached or started.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerCli, ensureSwarm } from './docker.js';
import { until } from './helpers.js';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const RUNTIME_BASE = 'faas-ts/runtime-base:20';
const PYTHON_BASE = 'faas-ts/python-base:3';

/**
 * node:http rather than fetch: docker-proxy accepts a connection before the
 * container listens and then drops it, which can leave a fetch() promise
 * pending with no handle alive (the process then simply exits).
 */
function call(url: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'text/plain' };
    const req = request(url, { method, headers, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

interface Case {
  fn: string;
  lang: string;
  base: string;
  /** Extra `docker run` environment (node20's http mode is the same image). */
  runs: { label: string; env: string[]; method: string; body?: string; expect: RegExp | string }[];
}

const CASES: Case[] = [
  {
    fn: 'node20',
    lang: 'node20',
    base: RUNTIME_BASE,
    runs: [
      { label: 'inproc mode', env: [], method: 'POST', body: 'hi', expect: /^\{"status":"Received input: \\"hi\\""\}$/ },
      { label: 'http mode', env: ['-e', 'mode=http'], method: 'POST', body: 'hi', expect: /^\{"status":"Received input: \\"hi\\""\}$/ },
    ],
  },
  {
    fn: 'python3-http',
    lang: 'python3-http',
    base: PYTHON_BASE,
    runs: [{ label: 'http mode', env: [], method: 'GET', expect: 'Hello from OpenFaaS!' }],
  },
  {
    fn: 'python3',
    lang: 'python3',
    base: PYTHON_BASE,
    runs: [{ label: 'classic mode', env: [], method: 'POST', body: 'hello py', expect: 'hello py' }],
  },
  {
    fn: 'bash-streaming',
    lang: 'bash-streaming',
    base: RUNTIME_BASE,
    runs: [{ label: 'streaming mode', env: [], method: 'POST', body: 'one\ntwo\n', expect: 'one\ntwo\n' }],
  },
  {
    fn: 'dockerfile',
    lang: 'dockerfile',
    base: RUNTIME_BASE,
    runs: [{ label: 'classic mode (cat)', env: [], method: 'PUT', body: 'as is', expect: 'as is' }],
  },
];

const noDocker = await ensureSwarm().then(
  () => false as const,
  (err: Error) => `no Docker engine could be reached or started: ${err.message}`,
);

/** FROM scratch image holding the watchdog bundle, tagged by its content. */
async function ensureWatchdogImage(): Promise<string> {
  const bundle = join(repo, 'dist', 'fwatchdog.cjs');
  const hash = createHash('sha256').update(await readFile(bundle)).digest('hex').slice(0, 12);
  const tag = `faas-ts-test/watchdog:${hash}`;
  if (await dockerCli(['image', 'inspect', tag]).then(() => false, () => true)) {
    const ctx = await mkdtemp(join(tmpdir(), 'tpl-watchdog-'));
    try {
      await cp(bundle, join(ctx, 'fwatchdog.cjs'));
      await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY fwatchdog.cjs /fwatchdog\n');
      await run('docker', ['build', '-q', '-t', tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 60_000 });
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
  }
  return tag;
}

t.test('every template: faas-ts build --docker on a local base → container → invoke', { skip: noDocker }, async (t) => {
  const t0 = Date.now();
  await run(join(repo, 'scripts/images/build-runtime-base.sh'), [RUNTIME_BASE], { timeout: 300_000 });
  await run(join(repo, 'scripts/images/build-python-base.sh'), [PYTHON_BASE], { timeout: 300_000 });
  const watchdogImage = await ensureWatchdogImage();
  t.comment(`bases and watchdog image ready in ${Date.now() - t0} ms`);

  const base = await mkdtemp(join(tmpdir(), 'tpl-docker-'));
  const tag = (c: Case) => `faas-ts-test/tpl-${c.fn}:${process.pid}`;
  const containers: string[] = [];
  t.teardown(async () => {
    if (containers.length > 0) await dockerCli(['rm', '-f', ...containers]).catch(() => undefined);
    await dockerCli(['rmi', '-f', ...CASES.map(tag)]).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });
  let stack = 'version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n';
  for (const c of CASES) {
    // the template's own handler skeleton, as `faas-ts new` would give it
    await cp(join(repo, 'templates', c.lang, 'function'), join(base, c.fn), { recursive: true });
    stack += `  ${c.fn}:\n    lang: ${c.lang}\n    handler: ./${c.fn}\n    image: ${tag(c)}\n`;
  }
  await writeFile(join(base, 'stack.yml'), stack);

  // one `faas-ts build --docker` per base image (--build-arg applies to every function built)
  for (const b of [RUNTIME_BASE, PYTHON_BASE]) {
    const fns = CASES.filter((c) => c.base === b).map((c) => c.fn);
    const tb = Date.now();
    const { stdout } = await run(
      process.execPath,
      [
        '--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts'),
        'build', '--docker', '--data-dir', join(base, 'data'),
        '--build-arg', `BASE_IMAGE=${b}`, '--build-arg', `WATCHDOG_IMAGE=${watchdogImage}`,
        ...fns,
      ],
      { cwd: base, env: { PATH: process.env.PATH ?? '', DOCKER_BUILDKIT: '0', HOME: base }, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    for (const [i, fn] of fns.entries()) {
      t.match(stdout, new RegExp(`\\[${i + 1}/${fns.length}\\] ${fn}: image .* built in \\d+ ms`), `${fn}: built FROM ${b}`);
    }
    t.comment(`${fns.join(', ')} built in ${Date.now() - tb} ms`);
  }

  for (const c of CASES) {
    const img = tag(c);
    t.equal(await dockerCli(['image', 'inspect', img, '--format', '{{.Config.User}}']), '1000:1000', `${c.fn}: non-root`);
    t.match(await dockerCli(['image', 'inspect', img, '--format', '{{json .Config.Healthcheck.Test}}']), /_\/health/, `${c.fn}: HEALTHCHECK on /_/health`);
  }

  // start every container at once (they are independent), then check each
  const started = await Promise.all(
    CASES.flatMap((c) =>
      c.runs.map(async (r) => {
        const id = await dockerCli(['run', '-d', '-p', '127.0.0.1::8080', ...r.env, tag(c)]);
        containers.push(id);
        const port = (await dockerCli(['port', id, '8080/tcp'])).split('\n')[0]!.split(':').pop();
        return { c, r, id, url: `http://127.0.0.1:${port}` };
      }),
    ),
  );
  for (const { c, r, id, url } of started) {
    const what = `${c.fn} (${r.label})`;
    await until(async () => (await call(`${url}/_/health`).catch(() => ({ status: 0 }))).status === 200, 30_000, `${what}: /_/health 200`);
    const res = await call(url, r.method, r.body);
    t.equal(res.status, 200, `${what}: status`);
    if (typeof r.expect === 'string') t.equal(res.text, r.expect, `${what}: answer`);
    else t.match(res.text, r.expect, `${what}: answer`);
    // the local bases have no uid 1000: the Dockerfile added it as "app"
    t.equal(await dockerCli(['exec', id, 'id', '-un']), 'app', `${what}: runs as app`);
    t.equal(await dockerCli(['exec', id, 'id', '-u']), '1000', `${what}: runs as uid 1000`);
    await until(
      async () => (await dockerCli(['inspect', id, '--format', '{{.State.Health.Status}}'])) === 'healthy',
      30_000,
      `${what}: HEALTHCHECK healthy`,
    );
  }
  t.comment(`whole test ${Date.now() - t0} ms`);
});
