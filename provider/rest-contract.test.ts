/**
 * The provider contract suite against createRestProvider → serveProvider →
 * provider-local: a remote faas-provider must be indistinguishable from a local
 * one. Needs dist/fwatchdog.cjs (`npm run build:watchdog`).
 */
import t from 'tap';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalProvider } from '../provider-local/index.js';
import { runProviderContract } from './contract.js';
import { createRestProvider, serveProvider } from './rest.js';
import { watchdogCommand } from '../test/helpers.js';

/** http-mode function answering 200 on every path. */
const HELLO = `
require('node:http')
  .createServer((req, res) => res.end('hello ' + req.url))
  .listen(Number(process.env.http_port), '127.0.0.1');
`;

if (!existsSync(watchdogCommand()[1]!)) {
  t.fail('dist/fwatchdog.cjs missing: run `npm run build:watchdog` first');
} else {
  runProviderContract(
    t,
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-rest-contract-'));
      const src = join(dataDir, 'src', 'hello');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'index.js'), HELLO);
      const local = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
      await local.bundles.add('hello-http', src, {
        mode: 'http',
        fprocess: 'node index.js',
        upstream_url: 'http://127.0.0.1:${PORT}',
      });
      const credentials = { user: 'admin', password: 'contract' };
      const server = await serveProvider(local, { credentials });
      const provider = createRestProvider({ baseUrl: server.url, credentials });
      return {
        provider,
        deployableImage: 'hello-http',
        async cleanup() {
          await provider.close();
          await server.close();
          await local.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
    { readyTimeoutMs: 20_000 },
  );
}
