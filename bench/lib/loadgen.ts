/**
 * HTTP load generator with the two protocols the benchmarks need.
 *
 * - Closed loop (`closedLoop`): N clients, each sends its next request only
 *   when the previous one has answered (JMeter thread groups, `hey -c N`,
 *   the tinyFaaS client). Throughput follows latency; tail latency is what
 *   the clients saw, but a stalled server also stops the clients from
 *   sending, so slow periods are under-sampled ("coordinated omission").
 * - Open loop (`openLoop`): requests leave on a fixed schedule (rate r: the
 *   i-th request is due at start + i/r) whatever the server does, and each
 *   latency is measured from the request's *intended* start, wrk2-style. A
 *   stall therefore shows up in the latency of every request that should
 *   have been sent during it, including the time spent queued behind busy
 *   connections or a busy load generator.
 *
 * Both run a warm-up first (its requests are sent but not recorded) and then
 * a measured phase bounded by time and by request count. Latencies go into a
 * log-bucketed `Histogram` (ms); status codes and transport errors are
 * counted. A request counts as successful when it answers 2xx within
 * `slowMs` (if given: the tinyFaaS rule "no answer within 1 s is a failure").
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { Histogram } from './histogram.js';

export interface RequestSpec {
  /** Full URL; every request of a run goes to this origin and path. */
  readonly url: string;
  readonly method?: 'GET' | 'POST' | 'PUT';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

interface PhaseOptions {
  readonly request: RequestSpec;
  /** Warm-up before measuring (requests sent, not recorded); default 0. */
  readonly warmupMs?: number;
  /** Measured phase: at most this long (sending stops; in-flight requests are awaited). */
  readonly durationMs: number;
  /** Measured phase: at most this many requests. */
  readonly maxRequests?: number;
  /** Per-request timeout (headers and body); default 10 s. */
  readonly timeoutMs?: number;
  /** Answers slower than this count as failures (still recorded in the histogram). */
  readonly slowMs?: number;
}

export interface ClosedLoopOptions extends PhaseOptions {
  readonly clients: number;
}

export interface OpenLoopOptions extends PhaseOptions {
  /** Requests per second. */
  readonly rate: number;
  /** Connections the requests share; default 64. Busy connections queue requests (and that wait counts). */
  readonly connections?: number;
}

export interface LoadResult {
  readonly mode: 'closed' | 'open';
  /** Clients (closed loop) or connections (open loop). */
  readonly connections: number;
  /** Target rate (open loop only). */
  readonly rate?: number;
  /** Measured requests sent. */
  readonly sent: number;
  /** Of those, answered with any status. */
  readonly answered: number;
  /** Answered 2xx (and within slowMs if set). */
  readonly ok: number;
  /** ok / sent × 100. */
  readonly successRate: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Transport failures by code (timeouts, resets, refused). */
  readonly errors: Readonly<Record<string, number>>;
  /** Measured phase, from its start until its last request ended (ms). */
  readonly elapsedMs: number;
  /** Successful answers per second over the measured phase. */
  readonly throughput: number;
  /** Latency of every answered request (ms; open loop: from the intended start). */
  readonly latency: Histogram;
  /**
   * Open loop: delay between each request's due time and the moment the
   * generator handed it to the client (timer granularity, a busy generator).
   * It is part of the latency; a large p99 here means the generator, not the
   * target, was the bottleneck. Empty for the closed loop.
   */
  readonly sendLag: Histogram;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.name === 'string') return e.name;
  return 'ERROR';
}

class Recorder {
  readonly latency = new Histogram();
  /** Open loop: how late the generator sent each request (its own share of the latency). */
  readonly sendLag = new Histogram();
  readonly statusCodes: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  sent = 0;
  answered = 0;
  ok = 0;
  constructor(private readonly slowMs: number | undefined) {}

  answer(status: number, ms: number): void {
    this.answered++;
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    this.latency.record(Math.max(0, ms));
    if (status >= 200 && status < 300 && (this.slowMs === undefined || ms <= this.slowMs)) this.ok++;
  }

  fail(err: unknown): void {
    const code = errorCode(err);
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  result(mode: 'closed' | 'open', connections: number, elapsedMs: number, rate?: number): LoadResult {
    return {
      mode,
      connections,
      ...(rate !== undefined ? { rate } : {}),
      sent: this.sent,
      answered: this.answered,
      ok: this.ok,
      successRate: this.sent === 0 ? Number.NaN : (this.ok / this.sent) * 100,
      statusCodes: this.statusCodes,
      errors: this.errors,
      elapsedMs,
      throughput: elapsedMs > 0 ? (this.ok / elapsedMs) * 1000 : Number.NaN,
      latency: this.latency,
      sendLag: this.sendLag,
    };
  }
}

function checkPhase(o: PhaseOptions): void {
  if (!(o.durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${o.durationMs}`);
  if (o.maxRequests !== undefined && !(o.maxRequests > 0)) throw new RangeError(`maxRequests must be > 0, got ${o.maxRequests}`);
}

function makePool(url: URL, connections: number): Pool {
  return new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
}

/** One request on the pool; resolves with its status (the body is read to the end). */
async function send(pool: Pool, path: string, spec: RequestSpec, timeoutMs: number): Promise<number> {
  const res = await pool.request({
    path,
    method: spec.method ?? 'GET',
    headers: spec.headers,
    body: spec.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  await res.body.arrayBuffer();
  return res.statusCode;
}

/**
 * Closed loop: `clients` concurrent clients on as many keep-alive
 * connections. Each client sends at least one measured request, so a target
 * slower than the whole phase still gets `clients` samples.
 */
export async function closedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  checkPhase(o);
  if (!(Number.isInteger(o.clients) && o.clients > 0)) throw new RangeError(`clients must be a positive integer, got ${o.clients}`);
  const url = new URL(o.request.url);
  const path = url.pathname + url.search;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool = makePool(url, o.clients);
  const rec = new Recorder(o.slowMs);
  const start = performance.now();
  const measureFrom = start + (o.warmupMs ?? 0);
  const stopAt = measureFrom + o.durationMs;
  const max = o.maxRequests ?? Number.POSITIVE_INFINITY;
  let lastEnd = measureFrom;

  const client = async (): Promise<void> => {
    let mine = 0;
    for (;;) {
      const t0 = performance.now();
      // A client whose warm-up requests outlasted the whole phase (a target
      // slower than warm-up + duration) still sends one measured request.
      if (t0 >= stopAt && mine > 0) return;
      const measured = t0 >= measureFrom;
      if (measured) mine++;
      if (measured) {
        if (rec.sent >= max) return;
        rec.sent++;
      }
      try {
        const status = await send(pool, path, o.request, timeoutMs);
        const t1 = performance.now();
        if (measured) {
          rec.answer(status, t1 - t0);
          lastEnd = Math.max(lastEnd, t1);
        }
      } catch (err) {
        if (measured) {
          rec.fail(err);
          lastEnd = Math.max(lastEnd, performance.now());
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.clients }, client));
  } finally {
    await pool.destroy();
  }
  return rec.result('closed', o.clients, lastEnd - measureFrom);
}

/**
 * Open loop at a fixed rate. Requests due while the generator was busy are
 * sent as soon as it can, still timed from when they were due. At most
 * rate × timeout + connections requests are outstanding; a request due
 * beyond that is counted as the error `BACKLOG` (the target cannot keep up).
 * After the schedule ends, requests still queued get `timeoutMs` to finish;
 * the rest fail (undici's destroyed-client error), which bounds every run to
 * warm-up + duration + timeout.
 */
export async function openLoop(o: OpenLoopOptions): Promise<LoadResult> {
  checkPhase(o);
  if (!(o.rate > 0)) throw new RangeError(`rate must be > 0, got ${o.rate}`);
  const connections = o.connections ?? 64;
  const url = new URL(o.request.url);
  const path = url.pathname + url.search;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool = makePool(url, connections);
  const rec = new Recorder(o.slowMs);
  const interval = 1000 / o.rate;
  const maxOutstanding = Math.ceil(o.rate * (timeoutMs / 1000)) + connections;
  const start = performance.now();
  const measureFrom = start + (o.warmupMs ?? 0);
  const stopAt = measureFrom + o.durationMs;
  const max = o.maxRequests ?? Number.POSITIVE_INFINITY;
  let outstanding = 0;
  let lastEnd = measureFrom;
  const inflight = new Set<Promise<void>>();

  const fire = (due: number): void => {
    const measured = due >= measureFrom;
    if (measured) rec.sent++;
    if (outstanding >= maxOutstanding) {
      if (measured) rec.fail({ code: 'BACKLOG' });
      return;
    }
    outstanding++;
    const p = send(pool, path, o.request, timeoutMs).then(
      (status) => {
        const t1 = performance.now();
        if (measured) {
          rec.answer(status, t1 - due);
          lastEnd = Math.max(lastEnd, t1);
        }
      },
      (err: unknown) => {
        if (measured) {
          rec.fail(err);
          lastEnd = Math.max(lastEnd, performance.now());
        }
      },
    );
    const tracked = p.finally(() => {
      outstanding--;
      inflight.delete(tracked);
    });
    inflight.add(tracked);
  };

  try {
    let i = 0;
    for (;;) {
      const due = start + i * interval;
      if (due >= stopAt || (due >= measureFrom && rec.sent >= max)) break;
      // Timers may wake up to a millisecond early: never send before the due time.
      for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
        await new Promise((r) => setTimeout(r, Math.ceil(wait)));
      }
      if (due >= measureFrom) rec.sendLag.record(performance.now() - due);
      fire(due);
      i++;
      // Yield now and then so answers get processed even when far behind.
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    // Requests still queued when the schedule ends get one timeout to finish;
    // destroying the pool then fails the rest (counted as errors), so an
    // overloaded target cannot stretch a run without bound.
    const drained = Promise.all([...inflight]).then(() => true);
    const late = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    await Promise.race([drained, late]);
  } finally {
    await pool.destroy();
  }
  while (inflight.size > 0) await Promise.all([...inflight]);
  return rec.result('open', connections, lastEnd - measureFrom, o.rate);
}
