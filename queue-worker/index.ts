/** Public API of the queue worker. Other components import only this file. */
export { loadWorkerConfig, parseDurationMs, backoffMs, DEFAULT_RETRY_CODES } from './config.js';
export type { WorkerConfig, RetryConfig, Env } from './config.js';
export { QueueWorkerError, QueueWorkerErrorCodes, type QueueWorkerErrorCode } from './errors.js';
export { createJetStreamQueuer, createJetStreamSource, createJetStreamDeadLetters, DLQ_SUFFIX } from './jetstream.js';
export type { JetStreamConnectOptions, JetStreamQueuer, JetStreamSource, JetStreamSourceOptions } from './jetstream.js';
export { createFileQueue } from './file-queue.js';
export type { FileQueue, FileQueueOptions, FileQueueStats } from './file-queue.js';
export { createQueueWorker } from './worker.js';
export type { QueueWorker, QueueWorkerOptions, WorkerStats, WorkerLogger, Clock } from './worker.js';
export { createGatewayInvoker, createCallbacks, WORKER_USER_AGENT } from './invoker.js';
export type { Invoke, InvokeRequest, InvokeResult, HttpInvoker, Callbacks, CallbackPayload } from './invoker.js';
export { decodeQueueRequest, goUrlToString, invocationPath } from './message.js';
export type { DecodedRequest } from './message.js';
export { startQueueWorker, type RunningWorker } from './run.js';
export type { Delivery, QueueSource, DeadLetter, DeadLetterInfo, DeadLetterReason, DeadLetterStore } from './source.js';
