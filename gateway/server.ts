/**
 * startGateway: listen on the API port and, unless metrics_port is 0, on a
 * second small port serving GET /metrics and GET /healthz (local `OK`), as
 * upstream's port 8082 does. close() stops both; the provider is owned by the
 * caller and is not closed here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { buildGateway, type GatewayDeps } from './app.js';
import type { GatewayConfig } from './config.js';

export interface RunningGateway {
  /** Base URL of the API port, e.g. `http://127.0.0.1:8080` (`https://` with TLS on). */
  url: string;
  /** Base URL of the metrics port, when enabled. */
  metricsUrl?: string;
  close(): Promise<void>;
}

function urlOf(address: AddressInfo | string | null, scheme = 'http'): string {
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** The metrics-port handler: /metrics (any method, as upstream) and GET /healthz. */
export function metricsPortHandler(registry: Registry) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        () => text(500, 'metrics collection failed\n'),
      );
      return;
    }
    if (path === '/healthz') {
      if (req.method !== 'GET') {
        res.writeHead(405);
        res.end();
        return;
      }
      text(200, 'OK');
      return;
    }
    text(404, '404 page not found\n');
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

export async function startGateway(config: GatewayConfig, deps: GatewayDeps): Promise<RunningGateway> {
  const app = await buildGateway(config, deps);
  try {
    await app.listen({ port: config.port, host: config.bindAddress });
  } catch (err) {
    await app.close();
    throw err;
  }
  const url = urlOf(app.server.address(), config.tls ? 'https' : 'http');

  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== 0) {
    const registry = (app as unknown as { gatewayRegistry: Registry }).gatewayRegistry;
    metricsServer = createServer(metricsPortHandler(registry));
    metricsServer.requestTimeout = 5_000;
    metricsServer.headersTimeout = 5_000;
    metricsServer.setTimeout(5_000);
    try {
      await listen(metricsServer, config.metricsPort, config.bindAddress);
    } catch (err) {
      await app.close();
      throw err;
    }
    metricsUrl = urlOf(metricsServer.address());
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    close() {
      closing ??= (async () => {
        if (metricsServer) {
          const s = metricsServer;
          const closed = new Promise<void>((resolve) => s.close(() => resolve()));
          s.closeAllConnections();
          await closed;
        }
        await app.close();
      })();
      return closing;
    },
  };
}
