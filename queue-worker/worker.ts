/**
 * The queue worker: takes deliveries from a QueueSource, invokes the function,
 * posts the callback and settles each delivery with exactly one outcome:
 *
 *   function answered, status not retryable      → callback, ack
 *   retryable failure, attempts left              → retry(backoff)   (no callback yet)
 *   retryable failure, last attempt               → callback, deadLetter('max-attempts')
 *   unreadable message                            → deadLetter('malformed')
 *   delivered more than maxAttempts times already → deadLetter('delivery-limit')
 *
 * "Retryable" = a transport error (no response, status reported as 503) or a
 * status in retry.retryOn. Every held delivery gets working() heartbeats from
 * the moment it is received until it is settled, so a long function or a wait
 * for a per-function slot never exceeds the ack deadline (no duplicate run).
 */
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { backoffMs, DEFAULT_RETRY_CODES, type RetryConfig } from './config.js';
import { QueueWorkerError } from './errors.js';
import { createCallbacks, createGatewayInvoker, type Callbacks, type Invoke, type InvokeResult } from './invoker.js';
import { decodeQueueRequest, headerValue, invocationPath, type DecodedRequest } from './message.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import type { Delivery, QueueSource } from './source.js';
import type { Pool } from 'undici';

export type WorkerLogger = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/** Time source for durations, heartbeats and the drain deadline (tests may pass their own). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    h.unref();
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface QueueWorkerOptions {
  source: QueueSource;
  /** Invoke through `POST {gatewayUrl}/function/...`. Either this or `invoke`. */
  gatewayUrl?: string;
  /** TLS options for an https gatewayUrl (faas-ts up pins its own certificate). */
  gatewayConnect?: Pool.Options['connect'];
  /** Custom invocation (e.g. straight to a provider); overrides gatewayUrl. */
  invoke?: Invoke;
  /** Invocations in flight at once (default 1). */
  concurrency?: number;
  /** Invocations in flight per function; 0/undefined = no limit. */
  perFunctionConcurrency?: number;
  retry?: Partial<RetryConfig>;
  /** Heartbeat period is a third of this; default: the source's own heartbeatMs. */
  ackWaitMs?: number;
  /** Upper bound for one invocation (0 = none; default 300 s). */
  invokeTimeoutMs?: number;
  callbackTimeoutMs?: number;
  /** Tries per callback on connection errors / 5xx (default 3). */
  callbackAttempts?: number;
  /** How long close() waits for running invocations before aborting them (default 30 s). */
  drainTimeoutMs?: number;
  logger?: WorkerLogger;
  /** Metrics go here; a fresh Registry when omitted. */
  registry?: Registry;
  clock?: Clock;
}

export interface WorkerStats {
  received: number;
  acked: number;
  retried: number;
  deadLettered: number;
  inFlight: number;
  buffered: number;
}

export interface QueueWorker {
  readonly registry: Registry;
  stats(): WorkerStats;
  /** Stop taking work, let running invocations finish, release buffered ones. */
  close(): Promise<void>;
}

interface Held {
  delivery: Delivery;
  decoded: DecodedRequest;
  receivedAt: number;
  heartbeat: unknown;
}

export function createQueueWorker(opts: QueueWorkerOptions): QueueWorker {
  const { source } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const perFunction = opts.perFunctionConcurrency && opts.perFunctionConcurrency > 0 ? opts.perFunctionConcurrency : Infinity;
  // With a per-function limit, hold some extra deliveries so one busy function
  // does not block the others behind it.
  const prefetch = perFunction === Infinity ? concurrency : concurrency * 2;
  const retry: RetryConfig = {
    maxAttempts: opts.retry?.maxAttempts ?? 5,
    initialDelayMs: opts.retry?.initialDelayMs ?? 1000,
    maxDelayMs: opts.retry?.maxDelayMs ?? 60_000,
    retryOn: opts.retry?.retryOn ?? DEFAULT_RETRY_CODES,
  };
  const heartbeatMs = opts.ackWaitMs ? Math.max(100, Math.floor(opts.ackWaitMs / 3)) : source.heartbeatMs;
  const invokeTimeoutMs = opts.invokeTimeoutMs ?? 300_000;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
  const log: WorkerLogger = opts.logger ?? pino({ level: 'silent' });
  const registry = opts.registry ?? new Registry();
  const clock = opts.clock ?? systemClock;
  const metrics: WorkerMetrics = createWorkerMetrics(registry, source.pending?.bind(source));

  let invoke: Invoke;
  let closeInvoker: () => Promise<void> = async () => {};
  if (opts.invoke) invoke = opts.invoke;
  else if (opts.gatewayUrl) {
    const inv = createGatewayInvoker(opts.gatewayUrl, { connections: concurrency, ...(opts.gatewayConnect ? { connect: opts.gatewayConnect } : {}) });
    invoke = inv.invoke;
    closeInvoker = inv.close;
  } else throw new QueueWorkerError('QW_ERR_CONFIG', 'createQueueWorker needs gatewayUrl or invoke');
  const callbacks: Callbacks = createCallbacks({
    timeoutMs: opts.callbackTimeoutMs ?? 10_000,
    attempts: opts.callbackAttempts ?? 3,
  });

  const buffer: Held[] = [];
  const runningByFn = new Map<string, number>();
  const running = new Set<Promise<void>>();
  const aborts = new Set<AbortController>();
  const counts = { received: 0, acked: 0, retried: 0, deadLettered: 0 };
  let stopping = false;
  let wake: (() => void) | undefined;
  const signalSpace = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  function hold(delivery: Delivery, decoded: DecodedRequest): Held {
    const held: Held = { delivery, decoded, receivedAt: clock.now(), heartbeat: undefined };
    if (heartbeatMs > 0) {
      const beat = () => {
        delivery.working();
        held.heartbeat = clock.setTimeout(beat, heartbeatMs);
      };
      held.heartbeat = clock.setTimeout(beat, heartbeatMs);
    }
    return held;
  }

  function release(held: Held): void {
    if (held.heartbeat !== undefined) clock.clearTimeout(held.heartbeat);
    held.heartbeat = undefined;
  }

  function track(p: Promise<void>): void {
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      dispatch();
      signalSpace();
    });
  }

  async function settle(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      // The delivery stays unsettled and comes back after its ack deadline.
      log.error({ err, what }, 'could not settle delivery');
    }
  }

  async function accept(delivery: Delivery): Promise<void> {
    counts.received++;
    let decoded: DecodedRequest;
    try {
      decoded = decodeQueueRequest(delivery.data);
    } catch (err) {
      metrics.received.inc({ function: '' });
      log.warn({ id: delivery.id, err: (err as Error).message }, 'malformed message: dead-lettering');
      metrics.deadLettered.inc({ function: '', reason: 'malformed' });
      counts.deadLettered++;
      await settle('dead-letter malformed', () =>
        delivery.deadLetter({ reason: 'malformed', detail: (err as Error).message, attempts: delivery.attempt }),
      );
      return;
    }
    const fn = decoded.request.Function;
    metrics.received.inc({ function: fn });
    if (delivery.attempt > retry.maxAttempts) {
      log.warn({ id: delivery.id, fn, attempt: delivery.attempt }, 'delivered more often than max attempts: dead-lettering');
      metrics.deadLettered.inc({ function: fn, reason: 'delivery-limit' });
      counts.deadLettered++;
      await settle('dead-letter delivery-limit', () =>
        delivery.deadLetter({
          reason: 'delivery-limit',
          detail: `delivered ${delivery.attempt} times (max_retry_attempts ${retry.maxAttempts}); earlier tries did not finish`,
          attempts: delivery.attempt,
          function: fn,
        }),
      );
      return;
    }
    buffer.push(hold(delivery, decoded));
    metrics.buffered.set(buffer.length);
    dispatch();
  }

  function dispatch(): void {
    for (let i = 0; i < buffer.length && running.size < concurrency; ) {
      const held = buffer[i]!;
      const fn = held.decoded.request.Function;
      const n = runningByFn.get(fn) ?? 0;
      if (n >= perFunction) {
        i++;
        continue;
      }
      buffer.splice(i, 1);
      runningByFn.set(fn, n + 1);
      track(
        run(held).finally(() => {
          const left = (runningByFn.get(fn) ?? 1) - 1;
          if (left === 0) runningByFn.delete(fn);
          else runningByFn.set(fn, left);
          release(held);
        }),
      );
    }
    metrics.buffered.set(buffer.length);
  }

  async function run(held: Held): Promise<void> {
    const { delivery, decoded } = held;
    const fn = decoded.request.Function;
    const startNs = headerValue(decoded.headers, 'x-start-time');
    if (startNs && /^\d+$/.test(startNs)) {
      const latency = (clock.now() - Number(BigInt(startNs) / 1_000_000n)) / 1000;
      if (latency >= 0) metrics.queueLatencySeconds.observe({ function: fn }, latency);
    }
    metrics.inFlight.inc({ function: fn });
    const abort = new AbortController();
    aborts.add(abort);
    const signal = invokeTimeoutMs > 0 ? AbortSignal.any([abort.signal, AbortSignal.timeout(invokeTimeoutMs)]) : abort.signal;
    const endTimer = metrics.invocationSeconds.startTimer({ function: fn });
    let result: InvokeResult | undefined;
    let transportError: string | undefined;
    try {
      result = await invoke({
        function: fn,
        path: invocationPath(decoded.request),
        headers: decoded.headers,
        body: decoded.body,
        signal,
      });
    } catch (err) {
      transportError = (err as Error).message || String(err);
    } finally {
      endTimer();
      aborts.delete(abort);
      metrics.inFlight.dec({ function: fn });
    }
    const status = result?.status ?? 503;
    metrics.invocations.inc({ function: fn, code: String(status) });
    const retryable = transportError !== undefined || retry.retryOn.includes(status);
    const ctx = { id: delivery.id, fn, callId: decoded.callId, attempt: delivery.attempt, status };

    if (abort.signal.aborted) {
      // Drain timed out while this was running: hand it back without a callback.
      await settle('release aborted', () => delivery.retry(0));
      return;
    }
    if (retryable && delivery.attempt < retry.maxAttempts) {
      const delay = backoffMs(retry, delivery.attempt);
      log.info({ ...ctx, delayMs: delay, err: transportError }, 'invocation failed: retrying');
      metrics.retried.inc({ function: fn, reason: transportError !== undefined ? 'transport' : String(status) });
      counts.retried++;
      await settle('retry', () => delivery.retry(delay));
      return;
    }
    if (decoded.callbackProblem) log.warn({ ...ctx, err: decoded.callbackProblem }, 'no callback');
    if (decoded.callbackUrl) {
      const cb = await callbacks.post({
        url: decoded.callbackUrl,
        functionName: fn,
        callId: decoded.callId,
        status,
        headers: result?.headers ?? {},
        body: result?.body ?? Buffer.alloc(0),
        durationSeconds: (clock.now() - held.receivedAt) / 1000,
      });
      metrics.callbacks.inc({ result: cb.ok ? 'success' : 'failed' });
      if (!cb.ok) log.warn({ ...ctx, callbackStatus: cb.status, err: cb.error }, 'callback failed');
    }
    if (retryable) {
      log.warn({ ...ctx, err: transportError }, 'last attempt failed: dead-lettering');
      metrics.deadLettered.inc({ function: fn, reason: 'max-attempts' });
      counts.deadLettered++;
      await settle('dead-letter max-attempts', () =>
        delivery.deadLetter({
          reason: 'max-attempts',
          detail: transportError ?? `function answered ${status}`,
          attempts: delivery.attempt,
          lastStatus: status,
          function: fn,
        }),
      );
      return;
    }
    log.debug(ctx, 'invocation done');
    counts.acked++;
    await settle('ack', () => delivery.ack());
  }

  async function pump(): Promise<void> {
    while (!stopping) {
      if (buffer.length + running.size >= prefetch) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      let d: Delivery | null;
      try {
        d = await source.next();
      } catch (err) {
        if (stopping) break;
        log.error({ err }, 'queue source failed; retrying');
        await new Promise<void>((r) => clock.setTimeout(r, 500));
        continue;
      }
      if (!d) break;
      if (stopping) {
        // Raced with close(): give it straight back.
        const back = d;
        await settle('release on stop', () => back.retry(0));
        break;
      }
      const p = accept(d);
      track(p);
    }
  }

  const pumping = pump();

  return {
    registry,
    stats: () => ({ ...counts, inFlight: [...runningByFn.values()].reduce((a, b) => a + b, 0), buffered: buffer.length }),
    async close() {
      if (stopping) return pumping;
      stopping = true;
      signalSpace();
      await source.stop();
      await pumping;
      // Buffered deliveries never started: hand them back at once.
      const unstarted = buffer.splice(0);
      await Promise.all(
        unstarted.map((h) => {
          release(h);
          return settle('release buffered', () => h.delivery.retry(0));
        }),
      );
      const drained = Promise.all([...running]);
      let timer: unknown;
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((r) => (timer = clock.setTimeout(() => r(true), drainTimeoutMs))),
      ]);
      clock.clearTimeout(timer);
      if (timedOut) {
        log.warn({ running: running.size }, 'drain timeout: aborting running invocations');
        for (const a of aborts) a.abort(new Error('queue worker draining'));
        await Promise.all([...running]);
      }
      await Promise.all([callbacks.close(), closeInvoker()]);
    },
  };
}
