/** The one seam between the HTTP server and a mode's way of running the function. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestTarget } from '../cgi-env.js';
import type { WatchdogConfig } from '../config.js';
import type { Logger, LogSinks } from '../log.js';

export interface ExecutorContext {
  readonly config: WatchdogConfig;
  readonly logger: Logger;
  /** Where relayed child stdout/stderr go. */
  readonly sinks: LogSinks;
  /** The executor cannot go on (http mode, restart_policy=never): exit with `code`. */
  readonly onFatal: (code: number, reason: string) => void;
}

export interface Executor {
  /** Prepare before the listener opens (http: spawn the child; inproc: load the module). */
  start(): Promise<void>;
  /**
   * Serve one function request. `target` carries method and request-URI (the
   * readiness probe passes `GET <ready_path>` while reusing the probe's headers).
   */
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget): void;
  /** Extra readiness beyond the lock file (http: child alive and upstream accepting TCP). */
  isReady(): boolean;
  /** Graceful drain began (http: forward SIGTERM to the child). */
  shutdown(): void;
  /** Release everything: children, sockets, timers. */
  close(): Promise<void>;
  /** Optional HTTP Upgrade (websocket) handling. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}
