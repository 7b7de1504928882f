/**
 * Docker service logs → LogMessage (spec/async-scaling-providers.md §3.6).
 *
 * The Engine sends service logs as a multiplexed stream: frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian uint32 length) and a payload. With
 * `timestamps` and `details` each line reads `<RFC3339Nano> <k=v,k=v,...> <text>`;
 * the details carry `com.docker.swarm.task.id`, which becomes the instance.
 */
import type { LogMessage } from '../provider/index.js';

/** Incremental demultiplexer: feed chunks, get whole frames' payload lines back. */
export class LogDemuxer {
  private buf: Buffer = Buffer.alloc(0);
  private partial = '';

  /** Lines completed by this chunk (without the trailing newline). */
  push(chunk: Buffer): string[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const lines: string[] = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const payload = this.buf.subarray(8, 8 + size).toString('utf8');
      this.buf = this.buf.subarray(8 + size);
      const parts = (this.partial + payload).split('\n');
      this.partial = parts.pop() ?? '';
      lines.push(...parts);
    }
    return lines;
  }

  /** Whatever is left when the stream ends (a last line without a newline). */
  end(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest.replace(/\0/g, '').trim() ? [rest] : [];
  }
}

/** Parse one `<ts> <details> <text>` line; undefined for lines that are not shaped so. */
export function parseLogLine(line: string, name: string, namespace: string): LogMessage | undefined {
  const clean = line.replace(/\0/g, '');
  const a = clean.indexOf(' ');
  if (a < 0) return undefined;
  const timestamp = clean.slice(0, a);
  if (Number.isNaN(Date.parse(timestamp))) return undefined;
  const b = clean.indexOf(' ', a + 1);
  const details = b < 0 ? clean.slice(a + 1) : clean.slice(a + 1, b);
  const text = b < 0 ? '' : clean.slice(b + 1);
  let instance = '';
  for (const kv of details.split(',')) {
    const i = kv.indexOf('=');
    if (i > 0 && kv.slice(0, i) === 'com.docker.swarm.task.id') instance = kv.slice(i + 1);
  }
  return { name, namespace, instance, timestamp, text: text.trim() };
}

/** Sort key for RFC 3339 UTC timestamps with 0-9 fraction digits (Docker trims trailing zeros). */
export function timeKey(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!m) return new Date(Date.parse(ts) || 0).toISOString().slice(0, 19) + '.000000000';
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/**
 * Docker applies `tail` per task and interleaves tasks; the provider contract wants the
 * last N lines of the function, oldest first. Stable sort by time, then keep the last N.
 */
export function lastLines(messages: LogMessage[], tail: number | undefined): LogMessage[] {
  const sorted = messages
    .map((m, i) => ({ m, i, k: timeKey(m.timestamp) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
    .map((x) => x.m);
  return tail && tail > 0 ? sorted.slice(-tail) : sorted;
}
