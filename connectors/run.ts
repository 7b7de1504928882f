/** Process plumbing shared by the connectors' main.ts: metrics server and signal handling. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ConnectorLogger } from './logger.js';

/** Serve GET /metrics from `registry` on 127.0.0.1:port (0 = no server). */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server | undefined> {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** On SIGTERM/SIGINT: close once, then exit 0 (1 when closing failed). */
export function closeOnSignals(close: () => Promise<void>, log: ConnectorLogger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
