/**
 * Shared set-up of the provider-swarm tests: a provider on a per-test overlay
 * network, and a cleanup that removes every service attached to that network
 * plus everything named with the test prefix.
 */
import { randomBytes } from 'node:crypto';
import { ensureSwarm, ensureTestFunctionImage, removeByPrefix } from '../test/docker.js';
import { createSwarmProvider, type SwarmProvider } from './provider.js';
import type { SwarmProviderOptions } from './config.js';

export interface SwarmTestTarget {
  provider: SwarmProvider;
  image: string;
  /** Test id; the network and any secrets/services the test names itself start with it. */
  prefix: string;
  cleanup(): Promise<void>;
}

export async function swarmTestTarget(options: SwarmProviderOptions = {}): Promise<SwarmTestTarget> {
  await ensureSwarm();
  const image = await ensureTestFunctionImage();
  const prefix = `t${randomBytes(3).toString('hex')}`;
  const network = `${prefix}-net`;
  const provider = createSwarmProvider({ network, restartDelayMs: 0, ...options });
  return {
    provider,
    image,
    prefix,
    async cleanup() {
      const docker = provider.docker;
      const nets = (await docker.listNetworks({ filters: { name: [network] } })) as Array<{ Id: string; Name: string }>;
      const ids = new Set(nets.filter((n) => n.Name === network).map((n) => n.Id));
      const services = (await docker.listServices()) as Array<{ ID: string; Spec?: { TaskTemplate?: { Networks?: Array<{ Target?: string }> } } }>;
      for (const s of services) {
        if ((s.Spec?.TaskTemplate?.Networks ?? []).some((n) => ids.has(n.Target ?? '') || n.Target === network)) {
          await docker.getService(s.ID).remove().catch(() => undefined);
        }
      }
      await provider.close();
      await removeByPrefix(prefix);
    },
  };
}
