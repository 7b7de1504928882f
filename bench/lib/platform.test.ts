/**
 * The local bench platform end to end: `faas-ts up` as a child, hello-node deployed
 * from stack.yml, called through the gateway and directly on its replica, its
 * processes listed from /proc, and nothing left running after close().
 * (The swarm platform is exercised by bench/coldstart.ts --provider swarm.)
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { readRssKb, startPlatform } from './platform.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('local platform: deploy, invoke via gateway and replica, processes, close', async (t) => {
  const lines: string[] = [];
  const platform = await startPlatform({ provider: 'local', root, log: (l) => lines.push(l) });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await platform.close();
  });
  t.equal(platform.provider, 'local');
  t.match(platform.gatewayUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(platform.authorization, /^Basic [A-Za-z0-9+/=]+$/);

  const list = await request(`${platform.gatewayUrl}/system/functions`, { headers: { authorization: platform.authorization } });
  t.equal(list.statusCode, 200, 'the authorization is accepted on /system/*');
  await list.body.text();

  await platform.deploy(['hello-node'], { env: { greeting: 'bench' } });
  const viaGateway = await request(`${platform.gatewayUrl}/function/hello-node`, { method: 'POST', body: 'world' });
  t.equal(viaGateway.statusCode, 200);
  t.match(await viaGateway.body.text(), /world/);

  const replica = await platform.replicaUrl('hello-node');
  t.not(replica, platform.gatewayUrl);
  const direct = await request(`${replica}/`, { method: 'POST', body: 'direct' });
  t.equal(direct.statusCode, 200);
  t.match(await direct.body.text(), /direct/);

  const procs = await platform.processes();
  const components = procs.map((p) => p.component);
  t.ok(components.includes('gateway+provider+queue-worker'), 'the up process is listed');
  const watchdogs = procs.filter((p) => p.component.startsWith('watchdog:hello-node/'));
  t.equal(watchdogs.length, 1, 'one hello-node watchdog (scale.min 1)');
  for (const p of procs) t.ok(((await readRssKb(p.pid)) ?? 0) > 0, `${p.component} has an RSS`);

  await platform.scale('hello-node', 2);
  t.equal((await platform.processes()).filter((p) => p.component.startsWith('watchdog:hello-node/')).length, 2, 'scaled to two');
  await platform.scale('hello-node', 0);
  t.equal((await platform.processes()).filter((p) => p.component.startsWith('watchdog:')).length, 0, 'no replica at zero');
  const cold = await request(`${platform.gatewayUrl}/function/hello-node`, { method: 'POST', body: 'again', headersTimeout: 30_000 });
  t.equal(cold.statusCode, 200, 'scale from zero through the gateway');
  await cold.body.text();

  const pids = (await platform.processes()).map((p) => p.pid);
  await platform.close();
  closed = true;
  t.same(pids.filter(alive), [], 'no process left after close()');
});
