/**
 * Synchronous invocations with offload (`/function/*` when a parent is
 * configured). Order of the decision for one call:
 *
 * 1. Resolve local replicas, waiting at most `offload_ready_wait`:
 *    not deployed → `not-deployed`; none ready in time → `no-ready-replica`
 *    (the local wake-up goes on, so later calls find the function warm).
 * 2. With replicas: the function's labels may opt out or name a parent; then
 *    host load (last sample) → `host-cpu` / `host-memory`; every replica
 *    already at its `max_inflight` → `saturated`.
 * 3. A reason and a hop left → forward to the parent, body streamed. If the
 *    parent does not answer and the body is untouched, the call continues
 *    here as if offload were off (the client gets this layer's own answer);
 *    a body already consumed cannot be re-sent: 502 GW_ERR_OFFLOAD_FAILED.
 * 4. No reason: run locally. Methods marked retry-safe (config or label)
 *    with a small body are buffered and, when the local replica answers 429
 *    or times out, re-sent upward (`saturated` / `timeout`). Every other call
 *    is never re-sent once it went to a local replica.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { InvocationProxy, InvokeEndpoint, Provider } from '../../provider/index.js';
import { GatewayError, GatewayErrorCodes } from '../errors.js';
import { writePlainText } from '../http-errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { EndpointResolver } from '../scale-from-zero.js';
import type { OffloadConfig } from './config.js';
import { HOPS_HEADER, LAYER_HEADER, incomingHops, mayForward, type Hops } from './hops.js';
import type { LoadSampler } from './load.js';
import { relayHeaders, upstreamHeaders, type ParentClient } from './parent.js';
import { absentFunction, allSaturated, functionOffload, hostReason, type FunctionOffload, type OffloadReason } from './policy.js';

export interface OffloadDeps {
  readonly config: OffloadConfig;
  readonly provider: Provider;
  readonly resolver: EndpointResolver;
  readonly proxy: InvocationProxy;
  readonly metrics: GatewayMetrics;
  readonly sampler: LoadSampler;
  readonly parent: ParentClient;
  readonly logger?: Logger | undefined;
}

export interface CallInfo {
  readonly name: string;
  readonly namespace: string | undefined;
  /** `fn.ns`. */
  readonly label: string;
  /** Function-relative path + query (`/`, `/a?b=1`). */
  readonly subPath: string;
}

export interface LocalRunner {
  /** Forward to local replicas through the shared proxy (records the invocation metrics). */
  run(endpoints: InvokeEndpoint[]): Promise<void>;
  /** Answer a resolve error the way the gateway does without offload. */
  fail(err: unknown): void;
}

/** How long a function's labels and env are reused for offload decisions. */
const SETTINGS_CACHE_MS = 2_000;

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

type Resolved =
  | { kind: 'ok'; endpoints: InvokeEndpoint[] }
  | { kind: 'error'; error: unknown }
  | { kind: 'waiting'; pending: Promise<InvokeEndpoint[]> };

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return String(e?.code ?? e?.cause?.code ?? 'ERROR');
}

/** Read a body of known small size; undefined when it is larger than `limit` or of unknown length. */
async function bufferBody(req: IncomingMessage, limit: number): Promise<Buffer | null | undefined> {
  const te = req.headers['transfer-encoding'];
  const len = req.headers['content-length'];
  if (te === undefined && (len === undefined || len === '0')) return null;
  if (te !== undefined || len === undefined || !/^\d+$/.test(len) || Number(len) > limit) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function createOffloadInvoker(deps: OffloadDeps) {
  const { config, provider, resolver, proxy, metrics, sampler, parent, logger } = deps;
  const settingsCache = new Map<string, { value: FunctionOffload | undefined; expires: number }>();
  const settingsPending = new Map<string, Promise<FunctionOffload | undefined>>();
  /** Buffered local attempts in flight per replica (the proxy counts its own). */
  const ownInFlight = new Map<string, number>();
  const inFlight = (e: InvokeEndpoint) => proxy.inFlight(e) + (ownInFlight.get(e.baseUrl) ?? 0);

  /** Labels and env of a deployed function (undefined when it is not deployed), cached briefly. */
  function settings(call: CallInfo): Promise<FunctionOffload | undefined> {
    const hit = settingsCache.get(call.label);
    if (hit && hit.expires > Date.now()) return Promise.resolve(hit.value);
    let pending = settingsPending.get(call.label);
    if (!pending) {
      pending = provider
        .get(call.name, call.namespace)
        .then(
          (status) => (status ? functionOffload(config, status.labels, status.envVars) : undefined),
          () => undefined,
        )
        .then((value) => {
          if (value?.problem) logger?.warn({ fn: call.label }, value.problem);
          settingsCache.set(call.label, { value, expires: Date.now() + SETTINGS_CACHE_MS });
          return value;
        })
        .finally(() => settingsPending.delete(call.label));
      settingsPending.set(call.label, pending);
    }
    return pending;
  }

  /** Resolve local replicas, giving up waiting after `readyWaitMs` (the lookup itself goes on). */
  function resolveBounded(call: CallInfo, bounded: boolean): Promise<Resolved> {
    const pending = resolver.resolve(call.name, call.namespace, call.label);
    const settled = pending.then(
      (endpoints): Resolved => ({ kind: 'ok', endpoints }),
      (error: unknown): Resolved => ({ kind: 'error', error }),
    );
    if (!bounded) return settled;
    let timer: NodeJS.Timeout | undefined;
    const waiting = new Promise<Resolved>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'waiting', pending }), config.readyWaitMs);
    });
    return Promise.race([settled, waiting]).finally(() => clearTimeout(timer));
  }

  /** Send the call to `parentUrl`; true when the client got an answer (from the parent, or a 502). */
  async function goUp(
    req: IncomingMessage,
    res: ServerResponse,
    call: CallInfo,
    parentUrl: string,
    reason: OffloadReason,
    hops: Hops,
    body?: Buffer | null,
  ): Promise<boolean> {
    const t0 = performance.now();
    const result = await parent.forward(
      { baseUrl: parentUrl, path: req.url ?? '/', req, ...(body !== undefined ? { body } : {}), hops, offloadEntry: `${config.layer}=${reason}` },
      res,
    );
    if (result.answered) {
      metrics.offloaded(call.label, reason, (performance.now() - t0) / 1000);
      if (result.error) logger?.warn({ fn: call.label, reason, err: result.error.message }, 'offloaded response broke off');
      return true;
    }
    if (res.destroyed) return true; // the client went away: nothing to answer, nothing to run here
    metrics.offloadFailed(call.label, reason);
    logger?.warn({ fn: call.label, reason, parent: parentUrl, err: result.error.message }, 'offload to parent failed');
    if (!res.headersSent && !res.destroyed) res.setHeader('x-faas-ts-offload-error', `${config.layer}=${reason}: ${errorCode(result.error)}`);
    if (result.resendable) return false;
    writePlainText(
      res,
      GatewayErrorCodes.GW_ERR_OFFLOAD_FAILED,
      `offload of ${call.label} to ${parentUrl} failed after the request body was sent: ${result.error.message} [GW_ERR_OFFLOAD_FAILED]\n`,
    );
    return true;
  }

  /**
   * A retry-safe call with a buffered body: one local attempt, answered by the
   * replica unless it says 429 or does not answer in time; then the parent.
   */
  async function localThenUp(
    req: IncomingMessage,
    res: ServerResponse,
    call: CallInfo,
    endpoints: InvokeEndpoint[],
    fn: FunctionOffload & { parentUrl: string },
    hops: Hops,
    body: Buffer | null,
  ): Promise<void> {
    let endpoint = endpoints[0]!;
    for (const e of endpoints) if (inFlight(e) < inFlight(endpoint)) endpoint = e;
    const key = endpoint.baseUrl;
    ownInFlight.set(key, (ownInFlight.get(key) ?? 0) + 1);
    const t0 = performance.now();
    metrics.invocationStarted(call.label);
    let reason: OffloadReason;
    let localStatus: number;
    try {
      const base = new URL(endpoint.baseUrl);
      const upstream = await parent.agent.request({
        origin: base.origin,
        path: base.pathname.replace(/\/+$/, '') + endpoint.pathPrefix + call.subPath,
        method: (req.method ?? 'GET') as 'GET',
        headers: upstreamHeaders(req, body, undefined, undefined),
        body,
        headersTimeout: config.localTimeoutMs,
        bodyTimeout: config.localTimeoutMs,
      });
      if (upstream.statusCode !== 429) {
        res.writeHead(upstream.statusCode, relayHeaders(upstream.headers));
        try {
          await pipeline(upstream.body, res);
        } catch {
          res.destroy(); // truncated, or the client went away
        }
        metrics.invocationCompleted(call.label, upstream.statusCode, (performance.now() - t0) / 1000);
        return;
      }
      await upstream.body.dump();
      reason = 'saturated';
      localStatus = 429;
    } catch (err) {
      const code = errorCode(err);
      reason = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : CONNECT_ERRORS.has(code) ? 'no-ready-replica' : 'timeout';
      localStatus = 502;
    } finally {
      const n = (ownInFlight.get(key) ?? 1) - 1;
      if (n <= 0) ownInFlight.delete(key);
      else ownInFlight.set(key, n);
    }
    metrics.invocationCompleted(call.label, localStatus, (performance.now() - t0) / 1000);
    if (await goUp(req, res, call, fn.parentUrl, reason, hops, body)) return;
    // The parent did not answer either: this layer's own outcome.
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(localStatus, { 'content-length': '0' });
      res.end();
    }
  }

  const hasParent = config.parentUrl !== undefined || config.parents.size > 0;

  return async function invokeWithOffload(req: IncomingMessage, res: ServerResponse, call: CallInfo, local: LocalRunner): Promise<void> {
    if (!hasParent) {
      // The top layer: no policy, only the layer headers.
      res.setHeader(LAYER_HEADER, config.layer);
      res.setHeader(HOPS_HEADER, String(incomingHops(req.headers).count));
      let endpoints: InvokeEndpoint[];
      try {
        endpoints = await resolver.resolve(call.name, call.namespace, call.label);
      } catch (err) {
        return local.fail(err);
      }
      return local.run(endpoints);
    }
    const hops = incomingHops(req.headers);
    const canForward = mayForward(hops, config.maxHops);
    const resolved = await resolveBounded(call, canForward);

    let fn: FunctionOffload | undefined;
    let reason: OffloadReason | undefined;
    if (resolved.kind === 'error') {
      if (GatewayError.is(resolved.error, 'GW_ERR_FUNCTION_NOT_FOUND')) {
        fn = absentFunction(config);
        reason = 'not-deployed';
      } else if (GatewayError.is(resolved.error, 'GW_ERR_NO_ENDPOINTS')) {
        fn = await settings(call);
        reason = 'no-ready-replica';
      }
    } else if (resolved.kind === 'waiting') {
      // Keep the wake-up from rejecting unobserved if nobody awaits it.
      resolved.pending.catch(() => undefined);
      fn = await settings(call);
      reason = 'no-ready-replica';
    } else {
      fn = await settings(call);
      if (fn?.enabled) {
        reason = hostReason(sampler.current(), config);
        if (reason === undefined && allSaturated(resolved.endpoints, inFlight, fn.maxInflight)) reason = 'saturated';
      }
    }

    const parentUrl = fn?.enabled ? fn.parentUrl : undefined;
    if (reason !== undefined && parentUrl !== undefined) {
      if (canForward) {
        if (await goUp(req, res, call, parentUrl, reason, hops)) return;
      } else if (reason === 'not-deployed' && (hops.count > 0 || hops.invalid)) {
        metrics.offloadRefused(call.label, reason);
        res.setHeader(LAYER_HEADER, config.layer);
        res.setHeader(HOPS_HEADER, String(hops.count));
        writePlainText(
          res,
          GatewayErrorCodes.GW_ERR_OFFLOAD_HOP_LIMIT,
          `offload hop limit reached: ${call.label} is not deployed at layer ${config.layer} and the call already made ` +
            `${hops.invalid ? 'an unknown number of' : hops.count} offload hop(s) (limit ${config.maxHops}; path ${hops.path.join(' > ') || '-'}) [GW_ERR_OFFLOAD_HOP_LIMIT]\n`,
        );
        return;
      }
    }

    // Runs here.
    if (!res.headersSent) {
      res.setHeader(LAYER_HEADER, config.layer);
      res.setHeader(HOPS_HEADER, String(hops.count));
    }
    let endpoints: InvokeEndpoint[];
    if (resolved.kind === 'ok') endpoints = resolved.endpoints;
    else if (resolved.kind === 'error') return local.fail(resolved.error);
    else {
      try {
        endpoints = await resolved.pending;
      } catch (err) {
        return local.fail(err);
      }
    }

    const method = req.method ?? 'GET';
    if (fn?.enabled && fn.parentUrl !== undefined && canForward && fn.retryMethods.has(method)) {
      let body: Buffer | null | undefined;
      try {
        body = await bufferBody(req, config.retryBodyBytes);
      } catch {
        res.destroy(); // the client went away mid-upload
        return;
      }
      if (body !== undefined) {
        return localThenUp(req, res, call, endpoints, fn as FunctionOffload & { parentUrl: string }, hops, body);
      }
    }
    return local.run(endpoints);
  };
}

export type OffloadInvoker = ReturnType<typeof createOffloadInvoker>;
