/** max_inflight (spec §1.7): admit while in-flight (counting itself) ≤ limit; never queue. */
import type { ServerResponse } from 'node:http';

export interface Limiter {
  /** True when a new request would be rejected now (readiness answers 429). */
  full(): boolean;
  /** Admit or answer 429; when admitted the slot is released when `res` closes. */
  admit(res: ServerResponse): boolean;
  readonly inflight: number;
}

export function createLimiter(max: number): Limiter {
  let inflight = 0;
  const body = `Concurrent request limit exceeded. Max concurrent requests: ${max}\n`;
  const release = (): void => {
    inflight--;
  };
  return {
    get inflight() {
      return inflight;
    },
    full: () => max > 0 && inflight >= max,
    admit(res) {
      if (max > 0 && inflight >= max) {
        res.writeHead(429, {
          'Content-Type': 'text/plain',
          'X-OpenFaaS-Internal': 'faas-middleware',
          'Content-Length': String(body.length),
        });
        res.end(body);
        return false;
      }
      inflight++;
      res.once('close', release);
      return true;
    },
  };
}
