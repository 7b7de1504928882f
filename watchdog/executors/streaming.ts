/**
 * mode=streaming (the default): a child per request; request body streamed to
 * stdin and stdout streamed back, both with backpressure (spec §1.2). Status is
 * always 200; exec_timeout kills the child's whole process group.
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cgiEnv, type RequestTarget } from '../cgi-env.js';
import { relayLines } from '../log.js';
import { exitText, killGroup, spawnErrorText, spawnGroup, splitCommand } from '../process.js';
import { logRequest, since } from '../request-log.js';
import { forkPerRequestExecutor } from './fork.js';
import type { Executor, ExecutorContext } from './types.js';

export function createStreamingExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  const running = new Set<ChildProcess>();

  function handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget): void {
    const start = process.hrtime.bigint();
    res.setHeader('Content-Type', config.contentType);
    let child: ChildProcess;
    try {
      child = spawnGroup(config.fprocess, { ...config.env, ...cgiEnv(req, target) });
    } catch (err) {
      logger.log(`Error starting function: ${(err as Error).message}`);
      res.end();
      return;
    }
    running.add(child);
    let bytes = 0;
    let failed = false;
    let timer: NodeJS.Timeout | undefined;
    if (config.execTimeoutMs > 0) {
      timer = setTimeout(() => {
        logger.log(`Function was killed by exec_timeout: ${config.execTimeoutMs}ms`);
        killGroup(child);
      }, config.execTimeoutMs);
    }
    let finished = false;
    const finish = (): void => {
      // A spawn failure emits both 'error' and 'close'.
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      running.delete(child);
      if (!res.writableEnded) res.end();
      logRequest(logger, req, {
        method: target.method,
        url: target.url,
        status: failed ? '500' : '200',
        bytes,
        seconds: since(start),
      });
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      failed = true;
      logger.log(`Error starting function: ${spawnErrorText(err, splitCommand(config.fprocess).file)}`);
      req.resume();
      finish();
    });
    child.stdin!.on('error', () => {});
    relayLines(child.stderr!, { name: 'stderr', prefix: config.prefixLogs, maxLine: config.logBufferSize, out: ctx.sinks.stderr, logger });
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (!res.write(chunk)) {
        child.stdout!.pause();
        res.once('drain', () => child.stdout!.resume());
      }
    });
    // 'close' = exited and stdio ended: all output has been written to the response.
    child.once('close', (code, signal) => {
      if (code !== 0) {
        failed = true;
        logger.log(`Function exited: ${exitText(code, signal)}`);
      }
      // A child that stopped reading stdin early: swallow the rest of the upload.
      req.resume();
      finish();
    });
    res.once('close', () => {
      if (!res.writableFinished && child.exitCode === null && child.signalCode === null) killGroup(child);
    });
    req.pipe(child.stdin!);
  }

  return forkPerRequestExecutor(running, handle);
}
