/** Shared by serializing and classic modes: run a child with a buffered stdin and collect output. */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { relayLines, type Logger, type LogSinks } from '../log.js';
import { exitText, killGroup, spawnErrorText, spawnGroup, splitCommand } from '../process.js';

export interface BufferedRun {
  /** stdout (or stdout+stderr interleaved when combined). */
  output: Buffer;
  stderr: Buffer;
  /** Undefined on success, else Go-worded error text (`exit status 1`, `signal: killed`). */
  error: string | undefined;
  timedOut: boolean;
}

export interface BufferedOptions {
  command: string;
  env: Record<string, string>;
  input: Buffer;
  timeoutMs: number;
  /** Put stderr into `output` too (classic combine_output). */
  combine: boolean;
  /** Relay stderr line by line to the watchdog log (of-watchdog); else collect it. */
  relay?: { prefix: boolean; maxLine: number; sinks: LogSinks; logger: Logger };
  /** Called right after the timeout killed the child. */
  onTimeout?: () => void;
  track: Set<ChildProcess>;
}

export function runBuffered(opts: BufferedOptions): Promise<BufferedRun> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawnGroup(opts.command, opts.env);
    } catch (err) {
      resolve({ output: Buffer.alloc(0), stderr: Buffer.alloc(0), error: (err as Error).message, timedOut: false });
      return;
    }
    opts.track.add(child);
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let timedOut = false;
    let spawnError: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup(child);
        opts.onTimeout?.();
      }, opts.timeoutMs);
    }
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = spawnErrorText(err, splitCommand(opts.command).file);
    });
    child.stdin!.on('error', () => {});
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    if (opts.relay) {
      relayLines(child.stderr!, {
        name: 'stderr',
        prefix: opts.relay.prefix,
        maxLine: opts.relay.maxLine,
        out: opts.relay.sinks.stderr,
        logger: opts.relay.logger,
      });
    } else {
      child.stderr!.on('data', (c: Buffer) => (opts.combine ? out : errOut).push(c));
    }
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.track.delete(child);
      const error = spawnError ?? (code === 0 ? undefined : exitText(code, signal));
      resolve({ output: Buffer.concat(out), stderr: Buffer.concat(errOut), error, timedOut });
    });
    child.stdin!.end(opts.input);
  });
}

/** Read the whole body; stop at `limit` bytes when given (serializing honours Content-Length). */
export function readBody(req: IncomingMessage, limit = -1): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (limit >= 0 && size + c.length > limit) c = c.subarray(0, Math.max(limit - size, 0));
      size += c.length;
      if (c.length) chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
