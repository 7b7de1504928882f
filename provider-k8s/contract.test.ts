/**
 * The shared provider contract against provider-k8s → @kubernetes/client-node
 * → the API server stand-in, whose pods are real fwatchdog processes on
 * 127.0.0.1 (readiness probed over HTTP before a pod counts as ready).
 * Needs dist/fwatchdog.cjs (`npm run build:watchdog`).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { runProviderContract } from '../provider/contract.js';
import { watchdogCommand } from '../test/helpers.js';
import { startFakeApiServer } from './testing/apiserver.js';
import { watchdogPods } from './testing/watchdog-pods.js';
import { createK8sProvider } from './index.js';

const IMAGE = 'ghcr.io/faas-ts/cat:test';

if (!existsSync(watchdogCommand()[1]!)) {
  t.fail('dist/fwatchdog.cjs missing: run `npm run build:watchdog` first');
} else {
  runProviderContract(
    t,
    async () => {
      const pods = watchdogPods(watchdogCommand(), { [IMAGE]: { mode: 'streaming', fprocess: 'cat' } });
      const api = await startFakeApiServer({ ...pods.hooks });
      pods.attach(api);
      const provider = await createK8sProvider({
        cluster: { server: api.url, skipTLSVerify: true },
        version: { release: '0.0.0-test', sha: 'test' },
        watchRetryMs: 50,
      });
      return {
        provider,
        deployableImage: IMAGE,
        async cleanup() {
          await provider.close();
          await api.close();
          await pods.stopAll();
        },
      };
    },
    { readyTimeoutMs: 20_000 },
  );
}
