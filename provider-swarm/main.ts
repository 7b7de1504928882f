/**
 * Composition root of the standalone swarm provider: provider-swarm served over
 * the faas-provider HTTP API (provider/ serveProvider), for a gateway started with
 * functions_provider_url=http://<this>:8080/ (deploy/swarm/stack.yml).
 *   node dist/provider-swarm/main.js        (env: see main-config.ts)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { serveProvider } from '../provider/rest.js';
import { loadSwarmMainConfig } from './main-config.js';
import { createSwarmProvider } from './provider.js';

const logger = pino({ base: { component: 'provider-swarm' } });

async function main(): Promise<void> {
  let config;
  try {
    config = loadSwarmMainConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  let credentials: { user: string; password: string } | undefined;
  if (config.basicAuth) {
    credentials = {
      user: (await readFile(join(config.secretMountPath, 'basic-auth-user'), 'utf8')).trim(),
      password: (await readFile(join(config.secretMountPath, 'basic-auth-password'), 'utf8')).trim(),
    };
  }
  const provider = createSwarmProvider({
    docker: { socketPath: config.dockerSocket },
    network: config.network,
    ...(config.endpointMode ? { endpointMode: config.endpointMode } : {}),
    gatewayInSwarm: config.gatewayInSwarm,
    publishHost: config.publishHost,
    ...(config.defaultNamespace ? { defaultNamespace: config.defaultNamespace } : {}),
    restartDelayMs: config.restartDelayMs,
    logger,
  });
  await provider.health();
  const server = await serveProvider(provider, {
    port: config.port,
    host: config.bindAddress,
    credentials,
    readTimeoutMs: config.readTimeoutMs,
    writeTimeoutMs: config.writeTimeoutMs,
  });
  logger.info({ url: server.url, endpointMode: provider.config.endpointMode, network: provider.config.network }, 'serving');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    Promise.all([server.close(), provider.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  logger.error({ err }, 'provider-swarm failed to start');
  process.exit(1);
});
