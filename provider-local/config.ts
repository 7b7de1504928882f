/** LocalProviderConfig: options with their defaults, resolved once and frozen. */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_NAMESPACE, ProviderError } from '../provider/index.js';
import type { ReplicaTimings } from './replica.js';
import type { SecretMountMode } from './secret-mount.js';

export interface LocalProviderConfig {
  /** State, bundles, secrets, replica scratch folders and logs live under here. */
  dataDir: string;
  /** argv that starts fwatchdog, e.g. `[process.execPath, '/abs/dist/fwatchdog.cjs']`. */
  watchdogCommand: string[];
  /** Default `openfaas-fn`. */
  defaultNamespace?: string;
  /**
   * Default true: images named in GENERIC_IMAGES (e.g. `functions/alpine`) run the
   * deployment's envProcess through the watchdog in a fork-per-request mode.
   */
  genericImages?: boolean;
  logger?: Logger;
  /** Log lines kept per function (ring buffer). Default 2000. */
  logLines?: number;
  /** Also append log lines to `<dataDir>/logs/<ns>/<name>.log` (not rotated). Default false. */
  logFiles?: boolean;
  /** Upper bound for one function's replicas; larger scale requests are INVALID. Default 50. */
  maxReplicas?: number;
  /**
   * `auto` (default): bind-mount secrets at /var/openfaas/secrets when running as
   * root and `unshare` works, else only `secret_mount_path`. `env` forces the latter.
   */
  secretMount?: 'auto' | SecretMountMode;
  /**
   * Watchdog `healthcheck_interval` given to replicas unless the bundle or the
   * deployment sets one: how long a replica keeps serving after SIGTERM before
   * it drains. The provider stops listing a replica as an endpoint before it
   * signals it, so a short value is enough. Default `1s`.
   */
  drainDelay?: string;
  /** Base PATH of replicas. Default: node's folder plus the usual system folders. */
  path?: string;
  /** Reported by info(). Default: package.json version and sha `dev`. */
  version?: { release: string; sha: string; commit_message?: string };
  /** Probe, backoff and stop timings (ms); see ReplicaTimings. */
  timings?: Partial<ReplicaTimings>;
  /** Registry for the provider's own metrics (`provider_local_replica_restarts_total`); none when absent. */
  registry?: Registry;
}

export interface ResolvedConfig {
  dataDir: string;
  watchdogCommand: readonly string[];
  defaultNamespace: string;
  genericImages: boolean;
  logger: Logger;
  logLines: number;
  logFiles: boolean;
  maxReplicas: number;
  secretMount: 'auto' | SecretMountMode;
  drainDelay: string;
  path: string;
  version: { release: string; sha: string; commit_message?: string } | undefined;
  timings: ReplicaTimings;
  registry: Registry | undefined;
}

export const DEFAULT_TIMINGS: ReplicaTimings = Object.freeze({
  startProbeIntervalMs: 50,
  healthIntervalMs: 1000,
  healthFailureThreshold: 3,
  startTimeoutMs: 120_000,
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
  backoffResetMs: 30_000,
  stopGraceMs: 35_000,
});

function positiveInt(name: string, value: number | undefined, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a positive integer (got ${value})`);
  return value;
}

export function resolveConfig(config: LocalProviderConfig): ResolvedConfig {
  const problems: string[] = [];
  if (!config.dataDir) problems.push('dataDir is required (folder for state, bundles, secrets and logs)');
  if (!Array.isArray(config.watchdogCommand) || config.watchdogCommand.length === 0) {
    problems.push('watchdogCommand is required (argv that starts fwatchdog)');
  }
  const timings: ReplicaTimings = { ...DEFAULT_TIMINGS };
  for (const [k, v] of Object.entries(config.timings ?? {})) {
    if (!(k in DEFAULT_TIMINGS)) problems.push(`timings.${k} is not a known timing`);
    else if (typeof v !== 'number' || !(v >= 0)) problems.push(`timings.${k} must be a number of ms >= 0`);
    else timings[k as keyof ReplicaTimings] = v;
  }
  const resolved: ResolvedConfig = {
    dataDir: config.dataDir,
    watchdogCommand: Object.freeze([...(config.watchdogCommand ?? [])]),
    defaultNamespace: config.defaultNamespace || DEFAULT_NAMESPACE,
    genericImages: config.genericImages ?? true,
    logger: config.logger ?? pino({ level: 'silent' }),
    logLines: positiveInt('logLines', config.logLines, 2000, problems),
    logFiles: config.logFiles ?? false,
    maxReplicas: positiveInt('maxReplicas', config.maxReplicas, 50, problems),
    secretMount: config.secretMount ?? 'auto',
    drainDelay: config.drainDelay ?? '1s',
    path: config.path ?? `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    version: config.version,
    timings: Object.freeze(timings),
    registry: config.registry,
  };
  if (!['auto', 'namespace', 'env'].includes(resolved.secretMount)) problems.push(`secretMount must be auto, namespace or env`);
  if (problems.length) throw new ProviderError('INVALID', `invalid provider-local config: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}
