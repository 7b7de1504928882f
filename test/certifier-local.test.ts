/**
 * The OpenFaaS certifier's cases (test/certifier-cases.ts, spec/cli-and-certifier.md
 * §4.3) against `faas-ts up` on the local provider.
 */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { findRepoRoot, loadUpConfig } from '../cli/config.js';
import { runUp } from '../cli/up.js';
import { certifierCases } from './certifier-cases.js';

t.test('certifier cases on the local provider', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'certifier-'));
  const config = loadUpConfig(['--skip-deploy', '--port', '0'], {
    env: { FAAS_TS_DATA_DIR: join(base, 'data'), metrics_port: '0' },
    cwd: base,
    repoRoot: findRepoRoot(),
    execPath: process.execPath,
  });
  const up = await runUp(config, { print: () => undefined, logger: pino({ level: 'silent' }), env: {} });
  t.teardown(async () => {
    await up.close();
    await rm(base, { recursive: true, force: true });
  });
  const password = (await readFile(join(config.credentialsDir, 'basic-auth-password'), 'utf8')).trim();
  // -enableAuth: Basic from the faas-cli config file.
  const auth = { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
  await certifierCases(t, { gw: up.url, auth, ns: 'openfaas-fn', nsIsDefault: true, onlyNamespace: true });
});
