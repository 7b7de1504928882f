/** What every route plugin receives: built once per gateway in app.ts. */
import type { Logger } from 'pino';
import type { InvocationProxy, Provider } from '../provider/index.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { EndpointResolver } from './scale-from-zero.js';

export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly provider: Provider;
  readonly metrics: GatewayMetrics;
  readonly proxy: InvocationProxy;
  readonly resolver: EndpointResolver;
  readonly logger: Logger | undefined;
  /** Aborted when the gateway starts closing: long-lived streams (logs) end then. */
  readonly shutdown: AbortSignal;
  /** Checks an Authorization header; undefined when basic auth is off. */
  readonly authCheck: ((header: string | undefined) => boolean) | undefined;
}

/** `fn.ns` as used in metric labels and messages. */
export function qualifiedName(ctx: GatewayContext, name: string, namespace: string | undefined): string {
  return `${name}.${namespace || ctx.provider.defaultNamespace}`;
}
