/**
 * The event connectors (connectors/) as faas-ts commands: `faas-ts connector
 * mqtt|coap` runs one beside any gateway, and `faas-ts up` starts them next to
 * its embedded gateway. Connector settings are the connectors' own variables
 * (connectors/README.md); a bad one is a CLI_ERR_CONFIG naming each problem.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  ConnectorError,
  coapConfigured,
  createCoapEndpoint,
  createMqttConnector,
  loadCoapConfig,
  loadMqttConfig,
  mqttOptionsFrom,
  serveMetrics,
  type CoapConnectorConfig,
  type CoapEndpoint,
  type MqttConnector,
  type MqttConnectorConfig,
} from '../connectors/index.js';
import type { Env } from './config.js';
import { CliError } from './errors.js';

export const CONNECTOR_KINDS = ['mqtt', 'coap'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

type MqttOptions = ReturnType<typeof mqttOptionsFrom>;

/** Run a connector config step; its ConnectorError becomes the CLI's config error. */
function configStep<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof ConnectorError || (err as { name?: unknown })?.name === 'ConnectorError') {
      throw new CliError('CLI_ERR_CONFIG', `${what}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

/** The MQTT connector's settings from env, files read (password, TLS), or a CLI_ERR_CONFIG. */
export function mqttSettings(env: Env, what: string): { config: MqttConnectorConfig; options: MqttOptions } {
  return configStep(what, () => {
    const config = loadMqttConfig(env);
    return { config, options: mqttOptionsFrom(config) };
  });
}

export function coapSettings(env: Env, what: string): CoapConnectorConfig {
  return configStep(what, () => loadCoapConfig(env));
}

export { coapConfigured };

export interface StartedConnector {
  /** One banner line, e.g. `MQTT:  mqtt://127.0.0.1:1883 → http://127.0.0.1:8080 (sync)`. */
  readonly line: string;
  close(): Promise<void>;
}

export async function startMqtt(options: MqttOptions, registry: Registry, logger: Logger): Promise<StartedConnector & { connector: MqttConnector }> {
  const connector = await createMqttConnector({ ...options, logger: logger.child({ component: 'mqtt-connector' }), registry });
  return {
    connector,
    line: `${options.brokerUrl} → ${options.gateway.url} (functions annotated "${options.topicAnnotation ?? 'topic'}", ${options.mode})`,
    close: () => connector.close(),
  };
}

export async function startCoap(
  config: CoapConnectorConfig,
  gatewayUrl: string,
  registry: Registry,
  logger: Logger,
): Promise<StartedConnector & { endpoint: CoapEndpoint }> {
  const endpoint = await createCoapEndpoint({
    port: config.port,
    host: config.host,
    gateway: { url: gatewayUrl },
    invokeTimeoutMs: config.invokeTimeoutMs,
    logger: logger.child({ component: 'coap-endpoint' }),
    registry,
  });
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return {
    endpoint,
    line: `coap://${host}:${endpoint.port}/NAME → ${gatewayUrl}`,
    close: () => endpoint.close(),
  };
}

function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface ConnectorHandle {
  /** Banner lines for stdout. */
  readonly lines: readonly string[];
  close(): Promise<void>;
}

/** `faas-ts connector mqtt|coap`: one connector, its /metrics when metrics_port is set. */
export async function runConnector(kind: ConnectorKind, env: Env, registry: Registry, logger: Logger): Promise<ConnectorHandle> {
  const what = `faas-ts connector ${kind}: invalid configuration`;
  let started: StartedConnector;
  let metricsPort: number;
  if (kind === 'mqtt') {
    const { config, options } = mqttSettings(env, what);
    metricsPort = config.metricsPort;
    started = await startMqtt(options, registry, logger);
  } else {
    const config = coapSettings(env, what);
    metricsPort = config.metricsPort;
    started = await startCoap(config, config.gatewayUrl, registry, logger);
  }
  let metrics: Server | undefined;
  try {
    metrics = await serveMetrics(registry, metricsPort);
  } catch (err) {
    await started.close().catch(() => undefined);
    throw err;
  }
  const lines = [`${kind === 'mqtt' ? 'MQTT' : 'CoAP'}:    ${started.line}`];
  if (metrics) lines.push(`Metrics: http://127.0.0.1:${metricsPort}/metrics`);
  return {
    lines,
    async close() {
      try {
        await started.close();
      } finally {
        await closeServer(metrics);
      }
    },
  };
}
