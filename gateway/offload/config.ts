/**
 * Offload configuration (part of the gateway config, parsed from the same env
 * object). Offload is off unless `offload_parent_url` or `offload_parents` is
 * set; every other variable is then optional. `offload_layer` alone (the top
 * layer, which has no parent) only adds the layer headers to responses. Unlike the upstream variables,
 * a value that cannot be parsed is a startup error (all reported at once).
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | `offload_parent_url` | — | default parent gateway, `http://` or `https://` |
 * | `offload_parents` | — | named parents for the label `com.faas-ts.offload.parent`: `cloud=https://c:8080,fog=http://f:8080` |
 * | `offload_layer` | hostname | this layer's name (response header `X-Faas-Ts-Layer`, hop path) |
 * | `offload_max_hops` | 3 | a call that already made this many offload hops is never forwarded again |
 * | `offload_user` + `offload_password_file` | — | basic-auth credentials sent to the parent (both or neither) |
 * | `offload_ca_file` | — | PEM CA bundle trusted for `https://` parents (added to the system roots) |
 * | `offload_cpu_threshold` | 0.8 | host CPU busy fraction above which calls go up; 1 = never |
 * | `offload_memory_threshold` | 0.8 | host memory used fraction above which calls go up; 1 = never |
 * | `offload_sample_interval` | 1s | host load sampling period |
 * | `offload_ready_wait` | 2s | how long a call waits for a local ready replica before going up |
 * | `offload_retry_methods` | none | methods retried upward after a local failure (429 or timeout), e.g. `GET,HEAD` |
 * | `offload_local_timeout` | upstream_timeout | local deadline for response headers of a retry-safe call |
 * | `offload_retry_body_bytes` | 65536 | largest body buffered so a retry-safe call can be re-sent upward |
 * | `offload_connect_timeout` | 2s | connect deadline to a parent (a parent that is down fails fast) |
 * | `offload_timeout` | upstream_timeout | deadline for a parent's response headers and body |
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';

export const OFFLOAD_DEFAULTS = Object.freeze({
  maxHops: 3,
  cpuThreshold: 0.8,
  memoryThreshold: 0.8,
  sampleIntervalMs: 1_000,
  readyWaitMs: 2_000,
  retryBodyBytes: 64 * 1024,
  connectTimeoutMs: 2_000,
});

/** Per-function labels (the function's deployment labels). */
export const OFFLOAD_LABELS = Object.freeze({
  /** `false`: never offload this function (it still runs locally). */
  enabled: 'com.faas-ts.offload',
  /** Name of a parent from `offload_parents` to use instead of the default parent. */
  parent: 'com.faas-ts.offload.parent',
  /** Comma-separated methods retried upward after a local failure; overrides `offload_retry_methods` (`none` = none). */
  retryMethods: 'com.faas-ts.offload.retry-methods',
});

export interface OffloadConfig {
  /** Default parent base URL (no trailing slash); undefined when only named parents exist. */
  readonly parentUrl: string | undefined;
  /** Named parents, name → base URL. */
  readonly parents: ReadonlyMap<string, string>;
  readonly layer: string;
  readonly maxHops: number;
  readonly user: string | undefined;
  readonly passwordFile: string | undefined;
  readonly caFile: string | undefined;
  readonly cpuThreshold: number;
  readonly memoryThreshold: number;
  readonly sampleIntervalMs: number;
  readonly readyWaitMs: number;
  /** Upper-case method names. */
  readonly retryMethods: ReadonlySet<string>;
  readonly localTimeoutMs: number;
  readonly retryBodyBytes: number;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
}

const METHOD = /^[A-Z]+$/;
const LAYER = /^[-A-Za-z0-9_.:]+$/;

/** Parse a base URL for a parent; returns the URL without a trailing slash or pushes a problem. */
function parentUrl(name: string, raw: string, problems: string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    problems.push(`${name}=${JSON.stringify(raw)} is not a URL`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push(`${name}=${JSON.stringify(raw)} must be an http:// or https:// URL`);
    return undefined;
  }
  if (u.username || u.password || u.search || u.hash) {
    problems.push(`${name}=${JSON.stringify(raw)} must not carry credentials, a query or a fragment (use offload_user / offload_password_file)`);
    return undefined;
  }
  return u.toString().replace(/\/+$/, '');
}

/** Comma-separated method list; `none` or empty = no method. Undefined when invalid. */
export function parseMethods(raw: string): Set<string> | undefined {
  const out = new Set<string>();
  const v = raw.trim();
  if (v === '' || v.toLowerCase() === 'none') return out;
  for (const part of v.split(',')) {
    const m = part.trim().toUpperCase();
    if (!METHOD.test(m)) return undefined;
    out.add(m);
  }
  return out;
}

/**
 * Offload settings from `env`, or undefined when no parent is configured.
 * Problems are appended to `problems` (the gateway reports them together).
 */
export function loadOffloadConfig(
  env: Record<string, string | undefined>,
  parseDurationMs: (v: string | undefined) => number | undefined,
  upstreamTimeoutMs: number,
  problems: string[],
): OffloadConfig | undefined {
  const set = (name: string) => env[name] !== undefined && env[name]!.trim() !== '';
  if (!set('offload_parent_url') && !set('offload_parents') && !set('offload_layer')) return undefined;

  const duration = (name: string, fallback: number, min = 1): number => {
    if (!set(name)) return fallback;
    const ms = parseDurationMs(env[name]);
    if (ms === undefined || ms < min) {
      problems.push(`${name}=${JSON.stringify(env[name])} must be a duration of at least ${min}ms (e.g. 500ms, 2s)`);
      return fallback;
    }
    return ms;
  };
  const fraction = (name: string, fallback: number): number => {
    if (!set(name)) return fallback;
    const v = Number(env[name]!.trim());
    if (!Number.isFinite(v) || v <= 0 || v > 1) {
      problems.push(`${name}=${JSON.stringify(env[name])} must be a number in (0, 1] (a fraction; 1 = never)`);
      return fallback;
    }
    return v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    if (!set(name)) return fallback;
    const v = env[name]!.trim();
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${name}=${JSON.stringify(env[name])} must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return Number(v);
  };
  const file = (name: string): string | undefined => {
    if (!set(name)) return undefined;
    const path = env[name]!.trim();
    if (!existsSync(path)) problems.push(`${name}=${JSON.stringify(path)}: no such file`);
    return path;
  };

  const defaultParent = set('offload_parent_url') ? parentUrl('offload_parent_url', env.offload_parent_url!, problems) : undefined;
  const parents = new Map<string, string>();
  if (set('offload_parents')) {
    for (const item of env.offload_parents!.split(',')) {
      const entry = item.trim();
      if (entry === '') continue;
      const eq = entry.indexOf('=');
      const name = eq > 0 ? entry.slice(0, eq).trim() : '';
      if (!LAYER.test(name)) {
        problems.push(`offload_parents entry ${JSON.stringify(entry)} must be NAME=URL`);
        continue;
      }
      const url = parentUrl(`offload_parents[${name}]`, entry.slice(eq + 1), problems);
      if (url) parents.set(name, url);
    }
  }

  const layer = set('offload_layer') ? env.offload_layer!.trim() : hostname() || 'gateway';
  if (!LAYER.test(layer)) problems.push(`offload_layer=${JSON.stringify(env.offload_layer)} may only hold letters, digits and - _ . :`);

  const user = set('offload_user') ? env.offload_user!.trim() : undefined;
  const passwordFile = file('offload_password_file');
  if ((user === undefined) !== (passwordFile === undefined)) {
    problems.push('offload_user and offload_password_file go together (both or neither)');
  }

  let retryMethods: Set<string> = new Set();
  if (set('offload_retry_methods')) {
    const parsed = parseMethods(env.offload_retry_methods!);
    if (parsed) retryMethods = parsed;
    else problems.push(`offload_retry_methods=${JSON.stringify(env.offload_retry_methods)} must be a comma-separated list of HTTP methods`);
  }

  return Object.freeze({
    parentUrl: defaultParent,
    parents,
    layer,
    maxHops: int('offload_max_hops', OFFLOAD_DEFAULTS.maxHops, 0, 100),
    user,
    passwordFile,
    caFile: file('offload_ca_file'),
    cpuThreshold: fraction('offload_cpu_threshold', OFFLOAD_DEFAULTS.cpuThreshold),
    memoryThreshold: fraction('offload_memory_threshold', OFFLOAD_DEFAULTS.memoryThreshold),
    sampleIntervalMs: duration('offload_sample_interval', OFFLOAD_DEFAULTS.sampleIntervalMs, 10),
    readyWaitMs: duration('offload_ready_wait', OFFLOAD_DEFAULTS.readyWaitMs),
    retryMethods,
    localTimeoutMs: duration('offload_local_timeout', upstreamTimeoutMs),
    retryBodyBytes: int('offload_retry_body_bytes', OFFLOAD_DEFAULTS.retryBodyBytes, 0, 16 * 1024 * 1024),
    connectTimeoutMs: duration('offload_connect_timeout', OFFLOAD_DEFAULTS.connectTimeoutMs),
    timeoutMs: duration('offload_timeout', upstreamTimeoutMs),
  });
}
