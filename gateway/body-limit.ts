/**
 * `max_function_body_bytes` on the invocation path, which streams bodies and
 * never buffers them: a declared Content-Length over the limit is refused
 * before anything is forwarded; a chunked body is counted as it streams and,
 * once past the limit, `onOver` runs (answer 413 if nothing was sent yet, else
 * cut the connection) and no more of it is forwarded.
 *
 * The count wraps the request's own `push` (the HTTP parser feeds the body
 * through it) rather than adding a 'data' listener, which would switch the
 * stream to flowing mode under the proxy and lose the chunks it reads later.
 */
import type { IncomingMessage } from 'node:http';

/** False when the declared length is already over `limit` (nothing was read). */
export function limitRequestBody(req: IncomingMessage, limit: number, onOver: () => void): boolean {
  if (limit <= 0) return true;
  const declared = req.headers['content-length'];
  if (declared !== undefined) return !(Number(declared) > limit);
  let seen = 0;
  let over = false;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (over) return false;
    if (chunk !== null && chunk !== undefined) {
      seen += (chunk as Buffer).length;
      if (seen > limit) {
        over = true;
        onOver();
        return false;
      }
    }
    return push(chunk, encoding);
  };
  return true;
}
