/**
 * `max_body_bytes` (ours; upstream has no limit): a request body larger than
 * the limit gets 413 before the function sees it when Content-Length says so,
 * and is cut off as soon as the running count passes the limit otherwise
 * (chunked): 413 if the answer has not started, else the connection is dropped.
 *
 * The count wraps the request's own `push` (the HTTP parser feeds the body
 * through it) instead of adding a 'data' listener, which would switch the
 * stream to flowing mode under the executor and lose chunks it reads later.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MESSAGE = 'request body too large\n';

function refuse(req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.writeHead(413, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(MESSAGE), Connection: 'close' });
  // The rest of the body is never read: close once the answer is out.
  res.end(MESSAGE, () => req.socket.destroy());
}

/** False when the request was refused (the caller must not serve it). */
export function enforceBodyLimit(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  if (limit <= 0) return true;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    refuse(req, res);
    return false;
  }
  let seen = 0;
  let over = false;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (over) return false;
    if (chunk !== null && chunk !== undefined) {
      seen += (chunk as Buffer).length;
      if (seen > limit) {
        over = true;
        refuse(req, res);
        return false;
      }
    }
    return push(chunk, encoding);
  };
  return true;
}
