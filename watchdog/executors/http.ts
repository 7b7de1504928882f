/**
 * mode=http: one warm child process, reverse-proxied over keep-alive sockets
 * (spec §1.1). Ours on top of upstream: a restart policy with backoff, and
 * readiness that waits until the upstream accepts a TCP connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestTarget } from '../cgi-env.js';
import { formatGoDuration, parseGoDuration } from '../durations.js';
import { relayLines } from '../log.js';
import { exitText, splitCommand } from '../process.js';
import { logRequest, since } from '../request-log.js';
import type { Executor, ExecutorContext } from './types.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization',
]);
const INTERNAL = 'X-OpenFaaS-Internal';
const MAX_BACKOFF_MS = 5000;
const FIRST_BACKOFF_MS = 100;
/** A child that stayed up this long resets the backoff. */
const STABLE_AFTER_MS = 10_000;
const PROBE_EVERY_MS = 50;

/**
 * The upstream failed after its response head. A body delimited by the
 * connection's close (no Content-Length, not chunked) ended with it, e.g. an
 * upstream answering 431 and resetting while the request was still being
 * written: pass on what came. Any other body was cut: cut ours too.
 */
function endOrCut(res: ServerResponse, upRes: IncomingMessage): void {
  const closeDelimited = upRes.headers['content-length'] === undefined && upRes.headers['transfer-encoding'] === undefined;
  if (closeDelimited) res.end();
  else res.destroy();
}

/** Accept: text/event-stream | application/x-ndjson, or Upgrade: websocket (§1.1). */
export function isStreamingRequest(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (accept) {
    const a = accept.toLowerCase();
    if (a.includes('text/event-stream') || a.includes('application/x-ndjson')) return true;
  }
  return req.headers.upgrade === 'websocket';
}

export function createHttpExecutor(ctx: ExecutorContext): Executor {
  const { config, logger } = ctx;
  const upstream = new URL(config.upstreamUrl);
  const host = upstream.hostname.replace(/^\[|\]$/g, '');
  const port = Number(upstream.port || 80);
  // upstream_url is concatenated with the request-URI verbatim (a trailing "/" yields "//").
  const pathPrefix = config.upstreamUrl.slice(upstream.origin.length);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });

  let child: ChildProcess | undefined;
  let childUp = false;
  let upstreamUp = false;
  let stopping = false;
  let backoffMs = FIRST_BACKOFF_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;

  function spawnChild(): void {
    const { file, args } = splitCommand(config.fprocess);
    logger.log(`Forking: ${file}, arguments: [${args.join(' ')}]`);
    const startedAt = Date.now();
    const c = spawn(file, args, { env: config.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    childUp = true;
    upstreamUp = false;
    let down = false;
    const onDown = (text: string, failed: boolean): void => {
      if (down) return;
      down = true;
      if (child === c) child = undefined;
      childUp = false;
      upstreamUp = false;
      logger.log(`Forked function has terminated: ${text}`);
      if (stopping) return;
      if (config.restartPolicy === 'never') {
        if (failed) ctx.onFatal(1, `Forked function has terminated: ${text}`);
        return;
      }
      if (Date.now() - startedAt >= STABLE_AFTER_MS) backoffMs = FIRST_BACKOFF_MS;
      const delay = backoffMs;
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      logger.log(`Restarting function process in ${formatGoDuration(delay)}`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) spawnChild();
      }, delay);
    };
    c.on('error', (err) => onDown(err.message, true));
    c.on('exit', (code, signal) => onDown(exitText(code, signal), code !== 0));
    c.stdin?.on('error', () => {});
    if (c.stdout) relayLines(c.stdout, { name: 'stdout', prefix: config.prefixLogs, maxLine: config.logBufferSize, out: ctx.sinks.stdout, logger });
    if (c.stderr) relayLines(c.stderr, { name: 'stderr', prefix: config.prefixLogs, maxLine: config.logBufferSize, out: ctx.sinks.stderr, logger });
    probe(c);
  }

  /** Poll the upstream port until it accepts a connection (ours: drives /_/ready). */
  function probe(c: ChildProcess): void {
    if (stopping || child !== c || upstreamUp) return;
    const sock = connect({ host, port });
    const retry = (): void => {
      sock.destroy();
      if (child === c && !stopping) probeTimer = setTimeout(() => probe(c), PROBE_EVERY_MS);
    };
    sock.once('connect', () => {
      sock.destroy();
      if (child === c) upstreamUp = true;
    });
    sock.once('error', retry);
  }

  function reply(res: ServerResponse, status: number, start: bigint): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'X-Duration-Seconds': since(start).toFixed(6), [INTERNAL]: 'of-watchdog', 'Content-Length': '0' });
    res.end();
  }

  function outgoingHeaders(req: IncomingMessage, keepFraming: boolean): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {};
    const src = req.headers;
    for (const k in src) {
      if (k === 'connection' || k === 'keep-alive' || k === 'proxy-connection') continue;
      if (!keepFraming && (k === 'transfer-encoding' || k === 'content-length')) continue;
      headers[k] = src[k];
    }
    return headers;
  }

  function handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget): void {
    const start = process.hrtime.bigint();
    if (isStreamingRequest(req)) return streamProxy(req, res);

    let timeoutMs = -1;
    if (config.execTimeoutMs > 0) {
      timeoutMs = config.execTimeoutMs;
      const xt = req.headers['x-timeout'];
      if (typeof xt === 'string') {
        const d = parseGoDuration(xt);
        if (d !== undefined && d <= timeoutMs) timeoutMs = Math.max(d, 0);
      }
    }

    const send = (body: Buffer | undefined): void => {
      const headers = outgoingHeaders(req, body === undefined);
      if (body !== undefined && body.length > 0) headers['content-length'] = String(body.length);
      const upReq = http.request({
        host,
        port,
        path: pathPrefix + target.url,
        method: target.method,
        headers,
        agent,
      });
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      let gotResponse = false;
      let upResponse: IncomingMessage | undefined;
      if (timeoutMs >= 0) {
        timer = setTimeout(() => {
          timedOut = true;
          if (!gotResponse) {
            logger.log(`Upstream HTTP killed due to exec_timeout: ${formatGoDuration(timeoutMs)}`);
            reply(res, 504, start);
          } else {
            logger.log(`Upstream HTTP body copy cut by exec_timeout: ${formatGoDuration(timeoutMs)}`);
            res.destroy();
          }
          upReq.destroy();
        }, timeoutMs);
      }
      upReq.on('response', (upRes) => {
        gotResponse = true;
        upResponse = upRes;
        const status = upRes.statusCode ?? 502;
        const raw = upRes.rawHeaders;
        const out: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
        }
        out.push('X-Duration-Seconds', since(start).toFixed(6));
        res.writeHead(status, out);
        upRes.pipe(res);
        upRes.once('end', () => {
          if (timer) clearTimeout(timer);
          const cl = upRes.headers['content-length'];
          logRequest(logger, req, {
            method: target.method,
            url: target.url,
            status: `${status} ${STATUS_CODES[status] ?? ''}`,
            bytes: cl === undefined ? -1 : Number(cl),
            seconds: since(start),
            callId: config.logCallId,
          });
        });
        upRes.once('error', () => endOrCut(res, upRes));
      });
      upReq.on('error', (err) => {
        if (timer) clearTimeout(timer);
        if (timedOut) return;
        if (!gotResponse) {
          logger.log(`Upstream HTTP request error: ${err.message}`);
          reply(res, 500, start);
        } else {
          endOrCut(res, upResponse!);
        }
      });
      res.once('close', () => {
        if (!res.writableFinished) {
          if (timer) clearTimeout(timer);
          upReq.destroy();
        }
      });
      if (body !== undefined) {
        upReq.end(body.length > 0 ? body : undefined);
      } else if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
        upReq.end();
      } else {
        req.pipe(upReq);
      }
    };

    if (config.bufferHttpBody) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => send(Buffer.concat(chunks)));
      req.once('error', () => res.destroy());
    } else {
      send(undefined);
    }
  }

  /** Event streams: no exec_timeout, no X-Duration-Seconds, chunks flushed as they come. */
  function streamProxy(req: IncomingMessage, res: ServerResponse): void {
    const start = process.hrtime.bigint();
    const headers = outgoingHeaders(req, true);
    const xff = req.headers['x-forwarded-for'];
    const ip = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = xff ? `${xff}, ${ip}` : ip;
    const upReq = http.request({ host, port, path: req.url, method: req.method, headers, agent });
    let upResponse: IncomingMessage | undefined;
    upReq.on('response', (upRes) => {
      upResponse = upRes;
      upRes.once('error', () => endOrCut(res, upRes));
      const out: string[] = [];
      const raw = upRes.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
      }
      res.writeHead(upRes.statusCode ?? 502, out);
      res.flushHeaders();
      upRes.pipe(res);
      upRes.once('end', () => {
        logger.log(`${req.method} ${req.url} - ${upRes.statusCode} - Bytes: ${upRes.headers['content-length'] ?? -1} (${since(start).toFixed(4)}s)`);
      });
    });
    upReq.on('error', (err) => {
      logger.log(`Upstream HTTP request error: ${err.message}`);
      // Upstream answers an empty 200 here (a quirk); a 502 tells the caller the truth.
      if (!res.headersSent) {
        res.writeHead(502, { [INTERNAL]: 'of-watchdog', 'Content-Length': '0' });
        res.end();
      } else if (upResponse) endOrCut(res, upResponse);
      else res.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    req.pipe(upReq);
  }

  /** Websocket (and any HTTP Upgrade): tunnel bytes both ways after the upstream's 101. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    const upReq = http.request({ host, port, path: req.url, method: req.method, headers });
    // The handshake (not the tunnel) is bounded by exec_timeout: an upstream that never
    // answers it would otherwise hold the client's connection forever.
    let answered = false;
    let timedOut = false;
    const timer =
      config.execTimeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            logger.log(`Upstream HTTP upgrade killed due to exec_timeout: ${formatGoDuration(config.execTimeoutMs)}`);
            socket.end(`HTTP/1.1 504 Gateway Timeout\r\n${INTERNAL}: of-watchdog\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
            upReq.destroy();
          }, config.execTimeoutMs)
        : undefined;
    const settle = (): void => {
      answered = true;
      if (timer) clearTimeout(timer);
    };
    socket.on('error', () => upReq.destroy());
    socket.once('close', () => {
      if (!answered) {
        settle();
        upReq.destroy();
      }
    });
    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      settle();
      let head101 = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
      const raw = upRes.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) head101 += `${raw[i]}: ${raw[i + 1]}\r\n`;
      socket.write(`${head101}\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    upReq.on('response', (upRes) => {
      settle();
      let text = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
      const raw = upRes.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        if (raw[i]!.toLowerCase() !== 'transfer-encoding' && raw[i]!.toLowerCase() !== 'connection')
          text += `${raw[i]}: ${raw[i + 1]}\r\n`;
      }
      socket.write(`${text}connection: close\r\n\r\n`);
      upRes.pipe(socket);
    });
    upReq.on('error', (err) => {
      if (timedOut || answered) return;
      settle();
      logger.log(`Upstream HTTP request error: ${err.message}`);
      socket.end(`HTTP/1.1 502 Bad Gateway\r\n${INTERNAL}: of-watchdog\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    });
    upReq.end();
  }

  return {
    async start() {
      spawnChild();
    },
    handle,
    upgrade,
    isReady: () => childUp && upstreamUp,
    shutdown() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      child?.kill('SIGTERM');
    },
    async close() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      if (probeTimer) clearTimeout(probeTimer);
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGKILL');
        await exited;
      }
      agent.destroy();
    },
  };
}
