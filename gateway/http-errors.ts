/**
 * Plain-text answers in upstream's format (Go `http.Error`: text/plain,
 * nosniff, message + "\n") and the one error handler that maps every thrown
 * error to a status: GatewayError and ProviderError by code, Fastify's own
 * client errors (bad JSON, body too large, schema) by their 4xx status, and
 * anything else to 500 without leaking internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ProviderError } from '../provider/index.js';
import { GatewayError, GatewayErrorCodes, type GatewayErrorCode } from './errors.js';

const TEXT = 'text/plain; charset=utf-8';

/** Send `message` as an upstream-style plain-text error body. */
export function sendText(reply: FastifyReply, status: number, message: string, newline = true): FastifyReply {
  return reply
    .code(status)
    .header('content-type', TEXT)
    .header('x-content-type-options', 'nosniff')
    .send(newline ? `${message}\n` : message);
}

/**
 * The same plain-text answer on a raw node response (the invocation paths that
 * bypass Fastify). `body` is sent as given. A response already started cannot
 * carry a status any more: it is destroyed so the client sees the failure.
 */
export function writePlainText(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': TEXT,
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export interface MappedError {
  status: number;
  message: string;
  /** GW_ERR_* or the provider's code. */
  code: string;
  /** True when the client caused it (4xx) or the provider reported a known condition. */
  expected: boolean;
}

function gateway(code: GatewayErrorCode, message: string): MappedError {
  const status = GatewayErrorCodes[code];
  return { status, message, code, expected: status < 500 };
}

/** Status and client-facing message for any thrown value. */
export function mapError(err: unknown): MappedError {
  if (GatewayError.is(err)) return gateway(err.code, err.message);
  if (ProviderError.is(err)) return { status: err.statusCode, message: err.message, code: err.code, expected: true };
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe && typeof fe === 'object') {
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) {
      return gateway('GW_ERR_BODY_TOO_LARGE', 'request body is too large');
    }
    if (fe.validation) return gateway('GW_ERR_INVALID_BODY', `invalid request: ${fe.message}`);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { status: fe.statusCode, message: fe.message ?? 'bad request', code: fe.code ?? 'FST_ERR', expected: true };
    }
  }
  return { ...gateway('GW_ERR_INTERNAL', 'internal error'), expected: false };
}

export function installErrorHandler(app: FastifyInstance, logger: Logger | undefined): void {
  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (!mapped.expected) logger?.error({ err, url: request.url, method: request.method }, 'request failed');
    else if (mapped.status >= 500) logger?.warn({ err: (err as Error).message, url: request.url }, 'provider error');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return sendText(reply, mapped.status, mapped.message);
  });
}

/**
 * Fastify `clientErrorHandler`: the answer to a request node's parser rejects
 * before any route sees it (malformed request, headers over the size limit,
 * read_timeout reached). Go's plain text (`400 Bad Request`, `431 Request
 * Header Fields Too Large`) rather than Fastify's JSON default, then the
 * connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = `${status} ${STATUS_CODES[status]}`;
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${body}\r\nContent-Type: ${TEXT}\r\nX-Content-Type-Options: nosniff\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
