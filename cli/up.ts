/**
 * `faas-ts up` (what `npm start` runs): admin credentials, the local provider,
 * the stack's functions built and deployed, the embedded durable queue with
 * its worker for /async-function, and the gateway in front, with a banner on
 * stdout. Logs go to the logger (stderr), never to stdout, so the banner stays
 * machine-readable.
 *
 * With broker_url set the MQTT connector runs against the embedded gateway
 * (admin credentials); with coap_port or coap_enabled=true, the CoAP endpoint
 * (connectors/README.md). Their metrics share the gateway's registry.
 *
 * Shutdown order: the connectors stop (they feed the gateway), the worker
 * drains (its running invocations still need the gateway), then the gateway
 * closes, then the queue, then the provider stops every replica.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { pinnedClientOptions } from '../gateway/tls.js';
import { createLocalProvider, type LocalProvider } from '../provider-local/index.js';
import { createFileQueue, createQueueWorker, type FileQueue, type QueueWorker } from '../queue-worker/index.js';
import { buildFunction } from './build.js';
import type { Env, UpConfig } from './config.js';
import { coapConfigured, coapSettings, mqttSettings, startCoap, startMqtt, type StartedConnector } from './connector-cmd.js';
import { ensureAdminCredentials } from './credentials.js';
import { CliError } from './errors.js';
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
  /** Env for stack-file variable substitution and the connectors' variables (broker_url, coap_port, ...). */
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
  // `up` runs the embedded rule engine (no Prometheus needed); embedded_autoscaler=false turns it off.
  const gatewayConfig = loadGatewayConfig({ embedded_autoscaler: 'true', ...config.gatewayEnv });
  // The connectors' gateway_url and metrics_port do not apply here: they call the
  // embedded gateway, and their metrics are on its /metrics.
  const connectorEnv: Env = { ...io.env, gateway_url: undefined, metrics_port: undefined };
  const mqtt = (io.env.broker_url ?? '').trim() ? mqttSettings(connectorEnv, 'faas-ts up: invalid MQTT connector configuration') : undefined;
  const coap = coapConfigured(io.env) ? coapSettings(connectorEnv, 'faas-ts up: invalid CoAP endpoint configuration') : undefined;
  if (gatewayConfig.tls && (mqtt || coap)) {
    throw new CliError('CLI_ERR_CONFIG', 'faas-ts up: the MQTT/CoAP connectors cannot call a TLS gateway yet; start them with `faas-ts connector` against it instead');
  }
  const credentials = await ensureAdminCredentials(config.credentialsDir);
  const stack = config.deploy ? await loadStack(config.stackFile, io.env) : undefined;

  // One registry: the provider's and the worker's metrics are served with the gateway's.
  const registry = new Registry();
  const provider = await createLocalProvider({
    dataDir: config.dataDir,
    watchdogCommand: [...config.watchdogCommand],
    logger: logger.child({ component: 'provider-local' }),
    registry,
  });
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let queue: FileQueue | undefined;
  let worker: QueueWorker | undefined;
  const connectors: StartedConnector[] = [];
  const stopAll = async () => {
    try {
      const closed = await Promise.allSettled(connectors.map((c) => c.close()));
      for (const r of closed) if (r.status === 'rejected') logger.warn({ err: r.reason as Error }, 'connector close failed');
      await worker?.close();
    } finally {
      try {
        await gateway?.close();
      } finally {
        try {
          await queue?.close();
        } finally {
          await provider.close();
        }
      }
    }
  };
  try {
    const deployed = stack ? await buildAndDeploy(provider, stack.functions, config, logger) : [];
    queue = await createFileQueue({ dir: config.queueDir });
    gateway = await startGateway(gatewayConfig, {
      provider,
      queue,
      registry,
      logger: logger.child({ component: 'gateway' }),
    });
    const url = gateway.url.replace(/\/+$/, '');
    const w = config.worker;
    worker = createQueueWorker({
      source: queue.source(),
      gatewayUrl: url,
      // Over TLS the worker trusts exactly this gateway's certificate (loopback: no host name to check).
      ...(gatewayConfig.tls ? { gatewayConnect: pinnedClientOptions(await readFile(gatewayConfig.tls.certFile)) } : {}),
      concurrency: w.maxInflight,
      perFunctionConcurrency: w.maxInflightPerFunction,
      retry: w.retry,
      invokeTimeoutMs: w.invokeTimeoutMs,
      callbackTimeoutMs: w.callbackTimeoutMs,
      drainTimeoutMs: w.drainTimeoutMs,
      logger: logger.child({ component: 'queue-worker' }),
      registry,
    });

    const banner: string[] = [];
    if (mqtt) {
      const password = (await readFile(credentials.passwordFile, 'utf8')).trim();
      const options = { ...mqtt.options, gateway: { url, credentials: { user: credentials.user, password } } };
      const started = await startMqtt(options, registry, logger);
      connectors.push(started);
      banner.push(`MQTT:      ${started.line}`);
    }
    if (coap) {
      const started = await startCoap(coap, url, registry, logger);
      connectors.push(started);
      banner.push(`CoAP:      ${started.line}`);
    }

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
    io.print(`Async:     ${url}/async-function/NAME (durable queue in ${config.queueDir})`);
    for (const line of banner) io.print(line);
    if (deployed.length > 0) {
      const path = (d: DeployResult) => (d.namespace === provider.defaultNamespace ? d.name : `${d.name}.${d.namespace}`);
      io.print(`Functions: ${deployed.map((d) => `${url}/function/${path(d)}`).join(' ')}`);
    }
    const cacert = gatewayConfig.tls ? `--cacert ${gatewayConfig.tls.certFile} ` : '';
    io.print(`Try:       curl ${cacert}-u ${credentials.user}:$(cat ${join(config.credentialsDir, 'basic-auth-password')}) ${url}/system/functions`);

    let closing: Promise<void> | undefined;
    return {
      url,
      provider,
      close() {
        closing ??= stopAll();
        return closing;
      },
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    // A password generated by this failed start was never shown: drop it so the
    // next start generates (and prints) a new one.
    if (credentials.newPassword !== undefined) await rm(credentials.passwordFile, { force: true }).catch(() => undefined);
    throw err;
  }
}
