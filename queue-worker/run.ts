/**
 * Start a queue worker from a parsed config: pick the backend, build the
 * worker, optionally serve /metrics and /healthz. Used by main.ts and by the
 * CLI's `queue-worker` sub-command.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { WorkerConfig } from './config.js';
import { QueueWorkerError } from './errors.js';
import { createFileQueue, type FileQueue } from './file-queue.js';
import { createJetStreamSource, type JetStreamSource } from './jetstream.js';
import type { DeadLetterStore } from './source.js';
import { createQueueWorker, type QueueWorker } from './worker.js';

export interface RunningWorker {
  worker: QueueWorker;
  deadLetters: DeadLetterStore;
  /** Bound address of the metrics server, when one was asked for. */
  metricsUrl: string | undefined;
  /** Drain the worker, then close the backend and the metrics server. */
  close(): Promise<void>;
}

/**
 * `onFatal`: the worker cannot go on (the NATS connection was given up after
 * faas_max_reconnect attempts); the composition root exits non-zero so a
 * supervisor restarts it. Without it the process used to end silently with
 * status 0 once nothing was left to wait for.
 */
export async function startQueueWorker(
  config: Readonly<WorkerConfig>,
  logger: Logger,
  onFatal: (err: Error) => void = () => undefined,
): Promise<RunningWorker> {
  const registry = new Registry();
  let js: JetStreamSource | undefined;
  let fq: FileQueue | undefined;
  if (config.backend === 'file') {
    fq = await createFileQueue({ dir: config.queueDir! });
  } else {
    js = await createJetStreamSource({
      servers: config.natsUrl,
      name: 'faas-ts-queue-worker',
      stream: config.stream,
      subject: config.subject,
      durable: config.durable,
      ackWaitMs: config.ackWaitMs,
      maxAckPending: config.maxAckPending,
      batch: config.maxInflightPerFunction > 0 ? config.maxInflight * 2 : config.maxInflight,
      maxReconnectAttempts: config.maxReconnectAttempts,
      reconnectTimeWaitMs: config.reconnectDelayMs,
      onConnectionLost: (err) => {
        const lost = new QueueWorkerError(
          'QW_ERR_CONNECTION_LOST',
          `NATS connection to ${config.natsUrl} lost after ${config.maxReconnectAttempts} reconnect attempts${err ? `: ${err.message}` : ''}`,
        );
        logger.error({ code: lost.code, err: lost.message }, 'queue worker cannot continue');
        onFatal(lost);
      },
    });
  }
  const source = js ?? fq!.source();
  const worker = createQueueWorker({
    source,
    gatewayUrl: config.gatewayUrl,
    concurrency: config.maxInflight,
    perFunctionConcurrency: config.maxInflightPerFunction,
    retry: config.retry,
    ackWaitMs: config.backend === 'jetstream' ? config.ackWaitMs : undefined,
    invokeTimeoutMs: config.invokeTimeoutMs,
    callbackTimeoutMs: config.callbackTimeoutMs,
    drainTimeoutMs: config.drainTimeoutMs,
    logger: logger.child({ component: 'queue-worker' }),
    registry,
  });

  let server: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const srv = createServer((req, res) => {
      if (req.url === '/metrics' && req.method === 'GET') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else if (req.url === '/healthz') res.writeHead(200).end('OK');
      else res.writeHead(404).end('404 page not found\n');
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(config.metricsPort, config.metricsAddress, () => resolve());
    });
    const addr = srv.address();
    if (addr && typeof addr === 'object') metricsUrl = `http://${config.metricsAddress}:${addr.port}`;
  }
  logger.info(
    {
      backend: config.backend,
      nats: config.backend === 'jetstream' ? config.natsUrl : undefined,
      stream: config.stream,
      queueDir: config.queueDir,
      gateway: config.gatewayUrl,
      maxInflight: config.maxInflight,
      ackWaitMs: config.ackWaitMs,
      maxAttempts: config.retry.maxAttempts,
      metricsUrl,
    },
    'queue worker started',
  );
  return {
    worker,
    deadLetters: js?.deadLetters ?? fq!.deadLetters,
    metricsUrl,
    async close() {
      await worker.close();
      if (js) await js.close();
      if (fq) await fq.close();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}
