/**
 * `faas-ts watchdog [args]`: run the bundled watchdog (dist/fwatchdog.cjs) as
 * a child with this process's env and stdio, forward SIGTERM/SIGINT to it, and
 * exit with its status. The bundle is self-contained (the same file ships into
 * images), so running it rather than importing watchdog/ keeps one code path.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';
import type { Runtime } from './config.js';

export async function runWatchdog(argv: readonly string[], rt: Runtime): Promise<number> {
  const bundle = join(rt.repoRoot, 'dist', 'fwatchdog.cjs');
  if (!existsSync(bundle)) {
    throw new CliError('CLI_ERR_CONFIG', `the watchdog bundle ${bundle} is missing: run \`npm run build:watchdog\``);
  }
  const child = spawn(rt.execPath, [bundle, ...argv], { stdio: 'inherit', env: { ...rt.env } });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const onTerm = forward('SIGTERM');
  const onInt = forward('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code !== null) resolve(code);
        else resolve(128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15));
      });
    });
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
