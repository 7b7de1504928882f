/**
 * Support for the fault-injection tests (test/faults-*.test.ts; not a test
 * file): a bounded concurrent load loop whose counters can be cut into a
 * "fault window", a callback/side-effect sink that counts executions per id,
 * `faas-ts up` as a real child process, and a report line per fault.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliCommand, killGroup, until } from './helpers.js';

export const repo = fileURLToPath(new URL('..', import.meta.url));

export interface LoadCounts {
  attempted: number;
  ok: number;
  failed: number;
  /** status (or `ERR:<code>` for a transport error) → count */
  byOutcome: Record<string, number>;
}

export interface Load {
  readonly counts: LoadCounts;
  /** A copy of the counters now (to diff a fault window). */
  snapshot(): LoadCounts;
  /** Stop issuing calls and wait for the ones in flight. */
  stop(): Promise<LoadCounts>;
}

/**
 * `concurrency` loops each calling `call(i)` until `maxCalls` calls were
 * started in total, `maxMs` passed, or stop(). `call` resolves to the HTTP
 * status (2xx counts as ok); a throw counts as a failure by its error code.
 */
export function startLoad(opts: {
  concurrency: number;
  maxCalls: number;
  maxMs: number;
  call: (i: number) => Promise<number>;
}): Load {
  const counts: LoadCounts = { attempted: 0, ok: 0, failed: 0, byOutcome: {} };
  const deadline = Date.now() + opts.maxMs;
  let stopped = false;
  let next = 0;
  const loop = async () => {
    while (!stopped && next < opts.maxCalls && Date.now() < deadline) {
      const i = next++;
      counts.attempted++;
      let outcome: string;
      try {
        const status = await opts.call(i);
        outcome = String(status);
        if (status >= 200 && status < 300) counts.ok++;
        else counts.failed++;
      } catch (err) {
        const e = err as { code?: string; cause?: { code?: string } };
        outcome = `ERR:${e.cause?.code ?? e.code ?? 'unknown'}`;
        counts.failed++;
        // a target that is down refuses at once: do not spin
        await new Promise((r) => setTimeout(r, 5));
      }
      counts.byOutcome[outcome] = (counts.byOutcome[outcome] ?? 0) + 1;
      // yield so a loop against a failing target does not spin
      await new Promise((r) => setImmediate(r));
    }
  };
  const loops = Array.from({ length: opts.concurrency }, loop);
  const all = Promise.all(loops);
  const snapshot = (): LoadCounts => ({ ...counts, byOutcome: { ...counts.byOutcome } });
  return {
    counts,
    snapshot,
    async stop() {
      stopped = true;
      await all;
      return snapshot();
    },
  };
}

/** Counters between two snapshots. */
export function diff(after: LoadCounts, before: LoadCounts): LoadCounts {
  const byOutcome: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byOutcome)) {
    const d = v - (before.byOutcome[k] ?? 0);
    if (d) byOutcome[k] = d;
  }
  return { attempted: after.attempted - before.attempted, ok: after.ok - before.ok, failed: after.failed - before.failed, byOutcome };
}

export function describeCounts(c: LoadCounts): string {
  return `attempted=${c.attempted} ok=${c.ok} failed=${c.failed} ${JSON.stringify(c.byOutcome)}`;
}

/** A line for the per-fault figures table, printed as a TAP comment. */
export function figure(
  t: { comment(...args: unknown[]): void },
  fault: string,
  fields: Record<string, string | number>,
): void {
  t.comment(`FAULT ${fault} | ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' | ')}`);
}

export interface Sink {
  url: string;
  /** id → times seen */
  seen: Map<string, number>;
  close(): Promise<void>;
}

/**
 * An HTTP server counting requests per id: the id is the `X-Call-Id` header
 * when `byHeader` is given, else the request body. Answers 200.
 */
export async function startSink(idOf: (headers: Record<string, string | string[] | undefined>, body: string) => string): Promise<Sink> {
  const seen = new Map<string, number>();
  const srv: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const id = idOf(req.headers, body);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      res.writeHead(200).end();
    });
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Missing ids and ids seen more than once. */
export function tally(expected: Iterable<string>, seen: Map<string, number>): { lost: string[]; duplicates: number } {
  const lost: string[] = [];
  for (const id of expected) if (!seen.has(id)) lost.push(id);
  let duplicates = 0;
  for (const n of seen.values()) if (n > 1) duplicates += n - 1;
  return { lost, duplicates };
}

// ---- faas-ts up as a child process ------------------------------------------

export interface UpProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `faas-ts up` in its own process group (so a kill reaches it alone or, with killGroup, everything). */
export function spawnUp(args: string[], env: Record<string, string>, cwd = repo): UpProcess {
  const child = spawn(process.execPath, [...cliCommand(), 'up', ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      FAAS_TS_LOG_LEVEL: 'info',
      port: '0',
      metrics_port: '0',
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitForUp(run: UpProcess, timeoutMs = 45_000): Promise<{ url: string }> {
  await until(() => /^Try:/m.test(run.stdout()) || run.child.exitCode !== null, timeoutMs, 'faas-ts up banner');
  if (run.child.exitCode !== null) throw new Error(`faas-ts up exited ${run.child.exitCode}: ${run.stderr()}`);
  return { url: /^Gateway:\s+(\S+)/m.exec(run.stdout())![1]! };
}

export { killGroup };

/** Parse every *.json under `dir`; returns how many were read and the ones that do not parse. */
export function unparsableJsonFiles(dir: string): { checked: number; bad: string[] } {
  let checked = 0;
  const bad: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.json')) {
        checked++;
        try {
          JSON.parse(readFileSync(p, 'utf8'));
        } catch {
          bad.push(p);
        }
      }
    }
  };
  walk(dir);
  return { checked, bad };
}
