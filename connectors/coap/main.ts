/**
 * `faas-ts-coap`: the CoAP endpoint as a process. Configuration comes from
 * the environment (see connectors/README.md); every bad variable is named.
 */
import pino from 'pino';
import { loadCoapConfig, type CoapConnectorConfig } from '../config.js';
import { closeOnSignals, serveMetrics } from '../run.js';
import { createCoapEndpoint } from './endpoint.js';

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  let config: CoapConnectorConfig;
  try {
    config = loadCoapConfig(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel }).child({ component: 'coap-endpoint' });
  const endpoint = await createCoapEndpoint({
    port: config.port,
    host: config.host,
    gateway: { url: config.gatewayUrl },
    invokeTimeoutMs: config.invokeTimeoutMs,
    logger,
  });
  const metrics = await serveMetrics(endpoint.registry, config.metricsPort);
  logger.info({ url: `coap://${config.host}:${endpoint.port}/NAME`, gateway: config.gatewayUrl, metricsPort: config.metricsPort }, 'coap endpoint started');
  closeOnSignals(async () => {
    metrics?.close();
    await endpoint.close();
  }, logger);
}

await main(process.env);
