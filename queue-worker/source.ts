/**
 * The seam between the worker and a queue backend (NATS JetStream or the
 * embedded file queue). Each delivery ends in exactly one outcome: ack,
 * retry (nak with delay) or deadLetter.
 */

/** Why a message ended in the dead-letter area, and what was tried. */
export interface DeadLetterInfo {
  /** `malformed`, `max-attempts` or `delivery-limit`. */
  reason: DeadLetterReason;
  /** Human-readable detail: the parse error, the last status or transport error. */
  detail: string;
  /** Deliveries made so far (1-based count). */
  attempts: number;
  /** Last function status (503 for a transport error), if it was invoked. */
  lastStatus?: number;
  /** Function name, when the message could be read. */
  function?: string;
}

export type DeadLetterReason = 'malformed' | 'max-attempts' | 'delivery-limit';

/** One received message, leased to this worker until it reaches an outcome. */
export interface Delivery {
  /** Stable id within the backend (stream sequence or file-queue sequence). */
  readonly id: string;
  readonly data: Uint8Array;
  /** 1 on first delivery; grows with each retry or redelivery. */
  readonly attempt: number;
  /** Done: remove from the queue. */
  ack(): Promise<void>;
  /** Deliver again after `delayMs` (counts as a new attempt). */
  retry(delayMs: number): Promise<void>;
  /** Extend the lease (JetStream `working()`); cheap, call periodically. */
  working(): void;
  /** Copy durably into the dead-letter area, then remove from the queue. */
  deadLetter(info: DeadLetterInfo): Promise<void>;
}

/** The consumer side of a queue. */
export interface QueueSource {
  /** `jetstream` or `file`; used in logs and metrics. */
  readonly kind: string;
  /**
   * How often the worker must call `working()` on a held delivery to keep its
   * lease, or 0 when leases never expire while the process lives.
   */
  readonly heartbeatMs: number;
  /** Next delivery; resolves null once `stop()` was called. */
  next(): Promise<Delivery | null>;
  /** Stop handing out deliveries (held ones can still be settled). */
  stop(): Promise<void>;
  /** Messages waiting in the queue (not yet delivered), when known. */
  pending?(): Promise<number>;
}

/** One entry of the dead-letter area. */
export interface DeadLetter {
  id: string;
  reason: DeadLetterReason;
  detail: string;
  attempts: number;
  lastStatus?: number;
  function?: string;
  /** RFC 3339 time it was dead-lettered. */
  deadAt: string;
  /** Original payload as text (the QueueRequest JSON, or whatever malformed bytes arrived). */
  payload: string;
}

/** List and replay dead letters (both backends). */
export interface DeadLetterStore {
  list(opts?: { limit?: number }): Promise<DeadLetter[]>;
  /** Re-enqueue the given dead letters (all when `ids` is omitted) and remove them; returns how many. */
  replay(ids?: string[]): Promise<number>;
  /** Delete dead letters without replaying; returns how many. */
  discard(ids: string[]): Promise<number>;
}
