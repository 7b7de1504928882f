/**
 * The watchdog: main listener (health, ready, metrics, function route), the
 * optional metrics listener, lock file and graceful drain (spec §1.0, §3, §4).
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WatchdogConfig } from './config.js';
import { formatGoDuration } from './durations.js';
import { createExecutor, type Executor } from './executors/index.js';
import { createLimiter } from './limiter.js';
import { lockFilePresent, removeLockFile, writeLockFile } from './lock.js';
import { createLogger, type Logger, type LogSinks } from './log.js';
import { createMetrics, type WatchdogMetrics } from './metrics.js';
import { enforceBodyLimit } from './body-limit.js';

export interface WatchdogDeps {
  logger?: Logger;
  /** Where relayed child output goes; default process.stdout / process.stderr. */
  sinks?: LogSinks;
  /** Unrecoverable executor failure (http child died, restart_policy=never). */
  onFatal?: (code: number, reason: string) => void;
}

export interface Watchdog {
  /** Spawn/load the function, listen, write the lock file. Resolves with bound ports. */
  start(): Promise<{ port: number; metricsPort: number | undefined }>;
  /** Graceful drain (§3.4): unhealthy, wait healthcheck_interval, stop listening, wait in-flight ≤ write_timeout. */
  shutdown(): Promise<void>;
  /** Stop now: close listeners and connections, kill children. */
  close(): Promise<void>;
  readonly metrics: WatchdogMetrics;
}

function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function createWatchdog(config: WatchdogConfig, deps: WatchdogDeps = {}): Watchdog {
  const sinks = deps.sinks ?? { stdout: process.stdout, stderr: process.stderr };
  const logger = deps.logger ?? createLogger(sinks.stderr);
  const metrics = createMetrics();
  const limiter = createLimiter(config.maxInflight);
  const executor: Executor = createExecutor({
    config,
    logger,
    sinks,
    onFatal: deps.onFatal ?? ((code) => process.exit(code)),
  });

  let accepting = false;
  let draining = false;
  let active = 0;
  let idleWaiter: (() => void) | undefined;
  const classic = config.mode === 'classic';

  const empty = (res: ServerResponse, status: number): void => {
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
  };

  function health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') return empty(res, 405);
    if (accepting && lockFilePresent(config.lockPath)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' });
      res.end('OK');
    } else empty(res, 503);
  }

  function ready(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') return empty(res, 405);
    if (!accepting || !lockFilePresent(config.lockPath)) return empty(res, 503);
    if (limiter.full()) return empty(res, 429);
    if (!executor.isReady()) return empty(res, 503);
    if (config.readyPath !== '') return executor.handle(req, res, { method: 'GET', url: config.readyPath });
    empty(res, 200);
  }

  function serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    metrics.scrape().then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      },
    );
  }

  function functionRoute(req: IncomingMessage, res: ServerResponse): void {
    const end = metrics.begin(req.method ?? 'GET');
    res.once('close', () => end(res.statusCode));
    if (!enforceBodyLimit(req, res, config.maxBodyBytes)) return;
    if (!limiter.admit(res)) return;
    executor.handle(req, res, { method: req.method ?? 'GET', url: req.url ?? '/' });
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    active++;
    // Write deadline from the end of the request headers: the connection is cut, no status.
    const writeTimer = setTimeout(() => req.socket.destroy(), config.writeTimeoutMs);
    res.once('close', () => {
      clearTimeout(writeTimer);
      active--;
      if (active === 0 && idleWaiter) idleWaiter();
    });
    if (draining) res.shouldKeepAlive = false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/_/health') return health(req, res);
    if (path === '/_/ready' && !classic) return ready(req, res);
    if (path === '/_/metrics') return serveMetrics(req, res);
    functionRoute(req, res);
  }

  const server = http.createServer(
    {
      maxHeaderSize: 1 << 20,
      requestTimeout: config.readTimeoutMs,
      keepAliveTimeout: 5000,
      // How often node enforces requestTimeout (its default, 30 s, would make read_timeout coarse).
      connectionsCheckingInterval: Math.min(1000, Math.max(config.readTimeoutMs, 100)),
    },
    onRequest,
  );
  if (executor.upgrade) server.on('upgrade', executor.upgrade);
  let metricsServer: Server | undefined;

  async function start(): Promise<{ port: number; metricsPort: number | undefined }> {
    logger.log(`Watchdog mode: ${config.mode}\tfprocess: "${config.fprocess}"`);
    logger.log(
      `Timeouts: read: ${formatGoDuration(config.readTimeoutMs)} write: ${formatGoDuration(config.writeTimeoutMs)} hard: ${formatGoDuration(config.execTimeoutMs)} health: ${formatGoDuration(config.healthcheckIntervalMs)}`,
    );
    await executor.start();
    const port = await listen(server, config.port, config.bindAddress);
    logger.log(`Listening on port: ${port}`);
    if (config.suppressLock) {
      logger.log('Warning: "suppress_lock" is enabled. No automated health-checks will be in place for your function.');
    } else {
      logger.log(`Writing lock-file to: ${config.lockPath}`);
      writeLockFile(config.lockPath);
    }
    accepting = true;
    let metricsPort: number | undefined;
    if (config.metricsPort !== 0) {
      metricsServer = http.createServer({ requestTimeout: 500 }, (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/metrics') return serveMetrics(req, res);
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
      });
      try {
        metricsPort = await listen(metricsServer, config.metricsPort, config.bindAddress);
        logger.log(`Metrics listening on port: ${metricsPort}`);
      } catch (err) {
        // Many replicas on one host all default to 8081: keep serving, metrics stay on /_/metrics.
        logger.log(`Metrics listener failed on port ${config.metricsPort}: ${(err as Error).message}; metrics remain at /_/metrics`);
        metricsServer = undefined;
      }
    }
    return { port, metricsPort };
  }

  async function shutdown(): Promise<void> {
    if (draining) return;
    logger.log(`SIGTERM: no new connections in ${formatGoDuration(config.healthcheckIntervalMs)}`);
    accepting = false;
    if (!config.suppressLock) {
      const err = removeLockFile(config.lockPath);
      if (err) logger.log(`Unable to delete lock file: ${err}`);
    }
    executor.shutdown();
    await delay(config.healthcheckIntervalMs);
    draining = true;
    logger.log(`No new connections allowed, draining: ${active} in-flight request(s)`);
    const closed = closeServer(server);
    server.closeIdleConnections();
    if (active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => (idleWaiter = r)),
        new Promise<void>((r) => (timer = setTimeout(r, config.writeTimeoutMs))),
      ]);
      if (timer) clearTimeout(timer);
    }
    logger.log(`Exiting. Active connections: ${active}`);
    server.closeAllConnections();
    await closed;
    await close();
  }

  async function close(): Promise<void> {
    accepting = false;
    const closing = closeServer(server);
    server.closeAllConnections();
    await executor.close();
    if (metricsServer) {
      const m = closeServer(metricsServer);
      metricsServer.closeAllConnections();
      await m;
    }
    await closing;
  }

  return { start, shutdown, close, metrics };
}
