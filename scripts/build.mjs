// Build: bundle the watchdog into one self-contained file (dist/fwatchdog.cjs)
// that can be copied into any image that has Node, then type-check and compile
// every component to dist/. `--watchdog-only` stops after the bundle.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const watchdogOnly = process.argv.includes('--watchdog-only');

if (!watchdogOnly) rmSync(`${root}/dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}/watchdog/main.ts`],
  outfile: `${root}/dist/fwatchdog.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
if (!watchdogOnly) {
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
