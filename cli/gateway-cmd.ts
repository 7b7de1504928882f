/**
 * `faas-ts gateway`: the gateway alone in front of a remote faas-provider
 * (faasd, faas-netes, or `serveProvider` from provider/), like upstream's
 * gateway with `functions_provider_url`. With basic_auth=true the gateway's own
 * credentials (secret_mount_path) are also sent to the provider, as upstream does.
 * With faas_nats_address set, /async-function publishes to NATS JetStream.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import type { RequestQueuer } from '../provider/index.js';
import { createRestProvider } from '../provider/rest.js';
import { createJetStreamQueuer } from '../queue-worker/index.js';
import type { GatewayOnlyConfig } from './config.js';
import { CliError } from './errors.js';
import { PASSWORD_FILE, USER_FILE } from './credentials.js';

export interface GatewayHandle {
  readonly url: string;
  close(): Promise<void>;
}

async function readCredentials(dir: string): Promise<{ user: string; password: string }> {
  try {
    const user = (await readFile(join(dir, USER_FILE), 'utf8')).trim();
    const password = (await readFile(join(dir, PASSWORD_FILE), 'utf8')).trim();
    return { user, password };
  } catch (err) {
    throw new CliError('CLI_ERR_CREDENTIALS', `basic_auth=true but ${dir} holds no readable credentials: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function runGatewayOnly(config: GatewayOnlyConfig, logger: Logger): Promise<GatewayHandle> {
  const gatewayConfig = loadGatewayConfig({ ...config.gatewayEnv });
  const credentials = gatewayConfig.basicAuth ? await readCredentials(gatewayConfig.secretMountPath) : undefined;
  const provider = createRestProvider({ baseUrl: config.providerUrl, credentials });
  let queue: RequestQueuer | undefined;
  try {
    if (config.nats) {
      queue = await createJetStreamQueuer({
        servers: config.nats.natsUrl,
        name: 'faas-ts-gateway',
        stream: config.nats.stream,
        subject: config.nats.subject,
        maxReconnectAttempts: config.nats.maxReconnectAttempts,
        reconnectTimeWaitMs: config.nats.reconnectDelayMs,
      });
    }
    const gateway = await startGateway(gatewayConfig, { provider, queue, logger: logger.child({ component: 'gateway' }) });
    return {
      url: gateway.url,
      async close() {
        try {
          await gateway.close();
        } finally {
          try {
            await queue?.close();
          } finally {
            await provider.close();
          }
        }
      },
    };
  } catch (err) {
    await queue?.close().catch(() => undefined);
    await provider.close().catch(() => undefined);
    throw err;
  }
}
