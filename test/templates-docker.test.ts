/**
 * Docker form of a template: `faas-ts build --docker` on a function of the
 * `dockerfile` template (faas-cli's ./build/<fn>/ layout, then `docker build`),
 * its container run with the port published on 127.0.0.1 and invoked.
 * The Dockerfile starts FROM the local Node base (scripts/images/build-base.sh,
 * built from this machine's node: no registry needed).
 * Skips only when no Docker engine can be reached or started.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BASE_IMAGE, dockerCli, ensureSwarm } from './docker.js';
import { until } from './helpers.js';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;

const DOCKERFILE = `FROM ${BASE_IMAGE}
COPY fwatchdog.cjs /usr/lib/faas-ts/fwatchdog.cjs
WORKDIR /home/app
COPY --chown=1000:1000 echo.js ./
USER 1000:1000
ENV mode="classic" fprocess="node echo.js" write_debug="false"
HEALTHCHECK --interval=1s --timeout=5s --retries=3 CMD ["node", "-e", "process.exit(require('fs').existsSync('/tmp/.lock') ? 0 : 1)"]
EXPOSE 8080
CMD ["node", "/usr/lib/faas-ts/fwatchdog.cjs"]
`;
const ECHO = `let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => process.stdout.write('docker says: ' + s + ' (' + process.env.Http_Method + ', uid ' + process.getuid() + ')'));\n`;

/**
 * node:http rather than fetch: docker-proxy accepts a connection before the
 * container listens and then drops it, which can leave a fetch() promise
 * pending with no handle alive (the process then simply exits).
 */
function call(url: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, timeout: 5000 }, (res) => {
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

const noDocker = await ensureSwarm().then(
  () => false as const,
  (err: Error) => `no Docker engine could be reached or started: ${err.message}`,
);

t.test('dockerfile template: faas-ts build --docker → container → invoke', { skip: noDocker }, async (t) => {
  if (!(await dockerCli(['image', 'inspect', BASE_IMAGE]).then(() => true, () => false))) {
    await run(join(repo, 'scripts/images/build-base.sh'), [BASE_IMAGE], { timeout: 120_000 });
  }
  const base = await mkdtemp(join(tmpdir(), 'tpl-docker-'));
  const tag = `faas-ts-test/tpl-dockerfile:${process.pid}`;
  let container = '';
  t.teardown(async () => {
    if (container) await dockerCli(['rm', '-f', container]).catch(() => undefined);
    await dockerCli(['rmi', '-f', tag]).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });
  await mkdir(join(base, 'fn'));
  await writeFile(join(base, 'fn', 'Dockerfile'), DOCKERFILE);
  await writeFile(join(base, 'fn', 'echo.js'), ECHO);
  await copyFile(join(repo, 'dist', 'fwatchdog.cjs'), join(base, 'fn', 'fwatchdog.cjs'));
  await writeFile(join(base, 'stack.yml'), `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  fn:\n    lang: dockerfile\n    handler: ./fn\n    image: ${tag}\n`);

  const { stdout } = await run(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts'), 'build', '--docker', '--data-dir', join(base, 'data')],
    { cwd: base, env: { PATH: process.env.PATH ?? '', DOCKER_BUILDKIT: '0', HOME: base }, timeout: 180_000 },
  );
  t.match(stdout, /\[1\/1\] fn: docker build --tag faas-ts-test\/tpl-dockerfile/, 'progress line');
  t.match(stdout, /\[1\/1\] fn: \| /, "docker's output relayed");
  t.match(stdout, /\[1\/1\] fn: image .* built in \d+ ms/);
  t.equal(await dockerCli(['image', 'inspect', tag, '--format', '{{.Config.User}}']), '1000:1000', 'non-root');

  container = await dockerCli(['run', '-d', '-p', '127.0.0.1::8080', tag]);
  const port = (await dockerCli(['port', container, '8080/tcp'])).split('\n')[0]!.split(':').pop();
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await call(`${url}/_/health`)).status === 200, 30_000, 'container healthy');
  const res = await call(url, 'PUT', 'hi');
  t.equal(res.status, 200);
  t.equal(res.text, 'docker says: hi (PUT, uid 1000)');
  await until(async () => (await dockerCli(['inspect', container, '--format', '{{.State.Health.Status}}'])) === 'healthy', 30_000, 'HEALTHCHECK healthy');
});
