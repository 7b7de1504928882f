/**
 * Composition root: provider-k8s served as a faas-provider (the upstream
 * `faas-netes` container), for the gateway's functions_provider_url.
 *
 *   node dist/provider-k8s/main.js      (in a pod: in-cluster ServiceAccount)
 *
 * Outside a cluster, KUBECONFIG / ~/.kube/config is used. Env: see env.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { serveProvider } from '../provider/rest.js';
import { loadClientNode } from './client-node.js';
import { loadK8sServerEnv } from './env.js';
import { createK8sProvider } from './provider.js';

async function main(): Promise<void> {
  const env = loadK8sServerEnv(process.env);
  const logger = pino({ level: process.env.log_level || 'info' }).child({ component: 'provider-k8s' });
  const k8s = await loadClientNode();
  const kc = new k8s.KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  let credentials: { user: string; password: string } | undefined;
  if (env.basicAuth) {
    credentials = {
      user: (await readFile(join(env.secretMountPath, 'basic-auth-user'), 'utf8')).trim(),
      password: (await readFile(join(env.secretMountPath, 'basic-auth-password'), 'utf8')).trim(),
    };
  }
  const provider = await createK8sProvider({ ...env.provider, kubeConfig: kc, logger });
  const server = await serveProvider(provider, {
    port: env.port,
    host: env.host,
    credentials,
    readTimeoutMs: env.readTimeoutMs,
    writeTimeoutMs: env.writeTimeoutMs,
    logger,
  });
  logger.info({ url: server.url, namespace: provider.defaultNamespace }, 'provider-k8s listening');
  const stop = async () => {
    logger.info('shutting down');
    await server.close();
    await provider.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`provider-k8s: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
