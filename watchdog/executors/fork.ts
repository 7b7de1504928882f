/** The Executor shell shared by the fork-per-request modes (streaming, serializing, classic). */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTarget } from '../cgi-env.js';
import type { Logger } from '../log.js';
import { killGroup } from '../process.js';
import type { Executor } from './types.js';

/** No warm-up, always ready; close() kills every child still running. */
export function forkPerRequestExecutor(running: Set<ChildProcess>, handle: Executor['handle']): Executor {
  return {
    async start() {},
    handle,
    isReady: () => true,
    shutdown() {},
    async close() {
      for (const c of running) killGroup(c);
      running.clear();
    },
  };
}

/** A handle() for an async `serve`: a failure is logged and the connection dropped. */
export function guardedHandle(
  logger: Logger,
  serve: (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => Promise<void>,
): Executor['handle'] {
  return (req, res, target) => {
    serve(req, res, target).catch((err: Error) => {
      logger.log(`Request error: ${err.message}`);
      res.destroy();
    });
  };
}
