/**
 * Edge-to-cloud offload (issue #14): send calls to a parent gateway when this
 * one cannot or should not run them. Loaded by app.ts only when a parent is
 * configured, so a gateway without one does not even load this folder.
 */
import type { Logger } from 'pino';
import type { InvocationProxy, Provider } from '../../provider/index.js';
import type { GatewayMetrics } from '../metrics.js';
import type { EndpointResolver } from '../scale-from-zero.js';
import { createAsyncOffload, type AsyncOffload } from './async.js';
import type { OffloadConfig } from './config.js';
import { createOffloadInvoker, type OffloadInvoker } from './invoke.js';
import { createLoadSampler } from './load.js';
import { createParentClient } from './parent.js';

export interface Offload {
  readonly invoke: OffloadInvoker;
  readonly async: AsyncOffload;
  close(): Promise<void>;
}

export interface OffloadComponents {
  readonly provider: Provider;
  readonly resolver: EndpointResolver;
  readonly proxy: InvocationProxy;
  readonly metrics: GatewayMetrics;
  readonly functionNamespace: string;
  readonly logger?: Logger | undefined;
}

export function createOffload(config: OffloadConfig, deps: OffloadComponents): Offload {
  const parent = createParentClient(config);
  const sampler = createLoadSampler(config.sampleIntervalMs);
  const logger = deps.logger?.child({ part: 'offload' });
  return {
    invoke: createOffloadInvoker({ ...deps, config, parent, sampler, logger }),
    async: createAsyncOffload({ ...deps, config, parent, logger }),
    async close() {
      sampler.close();
      await parent.close();
    },
  };
}
