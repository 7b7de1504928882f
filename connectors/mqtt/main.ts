/**
 * `faas-ts-mqtt`: the MQTT connector as a process. Configuration comes from
 * the environment (see connectors/README.md); every bad variable is named.
 */
import pino from 'pino';
import { loadMqttConfig, type MqttConnectorConfig } from '../config.js';
import { closeOnSignals, serveMetrics } from '../run.js';
import { createMqttConnector } from './connector.js';
import { mqttOptionsFrom } from './options.js';

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  let config: MqttConnectorConfig;
  let options: ReturnType<typeof mqttOptionsFrom>;
  try {
    config = loadMqttConfig(env);
    options = mqttOptionsFrom(config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, redact: ['password', '*.password'] }).child({ component: 'mqtt-connector' });
  const connector = await createMqttConnector({ ...options, logger });
  const metrics = await serveMetrics(connector.registry, config.metricsPort);
  logger.info({ broker: config.brokerUrl, gateway: config.gatewayUrl, mode: config.mode, metricsPort: config.metricsPort }, 'mqtt connector started');
  closeOnSignals(async () => {
    metrics?.close();
    await connector.close();
  }, logger);
}

await main(process.env);
