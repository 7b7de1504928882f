/** Queue-worker metrics, registered on a Registry owned by the caller. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface WorkerMetrics {
  received: Counter<'function'>;
  inFlight: Gauge<'function'>;
  buffered: Gauge;
  invocations: Counter<'function' | 'code'>;
  retried: Counter<'function' | 'reason'>;
  deadLettered: Counter<'function' | 'reason'>;
  callbacks: Counter<'result'>;
  invocationSeconds: Histogram<'function'>;
  queueLatencySeconds: Histogram<'function'>;
}

/**
 * `pending` feeds queue_worker_queued_messages at scrape time (messages
 * stored and not yet delivered), when the backend can tell.
 */
export function createWorkerMetrics(registry: Registry, pending?: () => Promise<number>): WorkerMetrics {
  const registers = [registry];
  if (pending) {
    new Gauge({
      name: 'queue_worker_queued_messages',
      help: 'Messages stored in the queue and not yet delivered to a worker',
      registers,
      async collect() {
        try {
          this.set(await pending());
        } catch {
          // backend unreachable: keep the last value
        }
      },
    });
  }
  return {
    received: new Counter({
      name: 'queue_worker_messages_received_total',
      help: 'Deliveries received from the queue (redeliveries included)',
      labelNames: ['function'],
      registers,
    }),
    inFlight: new Gauge({
      name: 'queue_worker_in_flight',
      help: 'Invocations currently running',
      labelNames: ['function'],
      registers,
    }),
    buffered: new Gauge({
      name: 'queue_worker_buffered_messages',
      help: 'Deliveries held by this worker waiting for a free slot',
      registers,
    }),
    invocations: new Counter({
      name: 'queue_worker_invocations_total',
      help: 'Function invocations by status code (503 for transport errors)',
      labelNames: ['function', 'code'],
      registers,
    }),
    retried: new Counter({
      name: 'queue_worker_retried_total',
      help: 'Invocations scheduled for another attempt',
      labelNames: ['function', 'reason'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'queue_worker_dead_lettered_total',
      help: 'Messages moved to the dead-letter area',
      labelNames: ['function', 'reason'],
      registers,
    }),
    callbacks: new Counter({
      name: 'queue_worker_callbacks_total',
      help: 'Callbacks posted to X-Callback-Url, by result',
      labelNames: ['result'],
      registers,
    }),
    invocationSeconds: new Histogram({
      name: 'queue_worker_invocation_duration_seconds',
      help: 'Time for one function invocation',
      labelNames: ['function'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    queueLatencySeconds: new Histogram({
      name: 'queue_worker_queue_latency_seconds',
      help: 'Time from the gateway accepting the call (X-Start-Time) to the start of this attempt',
      labelNames: ['function'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
  };
}
