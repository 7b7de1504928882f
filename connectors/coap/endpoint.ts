/**
 * CoAP endpoint: coap://host/NAME[.NS][/sub/path][?query] invokes the
 * function over HTTP through the gateway (tinyFaaS's design: CoAP outside,
 * HTTP inside). Payload ↔ body, Content-Format ↔ Content-Type, Accept ↔
 * Accept, query ↔ query; the HTTP status becomes a CoAP response code.
 * The `coap` package answers confirmable requests (piggybacked, or an
 * empty ACK then a separate response for slow functions) and does the
 * block-wise transfers: Block1 requests are reassembled before we see them,
 * responses over 1024 bytes go out as Block2.
 */
import { createServer, type IncomingMessage, type OutgoingMessage, type Server } from 'coap';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createGatewayClient, type GatewayClient } from '../gateway-client.js';
import { silentLogger, type ConnectorLogger } from '../logger.js';
import { coapCodeFor } from './codes.js';
import { createCoapMetrics } from './metrics.js';

export const COAP_CONNECTOR_HEADER = 'faas-ts-coap';

export interface CoapEndpointOptions {
  /** UDP port (default 5683; 0 picks a free one). */
  port?: number;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  gateway: { url: string };
  /** Gateway request timeout (ms, default 60 s). */
  invokeTimeoutMs?: number;
  logger?: ConnectorLogger;
  registry?: Registry;
}

export interface CoapEndpoint {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  close(): Promise<void>;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);
/** A function name, optionally .namespace (DNS-1123 labels). */
const FN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/;

interface Target {
  fn: string;
  path: string;
  query: string;
}

/** Split the request URL the coap package assembled (raw option values joined with / and &). */
export function parseTarget(url: string): Target | undefined {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const segments = rawPath.split('/').filter((s, i) => i > 0 || s !== '');
  const fn = segments.shift() ?? '';
  if (!FN_RE.test(fn)) return undefined;
  const path = segments.length > 0 ? `/${segments.map(encodeURIComponent).join('/')}` : '';
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? encodeURIComponent(kv) : `${encodeURIComponent(kv.slice(0, eq))}=${encodeURIComponent(kv.slice(eq + 1))}`;
    })
    .join('&');
  return { fn, path, query };
}

function headerString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return undefined; // an unregistered numeric content-format
  return undefined;
}

export async function createCoapEndpoint(opts: CoapEndpointOptions): Promise<CoapEndpoint> {
  const log = opts.logger ?? silentLogger;
  const registry = opts.registry ?? new Registry();
  const metrics = createCoapMetrics(registry);
  const gateway: GatewayClient = createGatewayClient({ url: opts.gateway.url, invokeTimeoutMs: opts.invokeTimeoutMs ?? 60_000 });
  const host = opts.host ?? '127.0.0.1';
  const type = host.includes(':') ? 'udp6' : 'udp4';

  function reply(res: OutgoingMessage, code: string, body: Buffer | string, contentType?: string): void {
    res.code = code;
    if (contentType) {
      try {
        res.setOption('Content-Format', contentType);
      } catch {
        // no CoAP content-format registered for it: send the payload without one
      }
    }
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    metrics.bytesOut.inc(payload.length);
    res.end(payload);
  }

  async function onRequest(req: IncomingMessage, res: OutgoingMessage): Promise<void> {
    const method = String(req.method);
    const target = parseTarget(req.url);
    const payload = req.payload ?? Buffer.alloc(0);
    metrics.bytesIn.inc(payload.length);
    if (!target) {
      metrics.requests.inc({ function: '-', method, code: '4.04' });
      reply(res, '4.04', 'no function named in the path: coap://host/NAME[.NAMESPACE][/path]', 'text/plain');
      return;
    }
    if (!METHODS.has(method)) {
      metrics.requests.inc({ function: '-', method, code: '4.05' });
      reply(res, '4.05', `method ${method} is not supported`, 'text/plain');
      return;
    }
    const end = metrics.duration.startTimer({ function: target.fn, method });
    const headers: Record<string, string> = { 'x-connector': COAP_CONNECTOR_HEADER };
    const ct = headerString(req.headers['Content-Format']);
    if (ct) headers['content-type'] = ct;
    else if (payload.length > 0) headers['content-type'] = 'application/octet-stream';
    const accept = headerString(req.headers['Accept']);
    if (accept) headers['accept'] = accept;
    let code: string;
    try {
      const out = await gateway.invoke({
        fn: target.fn,
        method,
        path: target.path,
        query: target.query,
        headers,
        body: method === 'GET' || method === 'DELETE' ? (payload.length > 0 ? payload : undefined) : payload,
      });
      code = coapCodeFor(out.status, method, out.body.length > 0);
      reply(res, code, out.body, out.headers['content-type']);
      if (out.status >= 500) log.warn({ fn: target.fn, status: out.status }, 'function answered an error');
    } catch (err) {
      code = '5.02';
      log.error({ fn: target.fn, err: (err as Error).message }, 'gateway unreachable');
      reply(res, code, 'gateway unreachable', 'text/plain');
    }
    end();
    // Unknown names would make the label set unbounded.
    metrics.requests.inc({ function: code === '4.04' ? '-' : target.fn, method, code });
  }

  const server: Server = createServer({ type }, (req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'coap request failed');
      try {
        reply(res, '5.00', 'internal error', 'text/plain');
      } catch {
        // the response was already sent
      }
    });
  });
  server.on('error', (err: Error) => log.error({ err: err.message }, 'coap server error'));

  await new Promise<void>((resolve, reject) => {
    server.listen(opts.port ?? 5683, host, (err?: Error) => (err ? reject(err) : resolve()));
  });
  const sock = (server as unknown as { _sock?: { address(): AddressInfo } })._sock;
  const port = sock?.address().port ?? opts.port ?? 5683;
  log.info({ host, port }, 'coap endpoint listening');

  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    registry,
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await gateway.close();
      })();
      return closed;
    },
  };
}
