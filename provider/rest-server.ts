/**
 * serveProvider(): any Provider served over the upstream faas-provider HTTP
 * routes (shared/spec/gateway-api.md §8), so an unmodified OpenFaaS gateway,
 * faas-cli or our own createRestProvider() can drive it.
 *
 * Router semantics follow the Go mux the upstream uses: an unknown path is
 * `404 page not found`, a known path with a method it does not serve is `405`
 * with an empty body, and errors are plain text with a trailing newline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Provider } from './provider.js';
import type {
  DeleteFunctionRequest,
  FunctionDeployment,
  FunctionNamespace,
  InvokeEndpoint,
  LogMessage,
  LogRequest,
  ScaleServiceRequest,
  Secret,
} from './types.js';
import { ProviderError } from './errors.js';
import { splitFunctionName } from './names.js';
import { serializeFunctionStatus, serializeSecretListItem } from './serialize.js';
import {
  deleteFunctionRequestSchema,
  functionDeploymentSchema,
  functionNamespaceSchema,
  scaleServiceRequestSchema,
  secretSchema,
} from './schemas.js';
import { createInvocationProxy } from './proxy.js';
import { createBasicAuthCheck } from './basic-auth.js';

/** faas-provider's defaults for `read_timeout` / `write_timeout`. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

export interface ServeProviderOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Basic auth for /system/*; absent means no auth. */
  credentials?: { user: string; password: string };
  /** Time allowed to receive a whole request; also the invocation proxy's upstream deadline. */
  readTimeoutMs?: number;
  /** Longest a response may take to write; bounds `follow` log streams. */
  writeTimeoutMs?: number;
  /** A pino-compatible logger; none by default. */
  logger?: FastifyBaseLogger;
}

export interface ProviderServer {
  /** e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  /** The server's own metrics (provider_http_*). */
  readonly registry: Registry;
  close(): Promise<void>;
}

const NOT_IMPLEMENTED = 'Feature not implemented in this version of OpenFaaS';
const INVOKE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

/** Paths the router knows; a request to one with another method is a 405, not a 404. */
const KNOWN_PATHS: RegExp[] = [
  /^\/system\/functions$/,
  /^\/system\/function\/[^/]+$/,
  /^\/system\/scale-function\/[^/]+$/,
  /^\/system\/info$/,
  /^\/system\/secrets$/,
  /^\/system\/logs$/,
  /^\/system\/namespaces$/,
  /^\/system\/namespace\/[^/]*$/,
  /^\/function\//,
  /^\/healthz$/,
  /^\/metrics$/,
];

/** Go's `http.Error`: plain text, nosniff, message plus a newline. */
function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('Content-Type', 'text/plain; charset=utf-8')
    .header('X-Content-Type-Options', 'nosniff')
    .send(message + '\n');
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer keeps Fastify from appending `; charset=utf-8` (upstream sends the bare type).
  return reply.code(status).header('Content-Type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}

/** Query values as Go reads them: `first` like `Query().Get`, `last` for the logs parser. */
function queryOf(req: FastifyRequest): URLSearchParams {
  const i = req.url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : req.url.slice(i + 1));
}

function first(q: URLSearchParams, key: string): string | undefined {
  const v = q.get(key);
  return v === null || v === '' ? undefined : v;
}

function last(q: URLSearchParams, key: string): string | undefined {
  const all = q.getAll(key);
  return all.length === 0 ? undefined : all[all.length - 1];
}

/** Go strconv.ParseBool. */
function parseGoBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

class LogQueryError extends Error {}

/** §8.4: tail and since must parse when given; follow falls back to false. */
export function parseLogQuery(q: URLSearchParams): LogRequest {
  const req: LogRequest = { name: last(q, 'name') ?? '' };
  const namespace = last(q, 'namespace');
  if (namespace) req.namespace = namespace;
  const instance = last(q, 'instance');
  if (instance) req.instance = instance;
  const tail = last(q, 'tail');
  if (tail !== undefined && tail !== '') {
    if (!/^[+-]?\d+$/.test(tail)) throw new LogQueryError('tail');
    req.tail = Number(tail);
  }
  const since = last(q, 'since');
  if (since !== undefined && since !== '') {
    const ms = RFC3339.test(since) ? Date.parse(since) : NaN;
    if (Number.isNaN(ms)) throw new LogQueryError('since');
    req.since = new Date(ms);
  }
  req.follow = parseGoBool(last(q, 'follow')) ?? false;
  return req;
}

/** One NDJSON line with the five keys in upstream order. */
export function logLine(m: LogMessage): string {
  return (
    JSON.stringify({
      name: m.name ?? '',
      namespace: m.namespace ?? '',
      instance: m.instance ?? '',
      timestamp: m.timestamp ?? '',
      text: m.text ?? '',
    }) + '\n'
  );
}


/** Strip `$id` so the shared schemas can be used inline on several routes. */
function inline<T extends { $id?: string }>(schema: T): Omit<T, '$id'> {
  const { $id: _id, ...rest } = schema;
  return rest;
}

/** Route label for metrics: templated where the path carries a name (§6). */
function metricsPath(path: string): string | undefined {
  if (!path.startsWith('/system/')) return undefined;
  if (path.startsWith('/system/function/')) return '/system/function/{name}';
  if (path.startsWith('/system/scale-function/')) return '/system/scale-function/{name}';
  return path;
}

/** `/function/fn.ns/a/b?q` → `/a/b?q` (raw, not re-encoded); `/function/fn?q` → `/?q`. */
export function functionPath(rawUrl: string): string {
  const afterPrefix = rawUrl.slice('/function/'.length);
  const cut = afterPrefix.search(/[/?]/);
  if (cut < 0) return '/';
  const rest = afterPrefix.slice(cut);
  return rest.startsWith('/') ? rest : '/' + rest;
}

function pathOf(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

/** Parse any body as JSON regardless of Content-Type (Go handlers ignore it); empty → undefined. */
function addJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = new ProviderError('INVALID', `unable to parse request body: ${(err as Error).message}`);
      done(e, undefined);
    }
  });
}

function requireBody<T>(body: unknown): T {
  if (body === undefined || body === null) throw ProviderError.invalid('expected a body');
  return body as T;
}

export async function serveProvider(provider: Provider, opts: ServeProviderOptions = {}): Promise<ProviderServer> {
  const readTimeoutMs = opts.readTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const writeTimeoutMs = opts.writeTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const authOk = opts.credentials ? createBasicAuthCheck(opts.credentials) : undefined;

  const registry = new Registry();
  const requestsTotal = new Counter({
    name: 'provider_http_requests_total',
    help: 'Requests served by the faas-provider API, by status code, method and path.',
    labelNames: ['code', 'method', 'path'],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'provider_http_request_duration_seconds',
    help: 'Time to serve a faas-provider API request, in seconds.',
    labelNames: ['code', 'method', 'path'],
    registers: [registry],
  });

  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    exposeHeadRoutes: false,
    // `fn.ns` is up to 127 characters; the default 100 would answer 414.
    routerOptions: { maxParamLength: 1024 },
    requestTimeout: readTimeoutMs,
    forceCloseConnections: true,
    return503OnClosing: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });

  // Metrics on the raw response so hijacked replies (logs, invocations) count too.
  app.addHook('onRequest', (req, reply, done) => {
    const path = metricsPath(pathOf(req.url));
    if (path) {
      const end = requestDuration.startTimer();
      reply.raw.once('close', () => {
        const labels = { code: String(reply.raw.statusCode), method: req.method, path };
        end(labels);
        requestsTotal.inc(labels);
      });
    }
    done();
  });

  app.setNotFoundHandler((req, reply) => {
    const path = pathOf(req.url);
    if (KNOWN_PATHS.some((re) => re.test(path))) return reply.code(405).send('');
    return sendText(reply, 404, '404 page not found');
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (ProviderError.is(err)) return sendText(reply, err.statusCode, err.message);
    const e = err as { statusCode?: number; message?: string; validation?: unknown };
    if (e.validation) {
      if (req.body === undefined) return sendText(reply, 400, 'expected a body');
      return sendText(reply, 400, `invalid request body: ${e.message ?? ''}`);
    }
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 ? e.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'provider request failed');
    return sendText(reply, status, e.message ?? 'internal error');
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.code(200).header('Content-Type', registry.contentType).send(body);
  });

  const health = async (_req: FastifyRequest, reply: FastifyReply) => {
    if (provider.health) {
      try {
        await provider.health();
      } catch (err) {
        return sendText(reply, 503, `provider unhealthy: ${(err as Error).message}`);
      }
    }
    return reply.code(200).header('Content-Type', 'text/plain; charset=utf-8').send('OK');
  };
  app.get('/healthz', health);
  app.head('/healthz', health);

  await app.register(async (system) => {
    addJsonBodyParser(system);
    if (authOk) {
      system.addHook('onRequest', (req, reply, done) => {
        if (authOk(req.headers.authorization)) return done();
        reply
          .code(401)
          .header('WWW-Authenticate', 'Basic realm="Restricted"')
          .header('Content-Type', 'text/plain; charset=utf-8')
          .send('invalid credentials');
      });
    }
    registerSystemRoutes(system, provider, writeTimeoutMs);
  });

  const invocations = createInvocationProxy({ upstreamTimeoutMs: readTimeoutMs });
  app.addHook('onClose', async () => {
    await invocations.close();
  });

  await app.register(async (invoke) => {
    // Leave the body stream unread: the proxy forwards it as it arrives.
    invoke.removeAllContentTypeParsers();
    invoke.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    const missingName = (_req: FastifyRequest, reply: FastifyReply) =>
      sendText(reply, 400, 'Provide function name in the request path');
    const handler = async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
      const qualified = req.params.name;
      const { name, namespace } = splitFunctionName(qualified);
      let endpoints: InvokeEndpoint[] = [];
      try {
        endpoints = await provider.endpoints(name, namespace);
      } catch (err) {
        if (!ProviderError.is(err, 'NOT_FOUND') && !ProviderError.is(err, 'INVALID')) {
          req.log.warn({ err, fn: name, ns: namespace }, 'endpoint lookup failed');
        }
      }
      if (endpoints.length === 0) {
        reply.header('X-OpenFaaS-Internal', 'proxy');
        return sendText(reply, 503, `No endpoints available for: ${qualified}.`);
      }
      reply.hijack();
      // §8.3: the function's Content-Type, else the request's, else text/plain.
      // Headers given to writeHead() by the proxy replace this default.
      reply.raw.setHeader('Content-Type', req.headers['content-type'] || 'text/plain');
      await invocations.forward(req.raw, reply.raw, { endpoints, path: functionPath(req.raw.url ?? '/') });
    };
    invoke.route({ method: [...INVOKE_METHODS], url: '/function/', handler: missingName });
    invoke.route({ method: [...INVOKE_METHODS], url: '/function/:name', handler });
    invoke.route({ method: [...INVOKE_METHODS], url: '/function/:name/*', handler });
  });

  try {
    await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  } catch (err) {
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('provider server has no TCP address');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  return {
    url,
    registry,
    close: async () => {
      await app.close();
    },
  };
}

function registerSystemRoutes(app: FastifyInstance, provider: Provider, writeTimeoutMs: number): void {
  // --- functions -----------------------------------------------------------
  app.get('/system/functions', async (req, reply) => {
    const ns = first(queryOf(req), 'namespace');
    const list = await provider.list(ns);
    return sendJson(reply, 200, list.map(serializeFunctionStatus));
  });

  app.post('/system/functions', { schema: { body: inline(functionDeploymentSchema) } }, async (req, reply) => {
    const spec = requireBody<FunctionDeployment>(req.body);
    await provider.deploy(spec);
    return reply.code(202).send('');
  });

  app.put('/system/functions', { schema: { body: inline(functionDeploymentSchema) } }, async (req, reply) => {
    const spec = requireBody<FunctionDeployment>(req.body);
    await provider.update(spec);
    return reply.code(202).send('');
  });

  app.delete('/system/functions', { schema: { body: inline(deleteFunctionRequestSchema) } }, async (req, reply) => {
    const body = requireBody<DeleteFunctionRequest>(req.body);
    const ns = body.namespace || first(queryOf(req), 'namespace');
    await provider.remove(body.functionName, ns);
    return reply.code(202).send('');
  });

  app.get<{ Params: { name: string } }>('/system/function/:name', async (req, reply) => {
    const q = queryOf(req);
    const status = await provider.get(req.params.name, first(q, 'namespace'));
    if (!status) return sendText(reply, 404, `function ${req.params.name} not found`);
    const out = serializeFunctionStatus(status);
    if (parseGoBool(first(q, 'usage')) === false) delete out.usage;
    return sendJson(reply, 200, out);
  });

  app.post<{ Params: { name: string } }>(
    '/system/scale-function/:name',
    { schema: { body: inline(scaleServiceRequestSchema) } },
    async (req, reply) => {
      const body = requireBody<ScaleServiceRequest>(req.body);
      const ns = first(queryOf(req), 'namespace') || body.namespace || undefined;
      await provider.scale(req.params.name, body.replicas ?? 0, ns);
      return reply.code(202).send('');
    },
  );

  app.get('/system/info', async (_req, reply) => {
    const info = await provider.info();
    return sendJson(reply, 200, {
      provider: info.provider,
      version: info.version
        ? {
            ...(info.version.commit_message ? { commit_message: info.version.commit_message } : {}),
            sha: info.version.sha,
            release: info.version.release,
          }
        : null,
      orchestration: info.orchestration,
    });
  });

  // --- secrets -------------------------------------------------------------
  const secretNs = (req: FastifyRequest, body: Secret) => body.namespace || first(queryOf(req), 'namespace');

  app.get('/system/secrets', async (req, reply) => {
    const list = await provider.listSecrets(first(queryOf(req), 'namespace'));
    return sendJson(reply, 200, list.map(serializeSecretListItem));
  });

  app.post('/system/secrets', { schema: { body: inline(secretSchema) } }, async (req, reply) => {
    const body = requireBody<Secret>(req.body);
    const ns = secretNs(req, body);
    await provider.createSecret({ ...body, ...(ns ? { namespace: ns } : {}) });
    return reply.code(201).send('');
  });

  app.put('/system/secrets', { schema: { body: inline(secretSchema) } }, async (req, reply) => {
    const body = requireBody<Secret>(req.body);
    const ns = secretNs(req, body);
    await provider.updateSecret({ ...body, ...(ns ? { namespace: ns } : {}) });
    return reply.code(202).send('');
  });

  app.delete('/system/secrets', { schema: { body: inline(secretSchema) } }, async (req, reply) => {
    const body = requireBody<Secret>(req.body);
    await provider.deleteSecret(body.name, secretNs(req, body));
    return reply.code(202).send('');
  });

  // --- namespaces ----------------------------------------------------------
  app.get('/system/namespaces', async (_req, reply) => {
    return sendJson(reply, 200, await provider.namespaces());
  });

  const getNs = async (req: FastifyRequest<{ Params: { name?: string } }>, reply: FastifyReply) => {
    if (!provider.getNamespace) return sendText(reply, 501, NOT_IMPLEMENTED);
    const name = req.params.name ?? '';
    if (!name) return sendText(reply, 400, 'namespace name is required');
    const ns = await provider.getNamespace(name);
    if (!ns) return sendText(reply, 404, `namespace ${name} not found`);
    const out: FunctionNamespace = { name: ns.name };
    if (ns.annotations && Object.keys(ns.annotations).length) out.annotations = ns.annotations;
    if (ns.labels && Object.keys(ns.labels).length) out.labels = ns.labels;
    return sendJson(reply, 200, out);
  };
  /** Name from the path, else from the body; both given must agree. */
  const nsBody = (req: FastifyRequest<{ Params: { name?: string } }>): FunctionNamespace => {
    const body = requireBody<FunctionNamespace>(req.body);
    const fromPath = req.params.name ?? '';
    if (fromPath && body.name && body.name !== fromPath) {
      throw ProviderError.invalid(`namespace in path (${fromPath}) and body (${body.name}) differ`);
    }
    const name = fromPath || body.name;
    if (!name) throw ProviderError.invalid('namespace name is required');
    return { ...body, name };
  };
  const createNs = async (req: FastifyRequest<{ Params: { name?: string } }>, reply: FastifyReply) => {
    if (!provider.createNamespace) return reply.code(405).send('');
    await provider.createNamespace(nsBody(req));
    return reply.code(202).send('');
  };
  const updateNs = async (req: FastifyRequest<{ Params: { name?: string } }>, reply: FastifyReply) => {
    if (!provider.updateNamespace) return reply.code(405).send('');
    await provider.updateNamespace(nsBody(req));
    return reply.code(202).send('');
  };
  const deleteNs = async (req: FastifyRequest<{ Params: { name?: string } }>, reply: FastifyReply) => {
    if (!provider.deleteNamespace) return reply.code(405).send('');
    const name = req.params.name ?? '';
    if (!name) return sendText(reply, 400, 'namespace name is required');
    await provider.deleteNamespace(name);
    return reply.code(202).send('');
  };
  const nsSchema = { schema: { body: inline(functionNamespaceSchema) } };
  for (const url of ['/system/namespace/', '/system/namespace/:name']) {
    app.get(url, getNs);
    app.post(url, nsSchema, createNs);
    app.put(url, nsSchema, updateNs);
    app.delete(url, deleteNs);
  }

  // --- logs ----------------------------------------------------------------
  app.get('/system/logs', async (req, reply) => {
    if (!provider.logs) return sendText(reply, 501, NOT_IMPLEMENTED);
    let logReq: LogRequest;
    try {
      logReq = parseLogQuery(queryOf(req));
    } catch {
      return sendText(reply, 422, 'could not parse the log request');
    }
    if (!logReq.name) return sendText(reply, 400, 'provide a function name in the log request');
    // Existence is checked before the stream starts, so NOT_FOUND can still be a status.
    const status = await provider.get(logReq.name, logReq.namespace);
    if (!status) return sendText(reply, 404, `function ${logReq.name} not found`);
    reply.hijack();
    await streamLogs(provider, logReq, req.raw, reply.raw, writeTimeoutMs, req.log);
  });
}

async function streamLogs(
  provider: Provider,
  logReq: LogRequest,
  req: IncomingMessage,
  res: ServerResponse,
  writeTimeoutMs: number,
  log: FastifyBaseLogger,
): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('write timeout')), writeTimeoutMs);
  const onClose = () => ac.abort(new Error('client closed'));
  res.once('close', onClose);
  req.once('error', onClose);
  res.writeHead(200, {
    'Content-Type': 'application/x-ndjson',
    Connection: 'Keep-Alive',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
  try {
    for await (const msg of provider.logs!(logReq, ac.signal)) {
      if (ac.signal.aborted) break;
      if (!res.write(logLine(msg))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            ac.signal.removeEventListener('abort', done);
            resolve();
          };
          res.once('drain', done);
          ac.signal.addEventListener('abort', done, { once: true });
        });
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) log.warn({ err, fn: logReq.name }, 'log stream failed');
  } finally {
    clearTimeout(timer);
    res.off('close', onClose);
    req.off('error', onClose);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
