/**
 * Queue-worker configuration, parsed once from an env object. Variable names
 * follow upstream's nats-queue-worker where one exists; the rest are ours.
 * Unlike upstream (which logs and keeps the default), a value that cannot be
 * parsed is an error: loadWorkerConfig throws one QW_ERR_CONFIG naming every
 * bad variable.
 */
import { QueueWorkerError } from './errors.js';

export type Env = Record<string, string | undefined>;

export interface RetryConfig {
  /** Total tries including the first one; 1 = upstream's single try. */
  maxAttempts: number;
  /** Delay before the 2nd try; doubles each time up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Function statuses that are retried; connection errors always are. */
  retryOn: readonly number[];
}

export interface WorkerConfig {
  /** `file` when `queue_dir` is set, else `jetstream`. */
  backend: 'jetstream' | 'file';
  natsUrl: string;
  /** JetStream stream name (`faas_nats_stream`, default: the channel). */
  stream: string;
  /** Subject the gateway publishes to (`faas_nats_channel`). */
  subject: string;
  /** Durable consumer shared by all workers (`faas_nats_queue_group`). */
  durable: string;
  /** Embedded file queue directory (`queue_dir`). */
  queueDir: string | undefined;
  gatewayUrl: string;
  /** Invocations in flight per worker (`max_inflight`). */
  maxInflight: number;
  /** Invocations in flight per function per worker; 0 = no limit (`max_inflight_per_function`). */
  maxInflightPerFunction: number;
  ackWaitMs: number;
  /** Consumer-wide cap on delivered-unacked messages (`max_ack_pending`, default max_inflight, doubled with a per-function limit). */
  maxAckPending: number;
  retry: RetryConfig;
  /** Upper bound for one invocation; 0 = none (`invoke_timeout`). */
  invokeTimeoutMs: number;
  callbackTimeoutMs: number;
  /** Grace period for in-flight work on SIGTERM (`drain_timeout`). */
  drainTimeoutMs: number;
  maxReconnectAttempts: number;
  reconnectDelayMs: number;
  /** Port for /metrics and /healthz (`metrics_port`, on `metrics_address`); undefined = no server. */
  metricsPort: number | undefined;
  metricsAddress: string;
  /** `faas_print_body` / `write_debug`: log bodies at debug level. */
  debug: boolean;
}

export const DEFAULT_RETRY_CODES = [429, 500, 502, 503, 504] as const;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a Go duration (`1m30s`, `500ms`) or a plain integer of seconds. */
export function parseDurationMs(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== v.length) return undefined;
  return Math.round(total);
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return fallback;
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected an integer between ${min} and ${max}`);
      return fallback;
    }
    return n;
  }

  duration(name: string, fallbackMs: number, minMs = 0): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return fallbackMs;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < minMs) {
      this.problems.push(
        `${name}=${JSON.stringify(v)}: expected a duration such as "30s", "1m30s" or whole seconds` +
          (minMs > 0 ? `, at least ${minMs}ms` : ''),
      );
      return fallbackMs;
    }
    return ms;
  }

  bool(name: string): boolean {
    const v = this.env[name]?.trim().toLowerCase();
    return v === 'true' || v === '1';
  }

  codes(name: string, fallback: readonly number[]): number[] {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return [...fallback];
    const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
    const codes = parts.map(Number);
    if (parts.length === 0 || codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) {
      this.problems.push(`${name}=${JSON.stringify(v)}: expected comma-separated HTTP status codes (100-599)`);
      return [...fallback];
    }
    return codes;
  }
}

/** Parse the queue-worker's environment once; throws one error naming every bad variable. */
export function loadWorkerConfig(env: Env): Readonly<WorkerConfig> {
  const r = new Reader(env);
  const natsAddress = r.str('faas_nats_address', 'nats');
  const natsPort = r.int('faas_nats_port', 4222, 1, 65535);
  const subject = r.str('faas_nats_channel', 'faas-request');
  const stream = r.str('faas_nats_stream', subject.replace(/[.*>\s]/g, '_'));
  if (/[.*>\s/\\]/.test(stream)) r.problems.push(`faas_nats_stream=${JSON.stringify(stream)}: a stream name cannot contain . * > / \\ or spaces`);
  const durable = r.str('faas_nats_queue_group', 'faas');
  if (/[.*>\s]/.test(durable)) r.problems.push(`faas_nats_queue_group=${JSON.stringify(durable)}: cannot contain . * > or spaces`);
  const gwAddress = r.str('faas_gateway_address', 'gateway');
  const gwPort = r.int('faas_gateway_port', 8080, 1, 65535);
  const queueDir = env.queue_dir?.trim() || undefined;
  const initialDelayMs = r.duration('initial_retry_wait', 1000);
  const maxDelayMs = r.duration('max_retry_wait', 60_000);
  if (maxDelayMs < initialDelayMs) {
    r.problems.push(`max_retry_wait (${maxDelayMs}ms) must not be below initial_retry_wait (${initialDelayMs}ms)`);
  }
  const metricsPortRaw = env.metrics_port?.trim();
  const metricsPort = metricsPortRaw ? r.int('metrics_port', 0, 0, 65535) : undefined;

  const maxInflight = r.int('max_inflight', 1, 1, 10_000);
  const maxInflightPerFunction = r.int('max_inflight_per_function', 0, 0, 10_000);
  const config: WorkerConfig = {
    backend: queueDir ? 'file' : 'jetstream',
    natsUrl: `nats://${natsAddress}:${natsPort}`,
    stream,
    subject,
    durable,
    queueDir,
    gatewayUrl: `http://${gwAddress}:${gwPort}`,
    // Upstream turns values <= 0 into 1; we reject them instead.
    maxInflight,
    maxInflightPerFunction,
    ackWaitMs: r.duration('ack_wait', 30_000, 1000),
    // With a per-function limit the worker holds up to 2 × max_inflight (see worker.ts).
    maxAckPending: r.int('max_ack_pending', maxInflightPerFunction > 0 ? maxInflight * 2 : maxInflight, 1, 1_000_000),
    retry: {
      maxAttempts: r.int('max_retry_attempts', 5, 1, 1000),
      initialDelayMs,
      maxDelayMs,
      retryOn: r.codes('retry_http_codes', DEFAULT_RETRY_CODES),
    },
    invokeTimeoutMs: r.duration('invoke_timeout', 300_000),
    callbackTimeoutMs: r.duration('callback_timeout', 10_000, 1),
    drainTimeoutMs: r.duration('drain_timeout', 30_000),
    maxReconnectAttempts: r.int('faas_max_reconnect', 120, -1),
    reconnectDelayMs: r.duration('faas_reconnect_delay', 2000),
    metricsPort,
    metricsAddress: r.str('metrics_address', '127.0.0.1'),
    debug: r.bool('faas_print_body') || r.bool('write_debug'),
  };
  if (r.problems.length > 0) {
    throw new QueueWorkerError('QW_ERR_CONFIG', `invalid queue-worker configuration:\n  ${r.problems.join('\n  ')}`);
  }
  return Object.freeze({ ...config, retry: Object.freeze({ ...config.retry, retryOn: Object.freeze(config.retry.retryOn) }) });
}

/** Delay before attempt `attempt + 1` after `attempt` failed: exponential, capped. */
export function backoffMs(retry: Pick<RetryConfig, 'initialDelayMs' | 'maxDelayMs'>, attempt: number): number {
  const exp = retry.initialDelayMs * 2 ** Math.max(0, attempt - 1);
  return Math.min(retry.maxDelayMs, exp);
}
