/**
 * Per-function log capture: a bounded ring of lines (oldest dropped first) plus
 * live followers. Each entry gets a sequence number so a follower never misses
 * or repeats a line between "read the backlog" and "wait for new lines".
 */
import type { LogMessage, LogRequest } from '../provider/index.js';

interface Entry {
  seq: number;
  time: number;
  instance: string;
  text: string;
}

type Listener = (entry: Entry) => void;

export class LogRing {
  readonly capacity: number;
  private readonly items: (Entry | undefined)[];
  private start = 0;
  private size = 0;
  private nextSeq = 1;
  private readonly listeners = new Set<Listener>();
  private readonly closers = new Set<() => void>();
  private closed = false;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
    this.items = new Array(this.capacity);
  }

  push(instance: string, text: string, time = Date.now()): void {
    if (this.closed) return;
    const entry: Entry = { seq: this.nextSeq++, time, instance, text };
    const at = (this.start + this.size) % this.capacity;
    this.items[at] = entry;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
    for (const l of this.listeners) l(entry);
  }

  /** Entries oldest first. */
  snapshot(): Entry[] {
    const out: Entry[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.start + i) % this.capacity]!);
    return out;
  }

  /** Ends every follower (the function was removed or the provider closed). */
  close(): void {
    this.closed = true;
    for (const c of [...this.closers]) c();
    this.listeners.clear();
  }

  /**
   * Messages matching `req`, oldest first. With `follow`, keeps yielding new
   * lines until `signal` aborts or the ring is closed.
   */
  async *read(req: LogRequest, namespace: string, signal: AbortSignal): AsyncGenerator<LogMessage> {
    const matches = (e: Entry) =>
      (!req.instance || e.instance === req.instance) && (!req.since || e.time >= req.since.getTime());
    const toMessage = (e: Entry): LogMessage => ({
      name: req.name,
      namespace,
      instance: e.instance,
      timestamp: new Date(e.time).toISOString(),
      text: e.text,
    });

    const queue: Entry[] = [];
    let wake: (() => void) | undefined;
    let ended = this.closed;
    const listener: Listener = (e) => {
      queue.push(e);
      wake?.();
    };
    const end = () => {
      ended = true;
      wake?.();
    };
    if (req.follow && !ended) {
      this.listeners.add(listener);
      this.closers.add(end);
      signal.addEventListener('abort', end, { once: true });
    }
    try {
      let backlog = this.snapshot().filter(matches);
      if (req.tail && req.tail > 0) backlog = backlog.slice(-req.tail);
      let lastSeq = 0;
      for (const e of backlog) {
        if (signal.aborted) return;
        lastSeq = e.seq;
        yield toMessage(e);
      }
      if (!req.follow) return;
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (e.seq <= lastSeq || !matches(e)) continue;
          lastSeq = e.seq;
          yield toMessage(e);
        }
        if (ended || signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      this.closers.delete(end);
      signal.removeEventListener('abort', end);
    }
  }
}

/** Splits a byte stream into lines; a trailing partial line is flushed on end. */
export class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer | string): void {
    const text = this.pending + chunk.toString();
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    // guard against a producer that never ends a line
    if (this.pending.length > 64 * 1024) {
      this.onLine(this.pending);
      this.pending = '';
    }
  }

  end(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = '';
  }
}
