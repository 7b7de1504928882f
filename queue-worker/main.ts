/**
 * Composition root for a standalone queue worker:
 *   node --import tsx queue-worker/main.ts      (or dist/queue-worker/main.js)
 * Reads the environment once (see config.ts), drains on SIGTERM/SIGINT.
 *
 * Production, with a JetStream server started as
 *   nats-server -js -sd /var/lib/nats -a 0.0.0.0 -p 4222
 * and e.g. faas_nats_address=nats faas_gateway_address=gateway max_inflight=50 ack_wait=60s.
 */
import { pino } from 'pino';
import { loadWorkerConfig } from './config.js';
import { QueueWorkerError } from './errors.js';
import { startQueueWorker } from './run.js';

const logger = pino({ base: { component: 'queue-worker' } });

async function main(): Promise<void> {
  let config;
  try {
    config = loadWorkerConfig(process.env);
  } catch (err) {
    if (QueueWorkerError.is(err, 'QW_ERR_CONFIG')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  logger.level = config.debug ? 'debug' : 'info';
  // Unacked deliveries go back to the stream: exiting at once loses nothing.
  const running = await startQueueWorker(config, logger, () => process.exit(1));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    running.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  logger.error({ err }, 'queue worker failed to start');
  process.exit(1);
});
