/**
 * Watchdog configuration, parsed once from an env object passed in by main.ts.
 *
 * Upstream of-watchdog variables keep their names, defaults and lenient parsing
 * rules (spec/watchdog.md §2.1): durations are seconds when a bare integer, else Go
 * durations, else the default; `port`/`max_inflight` become 0 when unparsable.
 *
 * Our additions (not in of-watchdog):
 * - `lock_path`        lock file path; default `$TMPDIR/.lock` (TMPDIR default `/tmp`).
 * - `metrics_port`     separate metrics listener port; default 8081, `0` = none.
 *                      Metrics are also always served on the main port at `/_/metrics`.
 * - `bind_address`     interface to bind both listeners; default all interfaces.
 * - `inproc_handler`   Node handler module for `mode=inproc`; default `./handler.js`,
 *                      resolved against `cwd`. `RAW_BODY`, `MAX_RAW_SIZE`,
 *                      `MAX_JSON_SIZE` are read as the node templates read them.
 * - `restart_policy`   http mode: `always` (default; restart the child with backoff,
 *                      `/_/ready` 503 while it is down) or `never` (upstream
 *                      behaviour: a child exiting non-zero makes the watchdog exit 1).
 * - `jwt_auth=true` is refused with a config error (not implemented; upstream would
 *   enforce it, so starting without it would silently drop authentication).
 * - `mode=classic`     classic-watchdog behaviour (§1.6); then `cgi_headers`,
 *                      `combine_output`, `marshal_request`, `write_debug` are read and
 *                      `exec_timeout` defaults to 0 and `content_type` to empty (echo).
 *
 * Where upstream's lenient rules replace a value the user set (an unparsable
 * duration, port or flag), the replacement is kept for compatibility but
 * listed in `warnings`, which main.ts logs: never a silent substitution.
 * Refused outright (node cannot honour them, upstream Go could): durations
 * over the longest node timer (~24.8 days; a longer one would fire after
 * 1 ms), a `content_type` that is not a legal header value, and a
 * `ready_path` that is not an origin-form path.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { formatGoDuration, parseGoDuration, parseIntOrDuration } from './durations.js';
import { ConfigError } from './errors.js';

export type Mode = 'http' | 'streaming' | 'serializing' | 'static' | 'inproc' | 'classic';
export type RestartPolicy = 'always' | 'never';

export interface WatchdogConfig {
  readonly mode: Mode;
  /** Command line, split on single spaces when started. Empty for static/inproc. */
  readonly fprocess: string;
  readonly upstreamUrl: string;
  readonly port: number;
  /** Undefined = all interfaces. */
  readonly bindAddress: string | undefined;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  /** 0 = no limit. */
  readonly execTimeoutMs: number;
  readonly healthcheckIntervalMs: number;
  /** 0 = unlimited. */
  readonly maxInflight: number;
  /** `max_body_bytes` (ours): larger request bodies get 413 (watchdog/body-limit.ts). 0 = unlimited (default, as upstream). */
  readonly maxBodyBytes: number;
  readonly prefixLogs: boolean;
  /** Max relayed line length in bytes; negative = unbounded. */
  readonly logBufferSize: number;
  readonly logCallId: boolean;
  readonly bufferHttpBody: boolean;
  /** Response Content-Type for fork modes (classic: empty = echo request type). */
  readonly contentType: string;
  readonly suppressLock: boolean;
  readonly staticPath: string;
  readonly readyPath: string;
  readonly lockPath: string;
  /** 0 = no separate metrics listener. */
  readonly metricsPort: number;
  readonly inprocHandler: string;
  readonly rawBody: boolean;
  readonly maxRawSizeBytes: number;
  readonly maxJsonSizeBytes: number;
  readonly restartPolicy: RestartPolicy;
  readonly cgiHeaders: boolean;
  readonly combineOutput: boolean;
  readonly marshalRequest: boolean;
  readonly writeDebug: boolean;
  /** Environment handed to child processes (the watchdog's own). */
  readonly env: Readonly<Record<string, string>>;
  /** Values the user set that lenient parsing replaced (logged at start). */
  readonly warnings: readonly string[];
}

/** setTimeout's ceiling: a longer delay fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Characters node refuses in a header value. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const MODES: readonly Mode[] = ['http', 'streaming', 'serializing', 'static', 'inproc', 'classic'];
const FPROCESS_MISSING =
  'provide a "function_process" or "fprocess" environmental variable for your function';

export interface LoadOptions {
  /** Directory `inproc_handler` is resolved against; default process.cwd(). */
  cwd?: string;
}

/** Parse and validate; returns a frozen config or throws one ConfigError naming every problem. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  opts: LoadOptions = {},
): WatchdogConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const get = (k: string): string | undefined => env[k];

  /** of-watchdog duration rule, plus a warning when a set value is replaced and a ceiling. */
  const duration = (k: string, fallbackMs: number): number => {
    const v = get(k);
    const ms = parseIntOrDuration(v, fallbackMs);
    if (v === undefined || v === '') return ms;
    const parsed = /^\+?\d+$/.test(v) ? Number(v) * 1000 : parseGoDuration(v);
    if (parsed === undefined || parsed < 0) {
      warnings.push(`${k}: "${v}" is not a duration; using ${formatGoDuration(fallbackMs)}`);
    } else if (!(ms <= MAX_TIMER_MS)) {
      problems.push(`${k}: "${v}" is longer than the longest supported timeout (${formatGoDuration(MAX_TIMER_MS)})`);
    }
    return ms;
  };
  /** of-watchdog integer rule (unparsable → 0), with a warning. */
  const integer = (k: string, fallback: number): number => {
    const v = get(k);
    const n = intOrZero(v, fallback);
    if (v !== undefined && v !== '' && goAtoi(v) === undefined) warnings.push(`${k}: "${v}" is not an integer; using 0`);
    return n;
  };
  /** getBool: "true"/"1"; anything else false, with a warning unless it reads as false. */
  const flag = (k: string): boolean => {
    const v = get(k);
    if (v !== undefined && !['', 'true', '1', 'false', '0'].includes(v)) warnings.push(`${k}: "${v}" is not true or 1; read as false`);
    return strictBool(v);
  };
  const lenient = (k: string, fallback: boolean): boolean => {
    const v = get(k);
    const b = lenientBool(v);
    if (v !== undefined && v !== '' && b === undefined) warnings.push(`${k}: "${v}" is not a boolean; using ${fallback}`);
    return b ?? fallback;
  };

  const modeRaw = get('mode') ?? '';
  let mode: Mode = 'streaming';
  if (modeRaw !== '') {
    if ((MODES as readonly string[]).includes(modeRaw)) mode = modeRaw as Mode;
    else problems.push(`mode: unknown mode "${modeRaw}" (one of ${MODES.join(', ')})`);
  }
  const classic = mode === 'classic';

  const fprocess = nonEmpty(get('function_process')) ?? get('fprocess') ?? '';
  const upstreamUrl = nonEmpty(get('http_upstream_url')) ?? get('upstream_url') ?? '';

  const readTimeoutMs = duration('read_timeout', 30_000);
  const writeTimeoutMs = duration('write_timeout', 30_000);
  const execTimeoutMs = duration('exec_timeout', classic ? 0 : 30_000);
  const healthcheckIntervalMs = duration('healthcheck_interval', writeTimeoutMs);
  if (writeTimeoutMs === 0) problems.push('write_timeout: HTTP write timeout must be over 0s');

  if (fprocess === '' && mode !== 'static' && mode !== 'inproc') problems.push(FPROCESS_MISSING);
  if (mode === 'http') {
    if (upstreamUrl === '') {
      problems.push('upstream_url: an "upstream_url" or "http_upstream_url" is required for mode=http');
    } else if (!/^https?:\/\/[^/]/.test(upstreamUrl) || !canParseUrl(upstreamUrl)) {
      problems.push(`upstream_url: not an http URL: "${upstreamUrl}"`);
    }
  }

  let logBufferSize = 65536;
  const lbs = get('log_buffer_size');
  if (lbs !== undefined) {
    const n = goAtoi(lbs);
    if (n === undefined) problems.push(`log_buffer_size: not an integer: "${lbs}"`);
    else logBufferSize = n;
  }

  const staticPath = get('static_path') ?? '/home/app/public';
  if (mode === 'static' && staticPath === '') problems.push('static_path: must not be empty for mode=static');

  const tmpdir = nonEmpty(get('TMPDIR')) ?? '/tmp';
  const lockPath = nonEmpty(get('lock_path')) ?? join(tmpdir, '.lock');

  let metricsPort = 8081;
  const mp = get('metrics_port');
  if (mp !== undefined && mp !== '') {
    const n = goAtoi(mp);
    if (n === undefined || n < 0 || n > 65535) problems.push(`metrics_port: not a port number: "${mp}"`);
    else metricsPort = n;
  }

  const port = integer('port', 8080);
  if (port < 0 || port > 65535) problems.push(`port: out of range: "${get('port')}"`);

  let restartPolicy: RestartPolicy = 'always';
  const rp = get('restart_policy');
  if (rp !== undefined && rp !== '') {
    if (rp === 'always' || rp === 'never') restartPolicy = rp;
    else problems.push(`restart_policy: must be "always" or "never", got "${rp}"`);
  }

  const maxRawSizeBytes = parseSize(get('MAX_RAW_SIZE'), 100 * 1024);
  const maxJsonSizeBytes = parseSize(get('MAX_JSON_SIZE'), 100 * 1024);
  if (maxRawSizeBytes === undefined) problems.push(`MAX_RAW_SIZE: not a size: "${get('MAX_RAW_SIZE')}"`);
  if (maxJsonSizeBytes === undefined) problems.push(`MAX_JSON_SIZE: not a size: "${get('MAX_JSON_SIZE')}"`);

  // Refuse rather than silently serving unauthenticated (OpenFaaS for Enterprises JWT, §2.3).
  if (strictBool(get('jwt_auth'))) problems.push('jwt_auth: JWT authentication is not supported by this watchdog');

  const contentType = get('content_type') ?? (classic ? '' : 'application/octet-stream');
  if (INVALID_HEADER_VALUE.test(contentType)) problems.push(`content_type: ${JSON.stringify(contentType)} is not a valid header value`);
  const readyPath = get('ready_path') ?? '';
  if (readyPath !== '' && !/^\/[\x21-\x7e]*$/.test(readyPath)) {
    problems.push(`ready_path: ${JSON.stringify(readyPath)} must be a path starting with "/" (printable ASCII, no spaces)`);
  }
  const maxInflight = integer('max_inflight', 0);
  const prefixLogs = lenient('prefix_logs', true);
  const logCallId = lenient('log_callid', false);
  const bufferHttpBody = flag('http_buffer_req_body') || flag('buffer_http');
  const suppressLock = flag('suppress_lock');

  if (problems.length > 0) throw new ConfigError(problems);

  const handler = nonEmpty(get('inproc_handler')) ?? './handler.js';
  const cwd = opts.cwd ?? process.cwd();
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;

  // classic booleans: "true" only; classic flags default-on switch off on any other non-empty value.
  const onlyTrue = (k: string): boolean => {
    const v = get(k);
    if (v !== undefined && !['', 'true', 'false'].includes(v)) warnings.push(`${k}: "${v}" is not true or false; read as false`);
    return v === 'true';
  };
  const classicOn = (k: string): boolean => {
    const v = get(k);
    return v === undefined || v === '' ? true : onlyTrue(k);
  };

  return Object.freeze({
    mode,
    fprocess,
    upstreamUrl,
    port,
    bindAddress: nonEmpty(get('bind_address')),
    readTimeoutMs,
    writeTimeoutMs,
    execTimeoutMs,
    healthcheckIntervalMs,
    maxInflight,
    maxBodyBytes: Math.max(integer('max_body_bytes', 0), 0),
    prefixLogs,
    logBufferSize,
    logCallId,
    bufferHttpBody,
    contentType,
    suppressLock,
    staticPath,
    readyPath,
    lockPath,
    metricsPort,
    inprocHandler: isAbsolute(handler) ? handler : resolve(cwd, handler),
    rawBody: onlyTrue('RAW_BODY'),
    maxRawSizeBytes: maxRawSizeBytes!,
    maxJsonSizeBytes: maxJsonSizeBytes!,
    restartPolicy,
    cgiHeaders: classicOn('cgi_headers'),
    combineOutput: classicOn('combine_output'),
    marshalRequest: onlyTrue('marshal_request'),
    writeDebug: onlyTrue('write_debug'),
    env: Object.freeze(childEnv),
    warnings: Object.freeze(warnings),
  });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function canParseUrl(u: string): boolean {
  try {
    new URL(u);
    return true;
  } catch {
    return false;
  }
}

/** Go's strconv.Atoi: optional sign and decimal digits only. */
function goAtoi(v: string): number | undefined {
  return /^[+-]?\d+$/.test(v) ? Number(v) : undefined;
}

/** Unset/empty → fallback; set but unparsable → 0 (of-watchdog quirk). */
function intOrZero(v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  return goAtoi(v) ?? 0;
}

/** of-watchdog getBool: exactly "true" or "1". */
function strictBool(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

/** Go's strconv.ParseBool; undefined when unset or invalid. */
function lenientBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Sizes as the node templates accept them: bytes or `100kb`, `1mb`, `1gb`. */
function parseSize(v: string | undefined, fallback: number): number | undefined {
  if (v === undefined || v === '') return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(v);
  if (!m) return undefined;
  const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * mult);
}
