import type { QueueRequest } from './types.js';

/**
 * Accepts async invocations (/async-function) for later execution. Implemented
 * by the NATS JetStream publisher and by the embedded durable queue. `enqueue`
 * resolves only once the message is durably stored (at-least-once from here on).
 */
export interface RequestQueuer {
  enqueue(req: QueueRequest): Promise<void>;
  close(): Promise<void>;
}
