/**
 * buildGateway: assemble one gateway instance (Fastify app, proxy, metrics,
 * auth) from a config and its dependencies. No global state: two gateways
 * can run in one process.
 *
 * Route groups and their guards:
 *   open:       /function/*, /async-function/* (only with a queue), /healthz, /metrics, /
 *   basic auth: /system/*, /ui/*   (when basic_auth=true)
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ValidatorFactory } from '@fastify/ajv-compiler';
import type { SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createBasicAuthCheck, createInvocationProxy, type Provider, type RequestQueuer } from '../provider/index.js';
import { basicAuthHook, crossSiteHook, readCredentials } from './auth.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { GatewayError } from './errors.js';
import { clientErrorHandler, installErrorHandler, sendText } from './http-errors.js';
import { GatewayMetrics } from './metrics.js';
import { installRouterBehaviour, methodNotAllowed } from './router.js';
import { asyncFunctionRoutes } from './routes/async-function.js';
import { createInvokeHandler, functionProxyRoutes, isInvocationUrl } from './routes/function-proxy.js';
import { opsRoutes } from './routes/ops.js';
import { systemAlertRoutes } from './routes/system-alert.js';
import { systemFunctionRoutes } from './routes/system-functions.js';
import { systemInfoRoutes } from './routes/system-info.js';
import { systemLogRoutes } from './routes/system-logs.js';
import { systemNamespaceRoutes } from './routes/system-namespaces.js';
import { systemSecretRoutes } from './routes/system-secrets.js';
import { uiRoutes } from './routes/ui.js';
import { createEndpointResolver } from './scale-from-zero.js';
import { createScaling } from './scaling/index.js';
import { subsetValidatorCompiler } from './validate.js';
import { createApiServer, loadTlsMaterial } from './tls.js';

export interface GatewayDeps {
  provider: Provider;
  logger?: Logger;
  /** Metrics registry; default a new Registry per gateway. */
  registry?: Registry;
  /** Basic-auth credentials; overrides reading the files under secret_mount_path. */
  credentials?: { user: string; password: string };
  /** Async invocation queue: without it /async-function/* is not registered (404). */
  queue?: RequestQueuer;
}

/** Idle time of client keep-alive connections (Fastify's default). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Known paths and the methods each accepts; every other method answers 405. */
const KNOWN_ROUTES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/system/functions', ['GET', 'POST', 'PUT', 'DELETE']],
  ['/system/function/:name', ['GET']],
  ['/system/scale-function/:name', ['POST']],
  ['/system/info', ['GET']],
  ['/system/alert', ['POST']],
  ['/system/secrets', ['GET', 'POST', 'PUT', 'DELETE']],
  ['/system/logs', ['GET']],
  ['/system/namespaces', ['GET']],
  ['/system/namespace/', ['GET', 'POST', 'PUT', 'DELETE']],
  ['/system/namespace/:ns', ['GET', 'POST', 'PUT', 'DELETE']],
  ['/healthz', ['GET']],
  ['/metrics', ['GET']],
  ['/', ['GET']],
  ['/ui/*', ['GET']],
];

/** JSON for every content type on /system/*: upstream ignores Content-Type. */
function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      // V8 quotes part of the input in some messages (`Unexpected token 'v', "value=s3cr"... is not valid
      // JSON`): drop the quote so a secret sent with a typo is not echoed into errors and logs.
      const reason = (err as Error).message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '');
      done(new GatewayError('GW_ERR_INVALID_BODY', `invalid JSON body: ${reason}`), undefined);
    }
  });
}

export async function buildGateway(config: GatewayConfig, deps: GatewayDeps): Promise<FastifyInstance> {
  const { provider } = deps;
  // Bind the component once (the CLI may already have done so).
  const logger = deps.logger && !deps.logger.bindings().component ? deps.logger.child({ component: 'gateway' }) : deps.logger;
  let authCheck: GatewayContext['authCheck'];
  if (config.basicAuth) authCheck = createBasicAuthCheck(deps.credentials ?? readCredentials(config.secretMountPath));
  const tls = config.tls ? loadTlsMaterial(config.tls) : undefined;

  const registry = deps.registry ?? new Registry();
  const shutdown = new AbortController();
  const proxy = createInvocationProxy({
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxConnectionsPerEndpoint: config.maxIdleConnsPerHost,
    callHeaders: { servedBy: `openfaas-ce/${config.version.release}` },
    userAgent: `openfaas-ce-gateway/${config.version.release}`,
  });
  const ctx: GatewayContext = {
    config,
    provider,
    logger,
    authCheck,
    shutdown: shutdown.signal,
    proxy,
    metrics: new GatewayMetrics(registry, provider, logger),
    resolver: createEndpointResolver({
      provider,
      scaleFromZero: config.scaleFromZero,
      timeoutMs: config.scaleFromZeroTimeoutMs,
      // Polled only while a function wakes: a local replica is ready in ~70 ms,
      // so a 50 ms step would add ~25 ms to every cold start.
      pollIntervalMs: 10,
    }),
  };

  // Alert handler, embedded rule engine and idler (gateway/scaling/).
  const scaling = createScaling(config.scaling, {
    provider,
    functionNamespace: config.functionNamespace,
    registry,
    metrics: ctx.metrics,
    logger,
    onScaled: (label) => ctx.resolver.invalidate(label),
  });

  // Offload to a parent gateway: loaded only when configured (no cost otherwise).
  const offload = config.offload
    ? (await import('./offload/index.js')).createOffload(config.offload, {
        provider,
        resolver: ctx.resolver,
        proxy,
        metrics: ctx.metrics,
        functionNamespace: config.functionNamespace,
        logger,
      })
    : undefined;
  const invoke = createInvokeHandler(ctx, offload?.invoke);
  const app = Fastify({
    ...(logger ? { loggerInstance: logger as unknown as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: true,
    // Requests node's parser rejects (malformed, 431, read_timeout): plain text like every other error.
    clientErrorHandler,
    // Invocations skip Fastify's routing and hooks (the hot path); everything
    // else, and app.inject(), goes through Fastify, whose /function route
    // calls the same handler.
    serverFactory: (fastifyHandler) => {
      const server = createApiServer(
        tls,
        {
          maxHeaderSize: 1024 * 1024,
          requestTimeout: config.readTimeoutMs,
          // node ignores requestTimeout while headersTimeout (default 60 s) exceeds it.
          headersTimeout: Math.min(60_000, config.readTimeoutMs),
          // How often node enforces requestTimeout (its default, 30 s, would let short read_timeouts overrun).
          connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(config.readTimeoutMs / 4))),
        },
        (req, res) => {
          if (isInvocationUrl(req.url)) void invoke(req, res);
          else fastifyHandler(req, res);
        },
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      // Socket inactivity: a client that stops reading is dropped after write_timeout.
      server.setTimeout(config.writeTimeoutMs);
      return server;
    },
    // Our own validator for the provider schemas; no response schemas. Neither
    // ajv nor fast-json-stringify is loaded (about 6 MB of RSS).
    schemaController: {
      compilersFactory: {
        buildValidator: (() => subsetValidatorCompiler) as unknown as ValidatorFactory,
        buildSerializer: (() => () => (data: unknown) => JSON.stringify(data)) as unknown as SerializerFactory,
      },
    },
    routerOptions: { maxParamLength: 8192 },
    // Bad percent-encoding and similar router errors: plain text like every other error.
    frameworkErrors: (error, _request, reply) => {
      sendText(reply, error.statusCode ?? 400, error.message);
    },
  });

  app.decorate('gatewayRegistry', registry);
  // Every route as registered (method + URL), for audits such as test/security-routes.test.ts.
  const routeTable: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });
  app.decorate('gatewayRoutes', routeTable);
  installErrorHandler(app, logger);
  installRouterBehaviour(app);
  for (const [url, methods] of KNOWN_ROUTES) methodNotAllowed(app, url, methods);

  await app.register(async (open) => {
    await opsRoutes(open, ctx);
  });
  await app.register(async (fn) => {
    await functionProxyRoutes(fn, invoke);
  });
  if (deps.queue) {
    await app.register(
      asyncFunctionRoutes({
        queue: deps.queue,
        maxBodyBytes: config.maxBodyBytes,
        functionNamespace: config.functionNamespace,
        version: config.version.release,
        ...(offload ? { offload: offload.async } : {}),
      }),
    );
  }
  await app.register(async (system) => {
    if (authCheck) system.addHook('onRequest', basicAuthHook(authCheck));
    system.addHook('onRequest', crossSiteHook());
    installJsonParser(system, config.maxBodyBytes);
    await systemFunctionRoutes(system, ctx);
    await systemSecretRoutes(system, ctx);
    await systemNamespaceRoutes(system, ctx);
    await systemInfoRoutes(system, ctx);
    await systemAlertRoutes(system, ctx, scaling.alerts);
    await systemLogRoutes(system, ctx);
    await uiRoutes(system, ctx);
  });

  app.addHook('preClose', async () => {
    shutdown.abort();
    await scaling.close();
  });
  app.addHook('onClose', async () => {
    await offload?.close();
    await proxy.close();
  });
  return app;
}
