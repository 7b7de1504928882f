/**
 * The provider contract suite against a real Docker engine in swarm mode
 * (dockerd is started and the swarm initialised by test/docker.ts if needed).
 * Endpoint mode dnsrr-hostport: each replica is invoked on its own published
 * loopback port.
 */
import t from 'tap';
import { runProviderContract } from '../provider/contract.js';
import { swarmTestTarget } from './testing.js';

runProviderContract(
  t,
  async () => {
    const target = await swarmTestTarget({ endpointMode: 'dnsrr-hostport' });
    return { provider: target.provider, deployableImage: target.image, cleanup: target.cleanup };
  },
  { readyTimeoutMs: 45_000 },
);
