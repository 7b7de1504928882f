/**
 * `faas-ts up` (what `npm start` runs): admin credentials, the local provider,
 * the stack's functions built and deployed, and the gateway in front, with a
 * banner on stdout. Logs go to the logger (stderr), never to stdout, so the
 * banner stays machine-readable.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider, type LocalProvider } from '../provider-local/index.js';
import { buildFunction } from './build.js';
import type { Env, UpConfig } from './config.js';
import { ensureAdminCredentials } from './credentials.js';
import { deployFunction, toDeployment, type DeployResult } from './deploy.js';
import { loadStack, type StackFunction } from './stack.js';

export interface UpHandle {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly provider: LocalProvider;
  /** Close the gateway, then the provider (which stops every replica). */
  close(): Promise<void>;
}

export interface UpIo {
  /** One line of the human-readable banner (stdout). */
  print(line: string): void;
  logger: Logger;
  /** Env for stack-file variable substitution. */
  env: Env;
}

async function buildAndDeploy(
  provider: LocalProvider,
  functions: readonly StackFunction[],
  config: UpConfig,
  logger: Logger,
): Promise<DeployResult[]> {
  const results: DeployResult[] = [];
  for (const fn of functions) {
    let changed = false;
    let templateFprocess: string | undefined;
    if (!fn.skipBuild) {
      const built = await buildFunction(fn, { templateDirs: config.templateDirs, store: provider.bundles });
      changed = built.changed;
      templateFprocess = built.template.fprocess;
      logger.info({ fn: fn.name, image: fn.image, changed, bundle: built.dir }, 'bundle ready');
    }
    const result = await deployFunction(provider, toDeployment(fn, templateFprocess), changed);
    logger.info({ fn: fn.name, ns: result.namespace, outcome: result.outcome }, 'function deployed');
    results.push(result);
  }
  return results;
}

export async function runUp(config: UpConfig, io: UpIo): Promise<UpHandle> {
  const { logger } = io;
  // Validate the gateway's settings before starting anything that needs stopping.
  const gatewayConfig = loadGatewayConfig({ ...config.gatewayEnv });
  const credentials = await ensureAdminCredentials(config.credentialsDir);
  const stack = config.deploy ? await loadStack(config.stackFile, io.env) : undefined;

  const provider = await createLocalProvider({
    dataDir: config.dataDir,
    watchdogCommand: [...config.watchdogCommand],
    logger: logger.child({ component: 'provider-local' }),
  });
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    const deployed = stack ? await buildAndDeploy(provider, stack.functions, config, logger) : [];
    gateway = await startGateway(gatewayConfig, { provider, logger: logger.child({ component: 'gateway' }) });
    const url = gateway.url.replace(/\/+$/, '');

    io.print(`faas-ts is up.`);
    io.print(`Gateway:   ${url}`);
    if (gatewayConfig.uiDir) io.print(`UI:        ${url}/ui/`);
    io.print(`User:      ${credentials.user}`);
    if (credentials.newPassword !== undefined) {
      io.print(`Password:  ${credentials.newPassword}`);
      io.print(`(shown once; stored in ${credentials.passwordFile})`);
    } else {
      io.print(`Password:  stored in ${credentials.passwordFile}`);
    }
    io.print(`Data:      ${config.dataDir}`);
    if (deployed.length > 0) {
      io.print(`Functions: ${deployed.map((d) => `${url}/function/${d.name}`).join(' ')}`);
    }
    io.print(`Try:       curl -u ${credentials.user}:$(cat ${join(config.credentialsDir, 'basic-auth-password')}) ${url}/system/functions`);

    const started = gateway;
    let closing: Promise<void> | undefined;
    return {
      url,
      provider,
      close() {
        closing ??= (async () => {
          try {
            await started.close();
          } finally {
            await provider.close();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await gateway?.close().catch(() => undefined);
    await provider.close().catch(() => undefined);
    throw err;
  }
}
