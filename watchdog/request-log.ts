/** Per-request log lines (spec §1.1, §1.2): suppressed for kube-probe user agents. */
import type { IncomingMessage } from 'node:http';
import { humanSize, type Logger } from './log.js';

export function isProbe(req: IncomingMessage): boolean {
  const ua = req.headers['user-agent'];
  return typeof ua === 'string' && ua.startsWith('kube-probe');
}

export function logRequest(
  logger: Logger,
  req: IncomingMessage,
  line: { method: string; url: string; status: string; bytes: number; seconds: number; callId?: boolean },
): void {
  if (isProbe(req)) return;
  let msg = `${line.method} ${line.url} - ${line.status} - ContentLength: ${humanSize(line.bytes)} (${line.seconds.toFixed(4)}s)`;
  if (line.callId) {
    const id = req.headers['x-call-id'];
    msg += ` [${typeof id === 'string' && id !== '' ? id : 'none'}]`;
  }
  logger.log(msg);
}

/** Seconds since `start` (from process.hrtime.bigint()). */
export function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
