/**
 * mode=serializing: a child per request with the whole body on stdin and the
 * whole stdout as the response (spec §1.3); failures → 500 with Go's error text.
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cgiEnv, type RequestTarget } from '../cgi-env.js';
import { logRequest, since } from '../request-log.js';
import { readBody, runBuffered } from './buffered.js';
import { forkPerRequestExecutor, guardedHandle } from './fork.js';
import type { Executor, ExecutorContext } from './types.js';

export function createSerializingExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  const running = new Set<ChildProcess>();

  async function serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const start = process.hrtime.bigint();
    const cl = Number(req.headers['content-length']);
    const input = await readBody(req, cl > 0 ? cl : -1);
    // The exec_timeout clock started before reading the body.
    const left = config.execTimeoutMs > 0 ? Math.max(config.execTimeoutMs - since(start) * 1000, 1) : 0;
    const run = await runBuffered({
      command: config.fprocess,
      env: { ...config.env, ...cgiEnv(req, target) },
      input,
      timeoutMs: left,
      combine: false,
      relay: { prefix: config.prefixLogs, maxLine: config.logBufferSize, sinks: ctx.sinks, logger },
      track: running,
    });
    const body = run.error === undefined ? run.output : Buffer.from(run.error);
    if (run.error !== undefined) logger.log(`Function error: ${run.error}`);
    res.writeHead(run.error === undefined ? 200 : 500, {
      'Content-Type': config.contentType,
      'X-Duration-Seconds': since(start).toFixed(6),
      'Content-Length': String(body.length),
    });
    res.end(body);
    logRequest(logger, req, { method: target.method, url: target.url, status: '200', bytes: body.length, seconds: since(start) });
  }

  return forkPerRequestExecutor(running, guardedHandle(logger, serve));

}
