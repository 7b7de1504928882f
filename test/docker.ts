/**
 * Test setup for everything that needs a real Docker engine in swarm mode
 * (provider-swarm, deploy/swarm). Idempotent and shared between test files:
 * - dockerd: used if it answers; otherwise started here (detached, with
 *   DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1, log in /tmp/dockerd.log) and left
 *   running for later test files — it is machine state like an installed package.
 *   Missing binaries: scripts/ensure-system-deps.sh installs docker.io.
 * - swarm: `docker swarm init --advertise-addr 127.0.0.1` when the node is not active.
 * - images: the Node base (scripts/images/build-base.sh) and the test function
 *   image, each built only when its tag is missing (or the inputs changed: the
 *   function tag carries a hash of the watchdog bundle and the handler files).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { until } from './helpers.js';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;

export const BASE_IMAGE = 'faas-ts/node-base:20';
export const DOCKER_SOCKET = '/var/run/docker.sock';

async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], 10_000);
    return true;
  } catch {
    return false;
  }
}

/** Make sure dockerd runs and the node is an active swarm manager. Returns the engine version. */
export async function ensureSwarm(): Promise<string> {
  if (!(await dockerAnswers())) {
    if (!existsSync('/usr/sbin/dockerd') && !existsSync('/usr/bin/dockerd')) {
      await run('bash', [join(repo, 'scripts/ensure-system-deps.sh')], { timeout: 600_000 });
    }
    const log = openSync('/tmp/dockerd.log', 'a');
    const child = spawn('dockerd', [], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
    });
    child.unref();
    await until(dockerAnswers, 60_000, 'dockerd answering (see /tmp/dockerd.log)');
  }
  const state = await docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
  if (state !== 'active') {
    try {
      await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    } catch (err) {
      // another test file may have initialised it at the same moment
      if ((await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])) !== 'active') throw err;
    }
  }
  return docker(['version', '--format', '{{.Server.Version}}']);
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', '--format', '{{.Id}}', tag], 20_000);
    return true;
  } catch {
    return false;
  }
}

function hashFiles(paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    h.update(p);
    h.update(readFileSync(p));
  }
  return h.digest('hex').slice(0, 12);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * The test function image (provider-swarm/testdata/echo on templates/node20 and the
 * bundled watchdog), built once per content hash. Needs dist/fwatchdog.cjs.
 */
export async function ensureTestFunctionImage(): Promise<string> {
  const watchdog = join(repo, 'dist/fwatchdog.cjs');
  if (!existsSync(watchdog)) throw new Error('dist/fwatchdog.cjs missing: run `npm run build:watchdog` first');
  if (!(await imageExists(BASE_IMAGE))) await run(join(repo, 'scripts/images/build-base.sh'), [BASE_IMAGE], { timeout: 120_000 });
  const handler = join(repo, 'provider-swarm/testdata/echo');
  const template = join(repo, 'templates/node20');
  const inputs = [
    watchdog,
    join(repo, 'scripts/images/function.Dockerfile'),
    ...filesUnder(handler),
    ...['index.js', 'package.json'].map((f) => join(template, f)).filter(existsSync),
  ];
  const tag = `faas-ts-test/echo:${hashFiles(inputs)}`;
  if (!(await imageExists(tag))) {
    await run(join(repo, 'scripts/images/build-function.sh'), [tag, handler, template], { timeout: 180_000 });
  }
  return tag;
}

/** Remove every service, secret, config and network whose name starts with `prefix`. */
export async function removeByPrefix(prefix: string): Promise<void> {
  const names = async (kind: string) =>
    (await docker([kind, 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(prefix));
  const services = await names('service');
  if (services.length > 0) await docker(['service', 'rm', ...services]).catch(() => undefined);
  // secrets can be removed once no service references them (task containers may still be stopping)
  for (const kind of ['secret', 'config']) {
    const list = await names(kind);
    if (list.length > 0) {
      await until(async () => {
        await docker([kind, 'rm', ...list]).catch(() => undefined);
        return (await names(kind)).length === 0;
      }, 30_000, `${kind}s with prefix ${prefix} removed`).catch(() => undefined);
    }
  }
  const networks = await names('network');
  if (networks.length > 0) {
    await until(async () => {
      await docker(['network', 'rm', ...networks]).catch(() => undefined);
      return (await names('network')).length === 0;
    }, 30_000, `networks with prefix ${prefix} removed`).catch(() => undefined);
  }
}

/** Containers of one swarm service (running ones). */
export async function serviceContainers(service: string): Promise<string[]> {
  const out = await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]);
  return out ? out.split('\n') : [];
}

export { docker as dockerCli };

export const CLASSIC_IMAGE = 'functions/alpine:latest';

/**
 * A classic-mode watchdog image (scripts/images/build-classic.sh): the bundled watchdog
 * forking the service's fprocess per request, with the host's coreutils. By default the
 * tag the OpenFaaS certifier deploys (`functions/alpine:latest`), so that name resolves
 * to a local image on a node with no registry. Rebuilt when the image's `faas-ts.inputs`
 * label (a hash of the watchdog bundle, the build files and the interval) differs.
 */
export async function ensureClassicImage(tag = CLASSIC_IMAGE, healthcheckInterval = '2s'): Promise<string> {
  const watchdog = join(repo, 'dist/fwatchdog.cjs');
  if (!existsSync(watchdog)) throw new Error('dist/fwatchdog.cjs missing: run `npm run build:watchdog` first');
  if (!(await imageExists(BASE_IMAGE))) await run(join(repo, 'scripts/images/build-base.sh'), [BASE_IMAGE], { timeout: 120_000 });
  const inputs = hashFiles([watchdog, ...['classic.Dockerfile', 'build-classic.sh'].map((f) => join(repo, 'scripts/images', f))]) + `-${healthcheckInterval}`;
  const current = await docker(['image', 'inspect', '--format', '{{index .Config.Labels "faas-ts.inputs"}}', tag], 20_000).catch(() => '');
  if (current !== inputs) {
    await run(join(repo, 'scripts/images/build-classic.sh'), [tag, healthcheckInterval], {
      timeout: 180_000,
      env: { ...process.env, LABEL: `faas-ts.inputs=${inputs}` },
    });
  }
  return tag;
}
