/**
 * Watchdog logging: its own messages with Go's `YYYY/MM/DD HH:MM:SS ` prefix,
 * and the line-by-line relay of child output (spec §5).
 */
import type { Readable, Writable } from 'node:stream';

export interface Logger {
  /** One watchdog message, prefixed with date and time. */
  log(msg: string): void;
  /** Write out anything batched (call before exiting). */
  flush?(): void;
}

export interface LogSinks {
  stdout: Writable;
  stderr: Writable;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Go's log package default prefix, in local time. */
export function timestamp(d = new Date()): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

/**
 * Lines logged in the same turn of the event loop go out in one write: under
 * load the per-request log line would otherwise cost a syscall per request.
 */
export function createLogger(out: Writable): Logger {
  let batch = '';
  let scheduled = false;
  let stamp = '';
  let stampSecond = -1;
  const flush = (): void => {
    scheduled = false;
    if (batch === '') return;
    const text = batch;
    batch = '';
    out.write(text);
  };
  return {
    log(msg) {
      const now = Date.now();
      const second = Math.floor(now / 1000);
      if (second !== stampSecond) {
        stampSecond = second;
        stamp = timestamp(new Date(now));
      }
      batch += `${stamp} ${msg}\n`;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export interface RelayOptions {
  name: 'stdout' | 'stderr';
  prefix: boolean;
  /** Max bytes per line; negative = unbounded. */
  maxLine: number;
  out: Writable;
  logger: Logger;
}

/**
 * Relay `src` to `opts.out` line by line. A line longer than `maxLine` logs
 * `Error reading <name>: bufio.Scanner: token too long` and relaying stops, as
 * upstream; unlike upstream we keep draining (and discarding) the pipe so a
 * long-lived child never blocks on a full pipe.
 */
export function relayLines(src: Readable, opts: RelayOptions): void {
  opts.logger.log(`Started logging: ${opts.name} from function.`);
  let pending: Buffer | undefined;
  let stopped = false;
  const emit = (line: Buffer): void => {
    let s = line.toString('utf8');
    if (s.endsWith('\r')) s = s.slice(0, -1);
    opts.out.write(opts.prefix ? `${timestamp()} ${opts.name}: ${s}\n` : `${s}\n`);
  };
  const tooLong = (): void => {
    stopped = true;
    pending = undefined;
    opts.logger.log(`Error reading ${opts.name}: bufio.Scanner: token too long`);
  };
  src.on('data', (chunk: Buffer) => {
    if (stopped) return;
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      if (opts.maxLine >= 0 && nl - start > opts.maxLine) return tooLong();
      emit(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start < buf.length) {
      buf = buf.subarray(start);
      if (opts.maxLine >= 0 && buf.length > opts.maxLine) return tooLong();
      pending = Buffer.from(buf);
    }
  });
  src.on('end', () => {
    // Go's bufio.Scanner yields a final unterminated line; the unbounded reader drops it.
    if (!stopped && pending && pending.length > 0 && opts.maxLine >= 0) emit(pending);
    pending = undefined;
  });
  src.on('error', () => {});
}

/** Decimal human size with 4 significant digits, as `%.4g` of go-humanize (`39B`, `1.5kB`). */
export function humanSize(n: number): string {
  if (n < 0) return `${n}B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
