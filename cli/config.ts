/**
 * Command-line and environment parsing for every sub-command. Each loader takes
 * argv and an env object (never process.env itself), collects every problem,
 * and throws one CliError listing them all, or returns a frozen config.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadWorkerConfig, type WorkerConfig } from '../queue-worker/index.js';
import { CliError } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const DATA_DIR_ENV = 'FAAS_TS_DATA_DIR';
export const LOG_LEVEL_ENV = 'FAAS_TS_LOG_LEVEL';
export const DEFAULT_DATA_DIR = '.faas-ts';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the repository (templates/, stack.yml, dist/) is, from this module's location (works from dist/ too). */
export function findRepoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'faas-ts') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new CliError('CLI_ERR_CONFIG', `cannot find the faas-ts package root above ${from}`);
    dir = parent;
  }
}

export function packageVersion(repoRoot: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'dev';
  } catch {
    return 'dev';
  }
}

/**
 * The checkout's commit (reads .git without running git), for the gateway's
 * /system/info `version.sha`, which faas-cli and the certifier require to be
 * non-empty. `dev` outside a git checkout.
 */
export function gitSha(repoRoot: string): string {
  try {
    const head = readFileSync(join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : 'dev';
    const loose = join(repoRoot, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(repoRoot, '.git', 'packed-refs'), 'utf8');
    return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(packed)?.[1] ?? 'dev';
  } catch {
    return 'dev';
  }
}

/** Context every loader needs besides argv and env. */
export interface Runtime {
  readonly env: Env;
  readonly cwd: string;
  readonly repoRoot: string;
  /** Node binary used to start bundled JS (the watchdog). */
  readonly execPath: string;
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: readonly string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError('CLI_ERR_USAGE', `faas-ts ${command}: ${(err as Error).message}`, { cause: err });
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function checkDataDir(dir: string, problems: string[]): void {
  try {
    if (!statSync(dir).isDirectory()) problems.push(`${DATA_DIR_ENV}/--data-dir ${dir} exists and is not a directory`);
  } catch {
    // created on first use
  }
}

function logLevel(env: Env, problems: string[]): LogLevel {
  const raw = (env[LOG_LEVEL_ENV] ?? '').trim();
  if (raw === '') return 'info';
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw as LogLevel;
  problems.push(`${LOG_LEVEL_ENV}=${JSON.stringify(raw)} must be one of ${LOG_LEVELS.join(', ')}`);
  return 'info';
}

function portFlag(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    problems.push(`--port ${JSON.stringify(raw)} must be an integer between 0 and 65535`);
    return undefined;
  }
  return String(Number(raw));
}

/**
 * The stack file: `-f` when given (must exist); else `stack.yaml` / `stack.yml`
 * in the cwd (faas-cli's lookup); else the repository's sample stack.yml.
 */
function stackFile(flag: string | undefined, rt: Runtime, problems: string[]): string {
  if (flag !== undefined) {
    const file = resolve(rt.cwd, flag);
    if (!isFile(file)) problems.push(`stack file ${file} (-f) does not exist`);
    return file;
  }
  for (const name of ['stack.yaml', 'stack.yml']) {
    const file = join(rt.cwd, name);
    if (isFile(file)) return file;
  }
  return join(rt.repoRoot, 'stack.yml');
}

/** Template search order: faas-cli's `template/` beside the stack, our `templates/` beside it, then the repo's. */
export function templateDirs(stack: string, repoRoot: string): string[] {
  const base = dirname(stack);
  return [...new Set([join(base, 'template'), join(base, 'templates'), join(repoRoot, 'templates')])];
}

function watchdogCommand(rt: Runtime, problems: string[]): string[] {
  const bundle = join(rt.repoRoot, 'dist', 'fwatchdog.cjs');
  if (!isFile(bundle)) problems.push(`the watchdog bundle ${bundle} is missing: run \`npm run build\` (or \`npm run build:watchdog\`)`);
  return [rt.execPath, bundle];
}

/** Queue-worker variables `up` honours for its embedded worker (the NATS and gateway addresses do not apply). */
export const EMBEDDED_WORKER_ENV = [
  'max_inflight',
  'max_inflight_per_function',
  'max_retry_attempts',
  'initial_retry_wait',
  'max_retry_wait',
  'retry_http_codes',
  'invoke_timeout',
  'callback_timeout',
  'drain_timeout',
] as const;

function embeddedWorkerConfig(env: Env, queueDir: string, problems: string[]): WorkerConfig | undefined {
  const picked: Record<string, string | undefined> = { queue_dir: queueDir };
  for (const k of EMBEDDED_WORKER_ENV) if (env[k] !== undefined) picked[k] = env[k];
  try {
    return loadWorkerConfig(picked);
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}

export interface UpConfig {
  readonly dataDir: string;
  /** `<dataDir>/queue`: the embedded durable queue behind /async-function. */
  readonly queueDir: string;
  /** The embedded queue worker (file backend; its gateway URL is the started gateway's). */
  readonly worker: WorkerConfig;
  /** `<dataDir>/gateway-secrets`: basic-auth-user / basic-auth-password. */
  readonly credentialsDir: string;
  readonly stackFile: string;
  readonly templateDirs: readonly string[];
  /** Build and deploy the stack's functions (false with --skip-deploy). */
  readonly deploy: boolean;
  readonly watchdogCommand: readonly string[];
  /** Env handed to loadGatewayConfig (process env plus the overrides `up` makes). */
  readonly gatewayEnv: Env;
  readonly logLevel: LogLevel;
}

/** Offload flags (gateway/README.md "Offload to a parent gateway"), shared by `up` and `gateway`. */
const OFFLOAD_FLAGS = {
  parent: { type: 'string' },
  layer: { type: 'string' },
} as const;

const OFFLOAD_USAGE = `--parent URL (env offload_parent_url) sends calls this gateway cannot or
should not run to a parent gateway; --layer NAME (env offload_layer) names
this layer in the X-Faas-Ts-Layer header. Other offload_* variables: gateway/README.md.`;

/** --parent/--layer become the gateway's offload_parent_url/offload_layer (validated by the gateway's config). */
function applyOffloadFlags(values: { parent?: string | undefined; layer?: string | undefined }, gatewayEnv: Record<string, string | undefined>): void {
  if (values.parent !== undefined) gatewayEnv.offload_parent_url = values.parent;
  if (values.layer !== undefined) gatewayEnv.offload_layer = values.layer;
}

export const UP_USAGE = `Usage: faas-ts up [-f stack.yml] [--data-dir DIR] [--port N] [--skip-deploy] [--tls-cert FILE --tls-key FILE] [--parent URL] [--layer NAME]

Start the gateway (basic auth on, UI at /ui) with the local provider, the
embedded durable queue and queue worker for /async-function, and deploy the
stack's functions. Env: ${DATA_DIR_ENV} (default ./${DEFAULT_DATA_DIR}), ${LOG_LEVEL_ENV},
the gateway's variables (port, bind_address, metrics_port, ...) and the queue
worker's ${EMBEDDED_WORKER_ENV.join(', ')}. --tls-cert/--tls-key (PEM files; the
gateway's tls_cert_file/tls_key_file) serve the API over HTTPS only.
${OFFLOAD_USAGE}`;

export function loadUpConfig(argv: readonly string[], rt: Runtime): UpConfig {
  const { values } = parse('up', argv, {
    yaml: { type: 'string', short: 'f' },
    'data-dir': { type: 'string' },
    port: { type: 'string', short: 'p' },
    'skip-deploy': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    ...OFFLOAD_FLAGS,
  });
  const problems: string[] = [];
  const dataDir = resolve(rt.cwd, values['data-dir'] ?? (rt.env[DATA_DIR_ENV] || DEFAULT_DATA_DIR));
  checkDataDir(dataDir, problems);
  const file = stackFile(values.yaml, rt, problems);
  const port = portFlag(values.port, problems);
  const level = logLevel(rt.env, problems);
  const wd = watchdogCommand(rt, problems);
  const queueDir = join(dataDir, 'queue');
  const worker = embeddedWorkerConfig(rt.env, queueDir, problems);
  if (problems.length > 0 || !worker) throw CliError.fromProblems('CLI_ERR_CONFIG', 'faas-ts up: invalid configuration', problems);

  const credentialsDir = join(dataDir, 'gateway-secrets');
  const gatewayEnv: Record<string, string | undefined> = {
    ...rt.env,
    basic_auth: rt.env.basic_auth || 'true',
    secret_mount_path: credentialsDir,
    GIT_SHA: rt.env.GIT_SHA || gitSha(rt.repoRoot),
  };
  if (port !== undefined) gatewayEnv.port = port;
  // Checked (both or neither, readable) by the gateway's own config, which reports the variable names.
  if (values['tls-cert'] !== undefined) gatewayEnv.tls_cert_file = resolve(rt.cwd, values['tls-cert']);
  if (values['tls-key'] !== undefined) gatewayEnv.tls_key_file = resolve(rt.cwd, values['tls-key']);
  applyOffloadFlags(values, gatewayEnv);
  return Object.freeze({
    dataDir,
    queueDir,
    worker,
    credentialsDir,
    stackFile: file,
    templateDirs: Object.freeze(templateDirs(file, rt.repoRoot)),
    deploy: !values['skip-deploy'],
    watchdogCommand: Object.freeze(wd),
    gatewayEnv: Object.freeze(gatewayEnv),
    logLevel: level,
  });
}

export interface BuildConfig {
  readonly dataDir: string;
  readonly stackFile: string;
  readonly templateDirs: readonly string[];
  /** Only these functions (positional names); empty = all. */
  readonly only: readonly string[];
  /** --docker: also `docker build` an image per function in faas-cli's ./build/<fn>/ layout. */
  readonly docker: boolean;
  /** --build-arg K=V for --docker. */
  readonly buildArgs: Readonly<Record<string, string>>;
}

export const BUILD_USAGE = `Usage: faas-ts build [-f stack.yml] [--data-dir DIR] [--docker [--build-arg K=V]...] [FUNCTION...]

Turn each function's lang + handler into a bundle in <data dir>/bundles/.
--docker: also build a container image tagged with the function's image, with
\`docker build\` in ./build/<fn>/ beside the stack file (faas-cli's layout).`;

export function loadBuildConfig(argv: readonly string[], rt: Runtime): BuildConfig {
  const { values, positionals } = parse(
    'build',
    argv,
    {
      yaml: { type: 'string', short: 'f' },
      'data-dir': { type: 'string' },
      docker: { type: 'boolean' },
      'build-arg': { type: 'string', multiple: true },
    },
    true,
  );
  const problems: string[] = [];
  const buildArgs: Record<string, string> = {};
  for (const item of values['build-arg'] ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) problems.push(`--build-arg ${JSON.stringify(item)} must be KEY=VALUE`);
    else buildArgs[item.slice(0, eq)] = item.slice(eq + 1);
  }
  if (values['build-arg'] && !values.docker) problems.push('--build-arg needs --docker');
  const dataDir = resolve(rt.cwd, values['data-dir'] ?? (rt.env[DATA_DIR_ENV] || DEFAULT_DATA_DIR));
  checkDataDir(dataDir, problems);
  const file = stackFile(values.yaml, rt, problems);
  if (problems.length > 0) throw CliError.fromProblems('CLI_ERR_CONFIG', 'faas-ts build: invalid configuration', problems);
  return Object.freeze({
    dataDir,
    stackFile: file,
    templateDirs: Object.freeze(templateDirs(file, rt.repoRoot)),
    only: Object.freeze([...positionals]),
    docker: values.docker === true,
    buildArgs: Object.freeze(buildArgs),
  });
}

/** Where `faas-ts gateway` publishes /async-function requests (upstream: faas_nats_address set). */
export interface NatsQueueConfig {
  readonly natsUrl: string;
  readonly stream: string;
  readonly subject: string;
  readonly maxReconnectAttempts: number;
  readonly reconnectDelayMs: number;
}

/** The NATS variables the gateway shares with the queue worker (same names, defaults and rules). */
const GATEWAY_NATS_ENV = [
  'faas_nats_address',
  'faas_nats_port',
  'faas_nats_channel',
  'faas_nats_stream',
  'faas_max_reconnect',
  'faas_reconnect_delay',
] as const;

function natsQueueConfig(env: Env, problems: string[]): NatsQueueConfig | undefined {
  if (!(env.faas_nats_address ?? '').trim()) return undefined;
  const picked: Record<string, string | undefined> = {};
  for (const k of GATEWAY_NATS_ENV) if (env[k] !== undefined) picked[k] = env[k];
  try {
    const w = loadWorkerConfig(picked);
    return Object.freeze({
      natsUrl: w.natsUrl,
      stream: w.stream,
      subject: w.subject,
      maxReconnectAttempts: w.maxReconnectAttempts,
      reconnectDelayMs: w.reconnectDelayMs,
    });
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}

export interface GatewayOnlyConfig {
  /** faas-provider base URL (env functions_provider_url), e.g. http://127.0.0.1:8081/. */
  readonly providerUrl: string;
  /** Set when faas_nats_address is: /async-function publishes to NATS JetStream. */
  readonly nats: NatsQueueConfig | undefined;
  readonly gatewayEnv: Env;
  readonly logLevel: LogLevel;
}

export const GATEWAY_USAGE = `Usage: faas-ts gateway [--port N] [--parent URL] [--layer NAME]

Start the gateway alone in front of a remote faas-provider (env
functions_provider_url, as upstream). Gateway env: port, bind_address,
basic_auth, secret_mount_path, ... With faas_nats_address (and faas_nats_port,
faas_nats_channel, faas_nats_stream) set, /async-function publishes to NATS
JetStream for \`faas-ts queue-worker\`; without it /async-function is 404.
${OFFLOAD_USAGE}`;

export function loadGatewayOnlyConfig(argv: readonly string[], rt: Runtime): GatewayOnlyConfig {
  const { values } = parse('gateway', argv, { port: { type: 'string', short: 'p' }, ...OFFLOAD_FLAGS });
  const problems: string[] = [];
  const raw = (rt.env.functions_provider_url ?? '').trim();
  let providerUrl = '';
  if (!raw) problems.push('functions_provider_url is required (the faas-provider URL, e.g. http://127.0.0.1:8081/)');
  else {
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      providerUrl = u.toString();
    } catch {
      problems.push(`functions_provider_url=${JSON.stringify(raw)} must be an http(s) URL`);
    }
  }
  const port = portFlag(values.port, problems);
  const level = logLevel(rt.env, problems);
  const nats = natsQueueConfig(rt.env, problems);
  if (problems.length > 0) throw CliError.fromProblems('CLI_ERR_CONFIG', 'faas-ts gateway: invalid configuration', problems);
  const gatewayEnv: Record<string, string | undefined> = { ...rt.env, GIT_SHA: rt.env.GIT_SHA || gitSha(rt.repoRoot) };
  if (port !== undefined) gatewayEnv.port = port;
  applyOffloadFlags(values, gatewayEnv);
  return Object.freeze({ providerUrl, nats, gatewayEnv: Object.freeze(gatewayEnv), logLevel: level });
}

export const QUEUE_WORKER_USAGE = `Usage: faas-ts queue-worker

Run the async invocation worker. Configured by env as upstream's
nats-queue-worker (faas_nats_address, faas_nats_port, faas_nats_channel,
faas_gateway_address, faas_gateway_port, max_inflight, ack_wait, ...) plus
queue_dir (use the embedded file queue instead of NATS JetStream), retries
(max_retry_attempts, initial_retry_wait, max_retry_wait, retry_http_codes)
and metrics_port. Env ${LOG_LEVEL_ENV} sets the log level.`;

/** The queue-worker takes no flags; its settings are env variables (queue-worker/config.ts). */
export function loadQueueWorkerArgs(argv: readonly string[], rt: Runtime): { readonly logLevel: LogLevel } {
  parse('queue-worker', argv, {});
  const problems: string[] = [];
  const level = logLevel(rt.env, problems);
  if (problems.length > 0) throw CliError.fromProblems('CLI_ERR_CONFIG', 'faas-ts queue-worker: invalid configuration', problems);
  return Object.freeze({ logLevel: level });
}

export const CONNECTOR_USAGE = `Usage: faas-ts connector mqtt|coap

Run an event connector beside a gateway (see connectors/README.md).
  mqtt  invoke functions annotated topic="a/+/b,c/#" for each MQTT message
        (env broker_url, gateway_url, gateway_user, gateway_password_file,
        asynchronous_invocation, mqtt_*, ...)
  coap  answer coap://host/NAME by calling /function/NAME on the gateway
        (env coap_port, coap_host, gateway_url, ...)
Both: metrics_port serves /metrics. Log level: ${LOG_LEVEL_ENV}, else log_level.
\`faas-ts up\` starts them itself when broker_url / coap_port (or coap_enabled=true) are set.`;

export interface ConnectorArgs {
  readonly kind: 'mqtt' | 'coap';
  readonly logLevel: LogLevel;
}

/** `faas-ts connector KIND`: the kind and log level; the connector's own settings are env (connectors/config.ts). */
export function loadConnectorArgs(argv: readonly string[], rt: Runtime): ConnectorArgs {
  const { positionals } = parse('connector', argv, {}, true);
  const [kind, ...extra] = positionals;
  if (kind !== 'mqtt' && kind !== 'coap') {
    const got = kind === undefined ? 'no connector named' : `unknown connector ${JSON.stringify(kind)}`;
    throw new CliError('CLI_ERR_USAGE', `faas-ts connector: ${got} (mqtt or coap)\n\n${CONNECTOR_USAGE}`);
  }
  if (extra.length > 0) throw new CliError('CLI_ERR_USAGE', `faas-ts connector: unexpected argument ${JSON.stringify(extra[0])}`);
  const problems: string[] = [];
  const fallback = (rt.env.log_level ?? '').trim();
  const env = (rt.env[LOG_LEVEL_ENV] ?? '').trim() === '' && fallback !== '' ? { [LOG_LEVEL_ENV]: fallback } : rt.env;
  const level = logLevel(env, problems);
  if (problems.length > 0) throw CliError.fromProblems('CLI_ERR_CONFIG', `faas-ts connector ${kind}: invalid configuration`, problems);
  return Object.freeze({ kind, logLevel: level });
}
