/**
 * Options of createSwarmProvider, resolved once into a frozen object.
 */
import { existsSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { DEFAULT_NAMESPACE, ProviderError, type VersionInfo } from '../provider/index.js';
import type { EndpointMode } from './spec.js';

/** pino-compatible subset. */
export interface SwarmLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SwarmProviderOptions {
  /** dockerode options (default: unix socket /var/run/docker.sock, API v1.41) or a ready client. */
  docker?: Dockerode.DockerOptions | Dockerode;
  /** Overlay network for functions; created (attachable, label openfaas=true) if missing. Default func_functions. */
  network?: string;
  /** How replicas are addressed; default from defaultEndpointMode(). */
  endpointMode?: EndpointMode;
  /** The gateway runs inside the swarm (on the functions network); picks the default endpoint mode. */
  gatewayInSwarm?: boolean;
  /** Host the host-mode published ports are reached on (dnsrr-hostport). Default 127.0.0.1. */
  publishHost?: string;
  defaultNamespace?: string;
  /** Swarm restart delay after a task dies (ms). Default 5000 (upstream); tests use 0. */
  restartDelayMs?: number;
  /**
   * Count a running task as available only once its watchdog answers on /_/health
   * (any status but 5xx). Default true, except in vip mode (no per-task address).
   */
  probeHealth?: boolean;
  probeTimeoutMs?: number;
  /**
   * How long a non-empty endpoints() answer is reused (ms). The gateway asks on every
   * invocation and each answer costs two Engine API calls (about 6 ms, serialised in
   * dockerd). Concurrent callers share one lookup; this provider's own deploy, update,
   * scale and remove drop the entry. A replica that died meanwhile is skipped by the
   * invocation proxy's retry on connect errors. Default 1000; 0 disables.
   */
  endpointsCacheMs?: number;
  version?: VersionInfo;
  logger?: SwarmLogger;
}

export interface ResolvedSwarmConfig {
  readonly network: string;
  readonly endpointMode: EndpointMode;
  readonly publishHost: string;
  readonly defaultNamespace: string;
  readonly restartDelayMs: number;
  readonly probeHealth: boolean;
  readonly probeTimeoutMs: number;
  readonly endpointsCacheMs: number;
  readonly version: VersionInfo;
}

/** True when the kernel has IPVS, which swarm's VIPs and ingress routing mesh need. */
export function hasIpvs(procRoot = '/proc'): boolean {
  return existsSync(`${procRoot}/net/ip_vs`);
}

/**
 * The endpoint mode to use when none is configured: a gateway on the host can only
 * reach tasks through host-mode published ports (ingress publishing needs IPVS, and
 * even with it would give one fixed port per service). Inside the swarm, VIPs work
 * when the kernel has IPVS; otherwise the task addresses (tasks.NAME) do.
 */
export function defaultEndpointMode(gatewayInSwarm: boolean, ipvs = hasIpvs()): EndpointMode {
  if (!gatewayInSwarm) return 'dnsrr-hostport';
  return ipvs ? 'vip' : 'tasks-dns';
}

const MODES: readonly EndpointMode[] = ['dnsrr-hostport', 'tasks-dns', 'vip'];

export function resolveConfig(o: SwarmProviderOptions): ResolvedSwarmConfig {
  const problems: string[] = [];
  const endpointMode = o.endpointMode ?? defaultEndpointMode(o.gatewayInSwarm ?? false);
  if (!MODES.includes(endpointMode)) problems.push(`endpointMode: one of ${MODES.join(', ')}, got ${JSON.stringify(endpointMode)}`);
  const restartDelayMs = o.restartDelayMs ?? 5000;
  if (!Number.isInteger(restartDelayMs) || restartDelayMs < 0) problems.push('restartDelayMs: a non-negative integer (ms)');
  const probeTimeoutMs = o.probeTimeoutMs ?? 1000;
  if (!(probeTimeoutMs > 0)) problems.push('probeTimeoutMs: a positive number (ms)');
  const endpointsCacheMs = o.endpointsCacheMs ?? 1000;
  if (!Number.isInteger(endpointsCacheMs) || endpointsCacheMs < 0) problems.push('endpointsCacheMs: a non-negative integer (ms)');
  const network = o.network ?? 'func_functions';
  if (!network) problems.push('network: must not be empty');
  if (problems.length > 0) throw ProviderError.invalid(`invalid swarm provider options: ${problems.join('; ')}`);
  return Object.freeze({
    network,
    endpointMode,
    publishHost: o.publishHost ?? '127.0.0.1',
    defaultNamespace: o.defaultNamespace ?? DEFAULT_NAMESPACE,
    restartDelayMs,
    probeHealth: o.probeHealth ?? endpointMode !== 'vip',
    probeTimeoutMs,
    endpointsCacheMs,
    version: o.version ?? { release: '0.1.0', sha: 'dev' },
  });
}
