/** Shared test helpers: polling with deadlines, free ports, process cleanup. */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Poll `check` until it returns true; fail after `timeoutMs`. Never a fixed sleep. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // a failing probe counts as "not yet"
    }
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Kill a process group by pid (negative pid); ignore if already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Command that starts the bundled watchdog (built by `npm run build` or
 * `npm run build:watchdog`; `npm test` builds first).
 */
export function watchdogCommand(): string[] {
  return [process.execPath, new URL('../dist/fwatchdog.cjs', import.meta.url).pathname];
}

/**
 * argv (after the node executable) that runs the faas-ts CLI: the compiled
 * dist/cli/main.js when it is at least as new as every cli/*.ts source, else
 * the sources through tsx.
 */
export function cliCommand(): string[] {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const distMain = join(repo, 'dist', 'cli', 'main.js');
  if (existsSync(distMain)) {
    const built = statSync(distMain).mtimeMs;
    const sources = readdirSync(join(repo, 'cli')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    if (sources.every((f) => statSync(join(repo, 'cli', f)).mtimeMs <= built)) return [distMain];
  }
  return ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts')];
}

/** Live processes whose working directory is inside `dir` (replicas run in their bundle folder). */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      const state = readFileSync(`/proc/${name}/stat`, 'utf8');
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && state.slice(state.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
