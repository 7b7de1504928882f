/**
 * mode=classic: the classic watchdog's fork-per-request behaviour (spec §1.6):
 * allowed methods, fully buffered, stderr in the body by default, 408 on timeout.
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classicCgiEnv, type RequestTarget } from '../cgi-env.js';
import { since } from '../request-log.js';
import { readBody, runBuffered } from './buffered.js';
import { forkPerRequestExecutor, guardedHandle } from './fork.js';
import type { Executor, ExecutorContext } from './types.js';

const ALLOWED = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** marshal_request payload: headers as arrays, body base64. */
export function marshalRequest(req: IncomingMessage, body: Buffer): Buffer {
  const header: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = canonicalHeader(raw[i]!);
    (header[name] ??= []).push(raw[i + 1]!);
  }
  return Buffer.from(JSON.stringify({ header, body: { raw: body.toString('base64') } }));
}

function canonicalHeader(h: string): string {
  return h
    .toLowerCase()
    .split('-')
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join('-');
}

export function createClassicExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  const running = new Set<ChildProcess>();

  async function serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const start = process.hrtime.bigint();
    if (!ALLOWED.has(target.method)) {
      res.writeHead(405, { 'Content-Length': '0' });
      res.end();
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      res.writeHead(400);
      res.end((err as Error).message);
      return;
    }
    logger.log('Forking fprocess.');
    const env = config.cgiHeaders ? { ...config.env, ...classicCgiEnv(req, target) } : { ...config.env };
    const run = await runBuffered({
      command: config.fprocess,
      env,
      input: config.marshalRequest ? marshalRequest(req, body) : body,
      timeoutMs: config.execTimeoutMs,
      combine: config.combineOutput,
      track: running,
      onTimeout: () => {
        logger.log(`Killing process: ${config.fprocess}`);
        if (!res.headersSent) {
          res.writeHead(408, { 'Content-Type': 'text/plain' });
          res.end('Killed process.\n');
        }
      },
    });
    if (run.timedOut || res.headersSent) return;
    if (!config.combineOutput && run.stderr.length > 0) logger.log(`stderr: ${run.stderr.toString()}`);
    if (config.writeDebug) ctx.sinks.stdout.write(run.output);
    if (run.error !== undefined) {
      logger.log(`Function error: ${run.error}`);
      const text = Buffer.concat([Buffer.from(`${run.error}\n`), run.output]);
      res.writeHead(500, { 'Content-Length': String(text.length) });
      res.end(text);
      return;
    }
    const headers: Record<string, string> = {
      'X-Duration-Seconds': since(start).toFixed(6),
      'Content-Length': String(run.output.length),
    };
    const ct = config.contentType || req.headers['content-type'];
    if (ct) headers['Content-Type'] = ct;
    res.writeHead(200, headers);
    res.end(run.output);
    logger.log(`Wrote ${run.output.length} Bytes - Duration: ${since(start).toFixed(6)}s`);
  }

  return forkPerRequestExecutor(running, guardedHandle(logger, serve));

}
