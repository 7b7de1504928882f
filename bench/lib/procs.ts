/**
 * Processes a suite starts itself (function servers, fwatchdog replicas):
 * spawned in their own process group with output to a log file (a pipe read
 * by the busy load generator would throttle them), polled until ready, and
 * killed by group on stop.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, killGroup, until } from '../../test/helpers.js';

export interface Started {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stop(): void;
}

export async function status(url: string, method: 'GET' | 'POST' = 'GET'): Promise<number> {
  const res = await request(url, { method, headersTimeout: 5000, bodyTimeout: 5000 });
  await res.body.arrayBuffer();
  return res.statusCode;
}

/** Starts `argv` with `env` (nothing inherited but PATH/HOME) logging to `<logDir>/<slug>.log`. */
function launch(name: string, argv: readonly string[], env: Record<string, string>, logDir: string): { pid: number; log: () => string } {
  const file = join(logDir, `${name.replace(/\W+/g, '-')}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: logDir,
    env: { PATH: process.env.PATH ?? '', HOME: logDir, ...env },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`${name}: failed to start ${argv[0]}`);
  return { pid: child.pid, log: () => readFileSync(file, 'utf8') };
}

/** A plain HTTP function server on `http_port` (no watchdog): the baseline. */
export async function startServer(name: string, script: string, logDir: string): Promise<Started> {
  const port = await freePort();
  const p = launch(name, [process.execPath, script], { http_port: String(port) }, logDir);
  const url = `http://127.0.0.1:${port}/`;
  try {
    await until(async () => (await status(url)) === 200, 20_000, name, 50);
  } catch (err) {
    killGroup(p.pid);
    throw err;
  }
  return { name, url, pid: p.pid, stop: () => killGroup(p.pid) };
}

/** The bundled fwatchdog (dist/fwatchdog.cjs) with the given env, on a free port. */
export async function startWatchdog(name: string, bundle: string, env: Record<string, string>, logDir: string): Promise<Started> {
  const p = launch(
    name,
    [process.execPath, bundle],
    { port: '0', metrics_port: '0', bind_address: '127.0.0.1', lock_path: join(logDir, `${name.replace(/\W+/g, '-')}.lock`), ...env },
    logDir,
  );
  try {
    await until(() => /Listening on port: \d+/.test(p.log()), 20_000, `${name} listener`, 50);
    const port = Number(/Listening on port: (\d+)/.exec(p.log())![1]);
    await until(async () => (await status(`http://127.0.0.1:${port}/_/ready`)) === 200, 20_000, `${name} readiness`, 50);
    return { name, url: `http://127.0.0.1:${port}/`, pid: p.pid, stop: () => killGroup(p.pid) };
  } catch (err) {
    killGroup(p.pid);
    throw new Error(`${(err as Error).message}\n${p.log().slice(-2000)}`);
  }
}
