// Build: type-check and compile every component to dist/, then bundle the
// watchdog into one self-contained file (dist/fwatchdog.cjs) that can be copied
// into any image that has Node.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname, '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
await build({
  entryPoints: [`${root}/watchdog/main.ts`],
  outfile: `${root}/dist/fwatchdog.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  minify: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
