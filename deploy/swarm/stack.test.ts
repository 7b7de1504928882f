/**
 * deploy/swarm/stack.yml: it parses, names images built from this repository
 * (a Dockerfile per component), uses the no-IPVS settings (dnsrr, host-mode
 * ports) and refers only to files that exist; `docker stack config` accepts it
 * when the CLI has that command.
 *
 * Opt-in (FAAS_TS_STACK_DEPLOY=1, about a minute): build the images, deploy the
 * whole stack under a test name on a free port, deploy a function through the
 * gateway, invoke it, and remove everything.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { dockerCli, ensureSwarm, ensureTestFunctionImage } from '../../test/docker.js';
import { freePort, until } from '../../test/helpers.js';

const run = promisify(execFile);
const here = dirname(new URL(import.meta.url).pathname);
const stackFile = join(here, 'stack.yml');

interface ComposeService {
  image: string;
  ports?: Array<{ target: number; published: string | number; mode?: string }>;
  environment?: Record<string, string>;
  configs?: Array<{ source: string; target: string }>;
  secrets?: string[];
  networks?: string[];
  volumes?: string[];
  deploy?: { endpoint_mode?: string; placement?: { constraints?: string[] } };
}

const stack = parse(readFileSync(stackFile, 'utf8')) as {
  version: string;
  services: Record<string, ComposeService>;
  configs: Record<string, { file: string }>;
  networks: Record<string, { driver: string; attachable: boolean; labels: Record<string, string> }>;
  secrets: Record<string, { external: boolean }>;
};

const DOCKERFILE: Record<string, string> = {
  gateway: 'gateway.Dockerfile',
  'provider-swarm': 'provider.Dockerfile',
  'queue-worker': 'queue-worker.Dockerfile',
  nats: 'nats.Dockerfile',
  prometheus: 'prometheus.Dockerfile',
  alertmanager: 'alertmanager.Dockerfile',
};

t.test('stack.yml structure', async (t) => {
  t.same(Object.keys(stack.services).sort(), ['alertmanager', 'gateway', 'nats', 'prometheus', 'provider', 'queue-worker']);
  for (const [name, svc] of Object.entries(stack.services)) {
    const m = /^\$\{FAAS_TS_IMAGE_PREFIX:-faas-ts\}\/([a-z-]+):\$\{FAAS_TS_TAG:-dev\}$/.exec(svc.image);
    t.ok(m, `${name}: image built from this repo (${svc.image})`);
    t.ok(m && DOCKERFILE[m[1]!] && existsSync(join(here, 'docker', DOCKERFILE[m[1]!]!)), `${name}: has a Dockerfile`);
    t.equal(svc.deploy?.endpoint_mode, 'dnsrr', `${name}: dnsrr (no VIP, works without IPVS)`);
    for (const p of svc.ports ?? []) t.equal(p.mode, 'host', `${name}: host-mode port ${p.target}`);
    t.same(svc.networks, ['functions'], `${name}: on the functions network`);
    for (const c of svc.configs ?? []) t.ok(stack.configs[c.source], `${name}: config ${c.source} declared`);
    for (const s of svc.secrets ?? []) t.ok(stack.secrets[s]?.external, `${name}: secret ${s} is external`);
  }
  for (const [name, c] of Object.entries(stack.configs)) t.ok(existsSync(join(here, c.file)), `config ${name}: ${c.file} exists`);
  t.match(stack.networks.functions, { driver: 'overlay', attachable: true, labels: { openfaas: 'true' } });
  t.match(stack.services.gateway!.environment, { functions_provider_url: 'http://provider:8080/' });
  t.ok(stack.services.provider!.volumes?.includes('/var/run/docker.sock:/var/run/docker.sock'), 'provider reaches the engine');
  t.same(stack.services.provider!.deploy?.placement?.constraints, ['node.role == manager']);
  t.match(stack.services['queue-worker']!.environment, { faas_nats_address: 'nats', faas_gateway_address: 'gateway' });
  for (const f of ['prometheus.yml', 'alert.rules.yml', 'alertmanager.yml']) {
    t.doesNotThrow(() => parse(readFileSync(join(here, 'prometheus', f), 'utf8')), `${f} is YAML`);
  }
  const rules = parse(readFileSync(join(here, 'prometheus/alert.rules.yml'), 'utf8'));
  t.match(rules.groups[0].rules[1], { alert: 'APIHighInvocationRate', labels: { service: 'gateway', severity: 'major' } });
});

t.test('docker stack config accepts it', async (t) => {
  try {
    await run('docker', ['stack', 'config', '--help'], { timeout: 10_000 });
  } catch {
    t.skip('this docker CLI has no `stack config` (added in 20.10 for some builds)');
    return;
  }
  const { stdout } = await run('docker', ['stack', 'config', '-c', stackFile], {
    timeout: 20_000,
    env: { ...process.env, FAAS_TS_TAG: 'check', GATEWAY_PORT: '18123' },
  });
  const resolved = parse(stdout) as { services: Record<string, ComposeService> };
  t.equal(resolved.services.gateway!.image, 'faas-ts/gateway:check', 'variables interpolated');
  t.equal(Number(resolved.services.gateway!.ports![0]!.published), 18123);
  t.equal(Object.keys(resolved.services).length, 6);
});

t.test('full stack deploy (opt-in: FAAS_TS_STACK_DEPLOY=1)', { skip: process.env.FAAS_TS_STACK_DEPLOY !== '1' }, async (t) => {
  await ensureSwarm();
  const image = await ensureTestFunctionImage();
  const name = `fts${Math.random().toString(36).slice(2, 7)}`;
  const gatewayPort = await freePort();
  const promPort = await freePort();
  t.teardown(async () => {
    await dockerCli(['stack', 'rm', name]).catch(() => undefined);
    await dockerCli(['service', 'rm', `${name}-echo`]).catch(() => undefined);
    await until(async () => (await dockerCli(['ps', '-q', '--filter', `label=com.docker.stack.namespace=${name}`])) === '', 60_000).catch(() => undefined);
    await until(async () => {
      await dockerCli(['network', 'rm', `${name}_functions`]).catch(() => undefined);
      return !(await dockerCli(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes(`${name}_functions`);
    }, 30_000).catch(() => undefined);
    await until(async () => {
      await dockerCli(['secret', 'rm', `${name}-basic-auth-user`, `${name}-basic-auth-password`]).catch(() => undefined);
      return !(await dockerCli(['secret', 'ls', '--format', '{{.Name}}'])).includes(`${name}-basic-auth`);
    }, 30_000).catch(() => undefined);
  });
  const { stdout } = await run(join(here, 'deploy.sh'), [], {
    timeout: 300_000,
    env: { ...process.env, STACK: name, AUTH_SECRET_PREFIX: `${name}-`, GATEWAY_PORT: String(gatewayPort), PROMETHEUS_PORT: String(promPort) },
  });
  t.match(stdout, new RegExp(`gateway: http://127.0.0.1:${gatewayPort}`));
  const gw = `http://127.0.0.1:${gatewayPort}`;
  const password = /password: ([0-9a-f]{64})/.exec(stdout)?.[1];
  t.ok(password, 'deploy.sh created the secrets and printed the password once');
  const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
  t.equal((await fetch(`${gw}/healthz`)).status, 200);
  t.equal((await fetch(`${gw}/system/functions`)).status, 401, 'basic auth on');
  {
    const info = await (await fetch(`${gw}/system/info`, { headers: auth })).json();
    t.match(info, { provider: { provider: 'faas-ts-swarm', orchestration: 'swarm' } });
    const res = await fetch(`${gw}/system/functions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ service: `${name}-echo`, image }),
    });
    t.equal(res.status, 202);
    let body = '';
    await until(async () => {
      const r = await fetch(`${gw}/function/${name}-echo`, { signal: AbortSignal.timeout(5000) });
      body = await r.text();
      return r.status === 200;
    }, 60_000, 'function answers through the stack gateway');
    t.match(JSON.parse(body), { arch: process.arch });
    t.equal((await fetch(`${gw}/system/functions`, { method: 'DELETE', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ functionName: `${name}-echo` }) })).status, 202);
  }
});
