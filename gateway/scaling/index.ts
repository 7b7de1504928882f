/**
 * Autoscaling for one gateway: the alert handler (POST /system/alert and the
 * embedded engine share it), the embedded rule engine (when enabled), the
 * idler (scale to zero) and the in-flight gauge the in-flight rule reads.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Provider } from '../../provider/index.js';
import { parseDurationMs } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import { createAlertHandler, type AlertHandler } from './alert-handler.js';
import { SCALING_DEFAULTS, DEFAULT_RULES_FILE, type ScalingConfig } from './config.js';
import { DecisionLog } from './decisions.js';
import { createIdler, type Idler } from './idler.js';
import { createRuleEngine, loadRulesFile, type RuleEngine } from './rules/engine.js';

export { parseAlertPayload, AlertFormatError, type AlertHandler, type AlertPayload } from './alert-handler.js';
export { scaleLimits, alertReplicas, scaleStep } from './labels.js';
export { loadRules, loadRulesFile, createRuleEngine } from './rules/engine.js';
export type { ScalingConfig } from './config.js';

export interface ScalingDeps {
  provider: Provider;
  functionNamespace: string;
  registry: Registry;
  metrics: GatewayMetrics;
  logger?: Logger;
  /** Drop the gateway's endpoint cache for `fn.ns` after a scale. */
  onScaled?: (label: string) => void;
}

export interface Scaling {
  readonly alerts: AlertHandler;
  readonly engine: RuleEngine | undefined;
  readonly idler: Idler | undefined;
  close(): Promise<void>;
}

const DISABLED: ScalingConfig = Object.freeze({
  embeddedAutoscaler: false,
  rulesFile: DEFAULT_RULES_FILE,
  ...SCALING_DEFAULTS,
  scaleToZero: false,
});

export function createScaling(config: ScalingConfig | undefined, deps: ScalingDeps): Scaling {
  const cfg = config ?? DISABLED;
  const logger = deps.logger?.child({ component: 'autoscaler' });
  const decisions = new DecisionLog(deps.registry, logger);
  if (!deps.registry.getSingleMetric('gateway_function_inflight_requests')) {
    const { metrics } = deps;
    new Gauge({
      name: 'gateway_function_inflight_requests',
      help: 'Synchronous invocations in flight per function',
      labelNames: ['function_name'],
      registers: [deps.registry],
      collect() {
        this.reset();
        for (const [fn, n] of metrics.inFlightAll()) this.set({ function_name: fn }, n);
      },
    });
  }
  const alerts = createAlertHandler({
    provider: deps.provider,
    functionNamespace: deps.functionNamespace,
    decisions,
    logger,
    cooldownMs: cfg.alertCooldownMs,
    onScaled: deps.onScaled,
  });
  const engine = cfg.embeddedAutoscaler
    ? createRuleEngine({
        rules: loadRulesFile(cfg.rulesFile),
        registry: deps.registry,
        handler: alerts,
        evalIntervalMs: cfg.evalIntervalMs,
        repeatIntervalMs: cfg.repeatIntervalMs,
        logger,
      })
    : undefined;
  const idler = cfg.scaleToZero
    ? createIdler({
        provider: deps.provider,
        decisions,
        activity: deps.metrics,
        defaultIdleMs: cfg.zeroDurationMs,
        intervalMs: cfg.zeroIntervalMs,
        parseDurationMs,
        onScaled: deps.onScaled,
        logger,
      })
    : undefined;
  return {
    alerts,
    engine,
    idler,
    async close() {
      await Promise.all([engine?.close(), idler?.close()]);
    },
  };
}
