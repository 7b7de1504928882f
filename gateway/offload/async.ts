/**
 * `/async-function/NAME` with offload: a function that is not deployed here
 * is handed to the parent's `/async-function/NAME` before anything is queued
 * locally. The client gets the parent's answer (202 and its X-Call-Id, or the
 * parent's refusal); when the parent does not answer, a 502 (or 508 at the
 * hop limit). So exactly one layer accepted the call, or the client was told
 * no: nothing is queued here for a function that could never run here.
 *
 * Calls for functions deployed here are queued locally as usual; the queue
 * worker invokes them through this gateway's `/function/*`, where the
 * synchronous policy (saturation, host load) may still send them up. The
 * worker acks a message only after that invocation answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { splitFunctionName, type Provider } from '../../provider/index.js';
import { GatewayErrorCodes } from '../errors.js';
import { writePlainText } from '../http-errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { OffloadConfig } from './config.js';
import { HOPS_HEADER, LAYER_HEADER, incomingHops, mayForward } from './hops.js';
import type { ParentClient } from './parent.js';

export interface AsyncOffloadDeps {
  readonly config: OffloadConfig;
  readonly provider: Provider;
  readonly parent: ParentClient;
  readonly metrics: GatewayMetrics;
  readonly functionNamespace: string;
  readonly logger?: Logger | undefined;
}

export interface AsyncOffload {
  /** True when `name` is not deployed here and a parent is configured: the call goes to `forward`. */
  wantsParent(name: string): Promise<boolean>;
  /** Forward to the parent (or refuse at the hop limit) and answer the client on `res`. */
  forward(req: IncomingMessage, res: ServerResponse, name: string, body: Buffer): Promise<void>;
}

export function createAsyncOffload(deps: AsyncOffloadDeps): AsyncOffload {
  const { config, provider, parent, metrics, logger } = deps;
  const split = (rawName: string) => {
    const { name, namespace } = splitFunctionName(rawName, deps.functionNamespace);
    return { name, namespace, label: `${name}.${namespace || provider.defaultNamespace}` };
  };
  return {
    async wantsParent(rawName) {
      if (config.parentUrl === undefined) return false;
      const { name, namespace } = split(rawName);
      try {
        return (await provider.get(name, namespace)) === undefined;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'NOT_FOUND' || code === 'INVALID') return true;
        throw err;
      }
    },

    async forward(req, res, rawName, body) {
      const { label } = split(rawName);
      const hops = incomingHops(req.headers);
      if (!mayForward(hops, config.maxHops)) {
        metrics.offloadRefused(label, 'not-deployed');
        res.setHeader(LAYER_HEADER, config.layer);
        res.setHeader(HOPS_HEADER, String(hops.count));
        writePlainText(
          res,
          GatewayErrorCodes.GW_ERR_OFFLOAD_HOP_LIMIT,
          `offload hop limit reached: ${label} is not deployed at layer ${config.layer} and the call already made ${hops.count} offload hop(s) (limit ${config.maxHops}); not queued [GW_ERR_OFFLOAD_HOP_LIMIT]\n`,
        );
        return;
      }
      const t0 = performance.now();
      const result = await parent.forward(
        { baseUrl: config.parentUrl!, path: req.url ?? `/async-function/${rawName}`, req, body, hops, offloadEntry: `${config.layer}=not-deployed` },
        res,
      );
      if (result.answered) {
        metrics.offloaded(label, 'not-deployed', (performance.now() - t0) / 1000);
        return;
      }
      metrics.offloadFailed(label, 'not-deployed');
      logger?.warn({ fn: label, parent: config.parentUrl, err: result.error.message }, 'async offload to parent failed');
      if (!res.headersSent && !res.destroyed) {
        res.setHeader(LAYER_HEADER, config.layer);
        writePlainText(
          res,
          GatewayErrorCodes.GW_ERR_OFFLOAD_FAILED,
          `${label} is not deployed here and the parent gateway did not accept the call (${result.error.message}); not queued [GW_ERR_OFFLOAD_FAILED]\n`,
        );
      }
    },
  };
}
