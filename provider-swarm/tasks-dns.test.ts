/**
 * provider-swarm in tasks-dns mode (a gateway inside the swarm): no published
 * ports, replicas addressed by their task IPs on the functions network, reached
 * from a container attached to that network.
 */
import t from 'tap';
import { dockerCli } from '../test/docker.js';
import { until } from '../test/helpers.js';
import { swarmTestTarget } from './testing.js';

const READY_MS = 45_000;

t.test('tasks-dns mode: replicas addressed by task IP on the functions network', async (t) => {
  const target = await swarmTestTarget({ endpointMode: 'tasks-dns', probeHealth: false });
  t.teardown(() => target.cleanup());
  const p = target.provider;
  const fn = `${target.prefix}-dns`;
  await p.deploy({ service: fn, image: target.image, labels: { 'com.openfaas.scale.min': '2' } });
  const [svc] = JSON.parse(await dockerCli(['service', 'inspect', fn]));
  t.same(svc.Spec.EndpointSpec, { Mode: 'dnsrr' }, 'no published ports');
  // The provider is outside the swarm here, so it cannot probe task IPs: count running tasks.
  await until(async () => (await p.endpoints(fn)).length === 2, READY_MS, 'two task endpoints');
  const eps = await p.endpoints(fn);
  for (const ep of eps) t.match(ep.baseUrl, /^http:\/\/\d+\.\d+\.\d+\.\d+:8080$/);
  // A client on the attachable network (where a gateway in the swarm would be) reaches both.
  const script = `Promise.all(${JSON.stringify(eps.map((e) => e.baseUrl))}.map(u => fetch(u + '/').then(r => r.json()).then(j => j.host))).then(h => console.log(JSON.stringify(h)))`;
  let hosts: string[] = [];
  await until(async () => {
    hosts = JSON.parse(await dockerCli(['run', '--rm', '--network', `${target.prefix}-net`, 'faas-ts/node-base:20', 'node', '-e', script], 60_000));
    return hosts.length === 2;
  }, 60_000, 'both replicas reachable from the network');
  t.equal(new Set(hosts).size, 2, 'two distinct replicas answered');
});
