/**
 * The embedded durable queue: async invocation with no NATS (`npm start`).
 * One process owns a directory; the gateway's enqueue side and the worker's
 * consumer side share the same FileQueue object.
 *
 * On disk (`dir`):
 *   LOCK                    pid of the owner; a stale pid (dead process) is taken over
 *   segments/<seq>.log      append-only records, named by their first sequence:
 *                           [u32 length][u32 crc32(payload)] payload = [u64 seq][message bytes]
 *   journal.log             append-only state lines: `L seq` delivered, `A seq` done
 *                           (acked or dead-lettered), `N seq notBeforeMs` retry later,
 *                           `R first last` (a compacted run of done sequences)
 *   dead/<seq>.json         one dead letter per file (written to tmp/, fsynced, renamed)
 *
 * Durability: enqueue() resolves after the record is written to the segment
 * and, with `fsync: 'always'` (default), fdatasync'ed. Enqueues that arrive
 * together share one write and one fdatasync (group commit), which is what
 * makes thousands per second possible. `fsync: 'never'` still survives a
 * killed process (the data is in the kernel) but not a power loss. Journal
 * lines are written without fsync: losing some after a power loss only means
 * a message runs again (at-least-once), never that one is lost.
 *
 * Recovery: read the journal, then every segment; a torn record at the end of
 * the last segment (crash mid-write, never acknowledged to a caller) is cut
 * off. Messages without an `A` line are queued again in sequence order; the
 * number of `L` lines is the delivery count, so a message that keeps killing
 * its worker is eventually dead-lettered ('delivery-limit').
 *
 * Leases do not expire: the consumer lives in the same process, so a crash
 * releases everything at once (on restart) and a long function needs no
 * heartbeat (heartbeatMs = 0).
 */
import { closeSync, constants as fsConstants, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';

/** Queue files hold request bodies and headers: readable by the owner only. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { QueueRequest, RequestQueuer } from '../provider/index.js';
import { QueueWorkerError } from './errors.js';
import type { DeadLetter, DeadLetterInfo, DeadLetterStore, Delivery, QueueSource } from './source.js';

export interface FileQueueOptions {
  dir: string;
  /** `always` (default): fdatasync each group commit before enqueue resolves. */
  fsync?: 'always' | 'never';
  /** Roll to a new segment file after this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Largest message accepted (default 16 MiB). */
  maxMsgBytes?: number;
  /** Rewrite the journal once it exceeds this size (default 8 MiB). */
  journalCompactBytes?: number;
  /**
   * Bytes of freshly enqueued messages kept in memory until their first
   * delivery (default 64 MiB), so the consumer need not read them back from
   * disk behind the enqueue fsyncs. Everything is on disk regardless.
   */
  cacheBytes?: number;
}

export interface FileQueueStats {
  /** Stored and not done (ready + delayed + leased). */
  live: number;
  ready: number;
  delayed: number;
  leased: number;
  segments: number;
}

export interface FileQueue extends RequestQueuer {
  /** Store raw bytes as a message (replays; tests of malformed input). */
  enqueueRaw(data: Uint8Array): Promise<void>;
  /** The consumer side: the active consumer, or a new one once the previous was stopped. */
  source(): QueueSource;
  readonly deadLetters: DeadLetterStore;
  stats(): FileQueueStats;
}

const HEADER = 8;
const SEQ_BYTES = 8;

interface Meta {
  seq: number;
  segment: number;
  /** Offset of the message bytes (after header and seq). */
  offset: number;
  length: number;
  deliveries: number;
  state: 'ready' | 'delayed' | 'leased';
  /** The bytes, kept from enqueue until first delivery while within the cache budget. */
  data?: Buffer;
  timer?: NodeJS.Timeout;
}

interface Segment {
  start: number;
  path: string;
  live: number;
  size: number;
  reader?: FileHandle;
}

interface Pending {
  data: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

function segName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.log`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(path: string): void {
  for (let i = 0; i < 3; i++) {
    try {
      const fd = openSync(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // vanished meanwhile: retry
      }
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) {
        throw new QueueWorkerError('QW_ERR_LOCKED', `queue directory ${path} is in use by process ${holder}`);
      }
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over: retry
      }
    }
  }
  throw new QueueWorkerError('QW_ERR_LOCKED', `could not take the lock ${path}`);
}

/** Open (creating if needed) the queue in `dir`, recovering whatever a previous process left. */
export async function createFileQueue(opts: FileQueueOptions): Promise<FileQueue> {
  const dir = opts.dir;
  const fsyncAlways = (opts.fsync ?? 'always') === 'always';
  const segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
  const maxMsgBytes = opts.maxMsgBytes ?? 16 * 1024 * 1024;
  const journalCompactBytes = opts.journalCompactBytes ?? 8 * 1024 * 1024;
  const cacheBudget = opts.cacheBytes ?? 64 * 1024 * 1024;
  let cachedBytes = 0;
  // Queued requests carry bodies and headers (credentials, personal data): owner-only.
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const segDir = join(dir, 'segments');
  const deadDir = join(dir, 'dead');
  const tmpDir = join(dir, 'tmp');
  await mkdir(segDir, { recursive: true, mode: DIR_MODE });
  await mkdir(deadDir, { recursive: true, mode: DIR_MODE });
  await mkdir(tmpDir, { recursive: true, mode: DIR_MODE });
  const lockPath = join(dir, 'LOCK');
  acquireLock(lockPath);

  const live = new Map<number, Meta>();
  const segments = new Map<number, Segment>();
  const ready: number[] = []; // sequences, ascending within each refill
  let readyHead = 0;
  let nextSeq = 1;
  let closed = false;

  // ---- recovery -------------------------------------------------------
  const done = new Set<number>();
  const doneRanges: Array<[number, number]> = [];
  const delivered = new Map<number, number>();
  const notBefore = new Map<number, number>();
  const journalPath = join(dir, 'journal.log');
  let journalText = '';
  try {
    journalText = await readFile(journalPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const lines = journalText.split('\n');
  lines.pop(); // the part after the last newline is empty or torn
  for (const line of lines) {
    const [op, a, b] = line.split(' ');
    const seq = Number(a);
    if (!Number.isInteger(seq)) continue;
    if (op === 'A') done.add(seq);
    else if (op === 'L') delivered.set(seq, (delivered.get(seq) ?? 0) + 1);
    else if (op === 'N') notBefore.set(seq, Number(b));
    else if (op === 'R') doneRanges.push([seq, Number(b)]);
  }
  doneRanges.sort((a, b) => a[0] - b[0]);
  const isDone = (seq: number): boolean => {
    if (done.has(seq)) return true;
    // Binary search for the last run starting at or before seq.
    let lo = 0;
    let hi = doneRanges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (doneRanges[mid]![0] <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && seq <= doneRanges[hi]![1];
  };

  const segFiles = (await readdir(segDir)).filter((f) => /^\d{16}\.log$/.test(f)).sort();
  for (let i = 0; i < segFiles.length; i++) {
    const start = Number(segFiles[i]!.slice(0, 16));
    const path = join(segDir, segFiles[i]!);
    const buf = await readFile(path);
    const seg: Segment = { start, path, live: 0, size: 0 };
    let off = 0;
    nextSeq = Math.max(nextSeq, start);
    while (off + HEADER + SEQ_BYTES <= buf.length) {
      const len = buf.readUInt32BE(off);
      const sum = buf.readUInt32BE(off + 4);
      if (len < SEQ_BYTES || off + HEADER + len > buf.length) break;
      const payload = buf.subarray(off + HEADER, off + HEADER + len);
      if (crc32(payload) !== sum) break;
      const seq = Number(payload.readBigUInt64BE(0));
      if (!isDone(seq)) {
        live.set(seq, {
          seq,
          segment: start,
          offset: off + HEADER + SEQ_BYTES,
          length: len - SEQ_BYTES,
          deliveries: delivered.get(seq) ?? 0,
          state: 'ready',
        });
        seg.live++;
      }
      nextSeq = Math.max(nextSeq, seq + 1);
      off += HEADER + len;
    }
    if (off < buf.length) {
      if (i === segFiles.length - 1) {
        // Torn tail: never acknowledged to anyone, cut it off.
        const fh = await open(path, 'r+');
        await fh.truncate(off);
        await fh.sync();
        await fh.close();
      } else {
        throw new QueueWorkerError('QW_ERR_ENQUEUE', `corrupt record in ${path} at byte ${off}`);
      }
    }
    seg.size = off;
    segments.set(start, seg);
  }
  // Drop fully done segments, except the last (it carries nextSeq).
  const lastStart = segFiles.length ? Number(segFiles[segFiles.length - 1]!.slice(0, 16)) : -1;
  for (const seg of [...segments.values()]) {
    if (seg.live === 0 && seg.start !== lastStart) {
      await rm(seg.path, { force: true });
      segments.delete(seg.start);
    }
  }
  const delayed: Meta[] = [];
  for (const m of [...live.values()].sort((x, y) => x.seq - y.seq)) {
    const nb = notBefore.get(m.seq);
    if (nb !== undefined && nb > Date.now()) delayed.push(m);
    else ready.push(m.seq);
  }

  // ---- writers --------------------------------------------------------
  let active: { seg: Segment; fh: FileHandle } | undefined;
  if (lastStart >= 0 && segments.has(lastStart)) {
    const seg = segments.get(lastStart)!;
    active = { seg, fh: await open(seg.path, 'a', FILE_MODE) };
  }
  let journal = await open(journalPath, 'a', FILE_MODE);
  let journalSize = (await stat(journalPath)).size;

  /** Every sequence below this is in `live` or done (see compactJournal). */
  let committedSeq = nextSeq;
  let batch: Pending[] = [];
  let flushing: Promise<void> | undefined;
  let journalBuf: string[] = [];
  let journalFlushing: Promise<void> | undefined;
  const journalWaiters: Array<() => void> = [];
  let consumerWake: (() => void) | undefined;

  async function fsyncDir(path: string): Promise<void> {
    if (!fsyncAlways) return;
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async function activeSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    if (active && active.seg.size < segmentBytes) return active;
    const seg: Segment = { start: nextSeq, path: join(segDir, segName(nextSeq)), live: 0, size: 0 };
    const fh = await open(seg.path, 'a', FILE_MODE);
    await fsyncDir(segDir);
    const old = active;
    active = { seg, fh };
    segments.set(seg.start, seg);
    if (old) {
      await old.fh.close();
      maybeDropSegment(old.seg);
    }
    return active;
  }

  /**
   * The segment a failed group commit may have left part of a batch in
   * (ENOSPC, EIO): cut back to its last good size before anything is appended,
   * or the records after the torn bytes would be unreadable on the next open.
   */
  let torn: { seg: Segment; fh: FileHandle } | undefined;
  async function cutTornTail(): Promise<void> {
    if (!torn) return;
    await torn.fh.truncate(torn.seg.size);
    torn = undefined;
  }

  function scheduleFlush(): void {
    if (flushing || batch.length === 0) return;
    flushing = (async () => {
      while (batch.length > 0) {
        const items = batch;
        batch = [];
        let target: { seg: Segment; fh: FileHandle } | undefined;
        try {
          await cutTornTail();
          target = await activeSegment();
          const { seg, fh } = target;
          const parts: Buffer[] = [];
          const metas: Meta[] = [];
          let offset = seg.size;
          for (const item of items) {
            const seq = nextSeq++;
            const payload = Buffer.allocUnsafe(SEQ_BYTES + item.data.byteLength);
            payload.writeBigUInt64BE(BigInt(seq), 0);
            payload.set(item.data, SEQ_BYTES);
            const header = Buffer.allocUnsafe(HEADER);
            header.writeUInt32BE(payload.length, 0);
            header.writeUInt32BE(crc32(payload), 4);
            parts.push(header, payload);
            const meta: Meta = { seq, segment: seg.start, offset: offset + HEADER + SEQ_BYTES, length: item.data.byteLength, deliveries: 0, state: 'ready' };
            if (cachedBytes + meta.length <= cacheBudget) {
              meta.data = payload.subarray(SEQ_BYTES);
              cachedBytes += meta.length;
            }
            metas.push(meta);
            offset += HEADER + payload.length;
          }
          const buf = Buffer.concat(parts);
          let written = 0;
          while (written < buf.length) written += (await fh.write(buf, written, buf.length - written)).bytesWritten;
          if (fsyncAlways) await fh.datasync();
          seg.size = offset;
          for (const m of metas) {
            live.set(m.seq, m);
            seg.live++;
            ready.push(m.seq);
          }
          committedSeq = nextSeq;
          for (const item of items) item.resolve();
          wakeConsumer();
        } catch (err) {
          committedSeq = nextSeq;
          if (target) {
            torn = target;
            await cutTornTail().catch(() => undefined); // else retried before the next write
          }
          const e = new QueueWorkerError('QW_ERR_ENQUEUE', `file queue write failed: ${(err as Error).message}`, { cause: err });
          for (const item of items) item.reject(e);
        }
      }
    })().finally(() => {
      flushing = undefined;
      scheduleFlush();
    });
  }

  function enqueueRaw(data: Uint8Array): Promise<void> {
    if (closed) return Promise.reject(new QueueWorkerError('QW_ERR_CLOSED', 'queue closed'));
    if (data.byteLength > maxMsgBytes) {
      return Promise.reject(
        new QueueWorkerError('QW_ERR_TOO_LARGE', `message of ${data.byteLength} bytes exceeds the queue's maximum of ${maxMsgBytes} bytes`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      batch.push({ data, resolve, reject });
      if (!flushing) setImmediate(scheduleFlush);
    });
  }

  let journalClosed = false;
  function journalWrite(line: string): Promise<void> {
    // After close() the line is dropped: the message simply runs again on restart.
    if (journalClosed) return Promise.resolve();
    journalBuf.push(line);
    const p = new Promise<void>((r) => journalWaiters.push(r));
    startJournalFlush();
    return p;
  }

  function startJournalFlush(): void {
    if (journalFlushing || journalBuf.length === 0) return;
    journalFlushing = (async () => {
      while (journalBuf.length > 0) {
        const text = journalBuf.join('');
        journalBuf = [];
        const waiters = journalWaiters.splice(0);
        try {
          const b = Buffer.from(text);
          await journal.write(b);
          journalSize += b.length;
        } finally {
          for (const w of waiters) w();
        }
        if (journalSize > journalCompactBytes) await compactJournal();
      }
    })()
      // A failed journal write costs at most a duplicate run after a restart.
      .catch(() => undefined)
      .finally(() => {
        journalFlushing = undefined;
        // Lines queued between the loop's last check and now.
        startJournalFlush();
      });
  }

  /**
   * Rewrite the journal as: runs of done sequences (all of 1..nextSeq-1 that
   * is not live, so segments whose deletion is still in flight stay covered)
   * + the delivery counts of live messages.
   */
  async function compactJournal(): Promise<void> {
    const out: string[] = [];
    const liveSeqs = [...live.keys()].sort((a, b) => a - b);
    let from = 1;
    for (const seq of liveSeqs) {
      if (seq > from) out.push(`R ${from} ${seq - 1}\n`);
      from = seq + 1;
    }
    // Only up to committedSeq: a batch being written has sequence numbers but is not yet in `live`.
    if (from <= committedSeq - 1) out.push(`R ${from} ${committedSeq - 1}\n`);
    for (const m of live.values()) {
      for (let i = 0; i < m.deliveries; i++) out.push(`L ${m.seq}\n`);
    }
    const tmp = join(tmpDir, `journal.${process.pid}.tmp`);
    const fh = await open(tmp, 'w', FILE_MODE);
    const b = Buffer.from(out.join(''));
    await fh.write(b);
    await fh.sync();
    await fh.close();
    await journal.close();
    await rename(tmp, journalPath);
    await fsyncDir(dir);
    journal = await open(journalPath, 'a', FILE_MODE);
    journalSize = b.length;
  }

  function maybeDropSegment(seg: Segment): void {
    if (seg.live > 0 || seg === active?.seg) return;
    segments.delete(seg.start);
    const reader = seg.reader;
    seg.reader = undefined;
    void (async () => {
      await reader?.close().catch(() => undefined);
      await rm(seg.path, { force: true });
    })();
  }

  function finish(m: Meta): Promise<void> {
    if (!live.delete(m.seq)) return Promise.resolve();
    if (m.timer) clearTimeout(m.timer);
    const seg = segments.get(m.segment);
    const p = journalWrite(`A ${m.seq}\n`);
    if (seg) {
      seg.live--;
      // Drop the segment only once its `A` lines are written.
      void p.then(() => maybeDropSegment(seg));
    }
    return p;
  }

  function wakeConsumer(): void {
    const w = consumerWake;
    consumerWake = undefined;
    w?.();
  }

  function makeReady(m: Meta): void {
    m.state = 'ready';
    m.timer = undefined;
    ready.push(m.seq);
    wakeConsumer();
  }

  function delay(m: Meta, ms: number): void {
    m.state = 'delayed';
    m.timer = setTimeout(() => {
      if (live.get(m.seq) === m) makeReady(m);
    }, ms);
  }
  for (const m of delayed) delay(m, Math.max(0, (notBefore.get(m.seq) ?? 0) - Date.now()));

  async function readMessage(m: Meta): Promise<Buffer> {
    if (m.data) {
      const data = m.data;
      m.data = undefined;
      cachedBytes -= m.length;
      return data;
    }
    const seg = segments.get(m.segment);
    if (!seg) throw new Error(`segment ${m.segment} missing for message ${m.seq}`);
    seg.reader ??= await open(seg.path, 'r');
    const buf = Buffer.allocUnsafe(m.length);
    let got = 0;
    while (got < m.length) {
      const { bytesRead } = await seg.reader.read(buf, got, m.length - got, m.offset + got);
      if (bytesRead === 0) throw new Error(`short read of message ${m.seq}`);
      got += bytesRead;
    }
    return buf;
  }

  async function writeDeadLetter(m: Meta, data: Buffer, info: DeadLetterInfo): Promise<void> {
    const entry: DeadLetter & { payloadBase64: string } = {
      id: String(m.seq),
      reason: info.reason,
      detail: info.detail,
      attempts: info.attempts,
      ...(info.lastStatus !== undefined ? { lastStatus: info.lastStatus } : {}),
      ...(info.function ? { function: info.function } : {}),
      deadAt: new Date().toISOString(),
      payload: data.toString('utf8'),
      payloadBase64: data.toString('base64'),
    };
    const tmp = join(tmpDir, `dead-${m.seq}.json`);
    const fh = await open(tmp, 'w', FILE_MODE);
    await fh.write(JSON.stringify(entry));
    await fh.sync();
    await fh.close();
    await rename(tmp, join(deadDir, `${String(m.seq).padStart(16, '0')}.json`));
    await fsyncDir(deadDir);
  }

  // ---- consumer ---------------------------------------------------------
  function takeReady(): Meta | undefined {
    while (readyHead < ready.length) {
      const seq = ready[readyHead++]!;
      const m = live.get(seq);
      if (m && m.state === 'ready') return m;
    }
    ready.length = 0;
    readyHead = 0;
    return undefined;
  }

  /** One consumer at a time; after stop() the next source() call starts a fresh one. */
  let current: QueueSource | undefined;
  function newSource(): QueueSource {
    let stopped = false;
    const src: QueueSource = {
      kind: 'file',
      heartbeatMs: 0,
      async next() {
        for (;;) {
          if (stopped || closed) return null;
          const m = takeReady();
          if (m) {
            if (readyHead > 4096 && readyHead * 2 > ready.length) {
              ready.splice(0, readyHead);
              readyHead = 0;
            }
            m.state = 'leased';
            m.deliveries++;
            void journalWrite(`L ${m.seq}\n`);
            const data = await readMessage(m);
            return delivery(m, data);
          }
          await new Promise<void>((r) => (consumerWake = r));
        }
      },
      async stop() {
        stopped = true;
        if (current === src) current = undefined;
        wakeConsumer();
      },
      async pending() {
        let n = 0;
        for (const m of live.values()) if (m.state !== 'leased') n++;
        return n;
      },
    };
    return src;
  }

  function delivery(m: Meta, data: Buffer): Delivery {
    let settled = false;
    const once = () => {
      if (settled) throw new Error(`message ${m.seq} already settled`);
      settled = true;
    };
    return {
      id: String(m.seq),
      data,
      attempt: m.deliveries,
      async ack() {
        once();
        await finish(m);
      },
      async retry(delayMs) {
        once();
        if (live.get(m.seq) !== m) return;
        if (delayMs > 0) {
          await journalWrite(`N ${m.seq} ${Date.now() + delayMs}\n`);
          delay(m, delayMs);
        } else makeReady(m);
      },
      working() {},
      async deadLetter(info) {
        once();
        await writeDeadLetter(m, data, info);
        await finish(m);
      },
    };
  }

  // ---- dead letters -----------------------------------------------------
  async function readDead(file: string): Promise<(DeadLetter & { payloadBase64?: string }) | undefined> {
    try {
      return JSON.parse(await readFile(join(deadDir, file), 'utf8')) as DeadLetter & { payloadBase64?: string };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  const deadFile = (id: string) => `${id.padStart(16, '0')}.json`;
  const deadLetters: DeadLetterStore = {
    async list(o) {
      const limit = o?.limit ?? 100;
      const files = (await readdir(deadDir)).filter((f) => f.endsWith('.json')).sort().slice(0, limit);
      const out: DeadLetter[] = [];
      for (const f of files) {
        const d = await readDead(f);
        if (d) {
          const { payloadBase64: _omit, ...rest } = d;
          out.push(rest);
        }
      }
      return out;
    },
    async replay(ids) {
      const files = ids
        ? ids.map((id) => {
            if (!/^\d+$/.test(id)) throw new QueueWorkerError('QW_ERR_NOT_FOUND', `dead letter ${id} not found`);
            return deadFile(id);
          })
        : (await readdir(deadDir)).filter((f) => f.endsWith('.json')).sort();
      let n = 0;
      for (const f of files) {
        const d = await readDead(f);
        if (!d) {
          if (ids) throw new QueueWorkerError('QW_ERR_NOT_FOUND', `dead letter ${f.replace(/^0+|\.json$/g, '')} not found`);
          continue;
        }
        // 1. durable in the queue again, 2. only then out of the dead-letter area.
        await enqueueRaw(d.payloadBase64 ? Buffer.from(d.payloadBase64, 'base64') : Buffer.from(d.payload));
        await rm(join(deadDir, f), { force: true });
        n++;
      }
      return n;
    },
    async discard(ids) {
      let n = 0;
      for (const id of ids) {
        if (!/^\d+$/.test(id)) continue;
        const path = join(deadDir, deadFile(id));
        try {
          await stat(path);
        } catch {
          continue;
        }
        await rm(path, { force: true });
        n++;
      }
      return n;
    },
  };

  return {
    enqueue: (req: QueueRequest) => enqueueRaw(Buffer.from(JSON.stringify(req))),
    enqueueRaw,
    source: () => (current ??= newSource()),
    deadLetters,
    stats() {
      let r = 0;
      let d = 0;
      let l = 0;
      for (const m of live.values()) {
        if (m.state === 'ready') r++;
        else if (m.state === 'delayed') d++;
        else l++;
      }
      return { live: live.size, ready: r, delayed: d, leased: l, segments: segments.size };
    },
    async close() {
      if (closed) return;
      closed = true;
      wakeConsumer();
      while (flushing || batch.length > 0) {
        scheduleFlush();
        await flushing;
      }
      while (journalFlushing) await journalFlushing;
      journalClosed = true;
      for (const m of live.values()) if (m.timer) clearTimeout(m.timer);
      await active?.fh.close();
      for (const seg of segments.values()) await seg.reader?.close().catch(() => undefined);
      await journal.close();
      try {
        if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
      } catch {
        // already gone
      }
    },
  };
}
