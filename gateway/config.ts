/**
 * Gateway configuration: parsed once from an env object, validated, frozen.
 *
 * Upstream names and rules (spec gateway-api.md §5.1): durations are a bare
 * integer (seconds) or a Go duration (`1m30s`, `500ms`); an unparsable
 * duration falls back to its default. Booleans are true only for the exact
 * string `true`. Bad integers are startup errors, all reported at once.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from './errors.js';
import { loadScalingConfig, type ScalingConfig } from './scaling/config.js';
import { loadOffloadConfig, type OffloadConfig } from './offload/config.js';
import { parseTlsFiles, type TlsFiles } from './tls.js';

export interface GatewayVersion {
  /** Package version (`package.json`). */
  readonly release: string;
  /** Build commit from env `GIT_SHA`, or `''`. */
  readonly sha: string;
  /** Optional build note from env `GIT_COMMIT_MESSAGE`. */
  readonly commitMessage: string;
}

export interface GatewayConfig {
  /** `port`: API port; 0 = ephemeral. Default 8080. */
  readonly port: number;
  /** `bind_address`: default `127.0.0.1`. */
  readonly bindAddress: string;
  /** `metrics_port`: extra port serving /metrics and /healthz; 0 = off. Default 8082. */
  readonly metricsPort: number;
  /** `read_timeout`: time to receive a whole request. Default 60 s. */
  readonly readTimeoutMs: number;
  /** `write_timeout`: response deadline; also ends /system/logs streams. Default 60 s. */
  readonly writeTimeoutMs: number;
  /** `upstream_timeout`: function call deadline (connect + headers + body). Default 60 s. */
  readonly upstreamTimeoutMs: number;
  /** `basic_auth`: protect /system/* and /ui with basic auth. */
  readonly basicAuth: boolean;
  /** `secret_mount_path`: folder holding `basic-auth-user` and `basic-auth-password`. */
  readonly secretMountPath: string;
  /** `scale_from_zero`: wake functions with 0 replicas on invocation. Default true (upstream: false). */
  readonly scaleFromZero: boolean;
  /**
   * `scale_from_zero_timeout`: how long an invocation waits for a replica to be
   * ready. Default min(100 s, write_timeout): the client socket would be
   * dropped at write_timeout of inactivity anyway.
   */
  readonly scaleFromZeroTimeoutMs: number;
  /** `function_namespace`: namespace for names without a dot; empty = provider default. */
  readonly functionNamespace: string;
  /** `max_idle_conns`: accepted for compatibility (the pool is per replica). Default 1024. */
  readonly maxIdleConns: number;
  /** `max_idle_conns_per_host`: socket cap per function replica. Default 1024. */
  readonly maxIdleConnsPerHost: number;
  /** `max_body_bytes`: JSON body limit on /system/* routes. Default 20 MiB. */
  readonly maxBodyBytes: number;
  /** `max_function_body_bytes`: request body limit on /function/*; 0 = unlimited (default). */
  readonly maxFunctionBodyBytes: number;
  /**
   * `max_replicas`: upper clamp for /system/scale-function; 0 = no global cap
   * (the label `com.openfaas.scale.max` still applies). Upstream CE caps at 5.
   */
  readonly maxReplicas: number;
  /** `ui_dir`: static UI folder; default the repo's `ui/` folder when it exists. */
  readonly uiDir: string | undefined;
  readonly version: GatewayVersion;
  /** `tls_cert_file` + `tls_key_file` (PEM): serve the API port over HTTPS only. Both or neither. */
  readonly tls?: TlsFiles;
  /** Autoscaling: embedded rule engine, alert cooldown, idler (gateway/scaling/config.ts). */
  readonly scaling?: ScalingConfig;
  /** Offload to a parent gateway (gateway/offload/config.ts); undefined when no parent is configured. */
  readonly offload?: OffloadConfig;
}

export const DEFAULTS = Object.freeze({
  port: 8080,
  bindAddress: '127.0.0.1',
  metricsPort: 8082,
  readTimeoutMs: 60_000,
  writeTimeoutMs: 60_000,
  upstreamTimeoutMs: 60_000,
  scaleFromZeroTimeoutMs: 100_000,
  secretMountPath: '/run/secrets/',
  maxIdleConns: 1024,
  maxIdleConnsPerHost: 1024,
  maxBodyBytes: 20 * 1024 * 1024,
});

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse a duration the upstream way: `"30"` = 30 s; Go syntax (`1m30s`,
 * `1.5h`, `250ms`); anything else (or negative) = undefined.
 */
export function parseDurationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let sign = 1;
  let body = v;
  if (body.startsWith('+') || body.startsWith('-')) {
    sign = body.startsWith('-') ? -1 : 1;
    body = body.slice(1);
  }
  re.lastIndex = 0;
  for (;;) {
    if (pos === body.length) break;
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || sign < 0) return undefined;
  return Math.round(total);
}

/** The repo root: the nearest ancestor of this module holding package.json (works from dist/ too). */
function findRepoRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function packageVersion(root: string | undefined): string {
  if (!root) return 'dev';
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version ? pkg.version : 'dev';
  } catch {
    return 'dev';
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Build a GatewayConfig from `env`. Throws one GW_ERR_CONFIG error naming
 * every bad variable.
 */
export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const v = raw.trim();
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return Number(v);
  };
  const duration = (name: string, fallback: number): number => parseDurationMs(env[name]) ?? fallback;
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    return raw === 'true';
  };

  const root = findRepoRoot();
  let uiDir: string | undefined;
  if (env.ui_dir !== undefined && env.ui_dir !== '') {
    uiDir = resolve(env.ui_dir);
    if (!isDir(uiDir)) problems.push(`ui_dir=${JSON.stringify(env.ui_dir)} is not a directory`);
  } else if (root && isDir(join(root, 'ui'))) {
    uiDir = join(root, 'ui');
  }

  const bindAddress = (env.bind_address ?? '').trim() || DEFAULTS.bindAddress;

  const writeTimeoutMs = duration('write_timeout', DEFAULTS.writeTimeoutMs);
  const tls = parseTlsFiles(env, problems);
  const config: GatewayConfig = {
    port: int('port', DEFAULTS.port, 0, 65535),
    bindAddress,
    metricsPort: int('metrics_port', DEFAULTS.metricsPort, 0, 65535),
    readTimeoutMs: duration('read_timeout', DEFAULTS.readTimeoutMs),
    writeTimeoutMs,
    upstreamTimeoutMs: duration('upstream_timeout', DEFAULTS.upstreamTimeoutMs),
    basicAuth: bool('basic_auth', false),
    secretMountPath: env.secret_mount_path || DEFAULTS.secretMountPath,
    scaleFromZero: bool('scale_from_zero', true),
    scaleFromZeroTimeoutMs: duration(
      'scale_from_zero_timeout',
      Math.min(DEFAULTS.scaleFromZeroTimeoutMs, writeTimeoutMs || DEFAULTS.scaleFromZeroTimeoutMs),
    ),
    functionNamespace: (env.function_namespace ?? '').trim(),
    maxIdleConns: int('max_idle_conns', DEFAULTS.maxIdleConns, 1),
    maxIdleConnsPerHost: int('max_idle_conns_per_host', DEFAULTS.maxIdleConnsPerHost, 1),
    maxBodyBytes: int('max_body_bytes', DEFAULTS.maxBodyBytes, 1),
    maxFunctionBodyBytes: int('max_function_body_bytes', 0, 0),
    maxReplicas: int('max_replicas', 0, 0),
    uiDir,
    ...(tls ? { tls } : {}),
    scaling: loadScalingConfig(env, parseDurationMs, problems),
    offload: loadOffloadConfig(env, parseDurationMs, duration('upstream_timeout', DEFAULTS.upstreamTimeoutMs), problems),
    version: Object.freeze({
      release: packageVersion(root),
      sha: env.GIT_SHA ?? '',
      commitMessage: env.GIT_COMMIT_MESSAGE ?? '',
    }),
  };

  // Zero timeouts would make every request fail; treat them like invalid values.
  if (config.readTimeoutMs === 0) problems.push('read_timeout must be greater than 0');
  if (config.writeTimeoutMs === 0) problems.push('write_timeout must be greater than 0');
  if (config.upstreamTimeoutMs === 0) problems.push('upstream_timeout must be greater than 0');

  if (problems.length > 0) {
    throw new GatewayError('GW_ERR_CONFIG', `invalid gateway configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(config);
}
