/**
 * Typed queue-worker errors with stable codes. Codes are part of our API:
 * never rename or reuse one.
 */
export const QueueWorkerErrorCodes = {
  /** One or more environment variables could not be parsed. */
  QW_ERR_CONFIG: 'invalid queue-worker configuration',
  /** A queued message is not a valid QueueRequest (bad JSON, missing Function...). */
  QW_ERR_MALFORMED: 'malformed queue message',
  /** The queue is closed or draining and accepts no more work. */
  QW_ERR_CLOSED: 'queue closed',
  /** enqueue() failed: the message was not durably stored. */
  QW_ERR_ENQUEUE: 'enqueue failed',
  /** The request is larger than the configured maximum message size. */
  QW_ERR_TOO_LARGE: 'message too large',
  /** Another process holds the embedded queue's directory lock. */
  QW_ERR_LOCKED: 'queue directory locked',
  /** A dead letter id does not exist. */
  QW_ERR_NOT_FOUND: 'dead letter not found',
  /** The NATS connection was given up after faas_max_reconnect attempts (the worker exits 1). */
  QW_ERR_CONNECTION_LOST: 'NATS connection lost',
} as const;

export type QueueWorkerErrorCode = keyof typeof QueueWorkerErrorCodes;

export class QueueWorkerError extends Error {
  readonly code: QueueWorkerErrorCode;

  constructor(code: QueueWorkerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueWorkerError';
    this.code = code;
  }

  /** Works across two loaded copies of this module. */
  static is(err: unknown, code?: QueueWorkerErrorCode): err is QueueWorkerError {
    if (typeof err !== 'object' || err === null) return false;
    const e = err as { name?: unknown; code?: unknown };
    if (e.name !== 'QueueWorkerError' || typeof e.code !== 'string' || !(e.code in QueueWorkerErrorCodes)) return false;
    return code === undefined || e.code === code;
  }
}
