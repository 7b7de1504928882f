/**
 * faas-ts command line: the composition root. The only module that reads
 * process.env / process.argv and picks concrete implementations (local
 * provider, REST provider, pino to stderr).
 *
 *   faas-ts up        gateway + UI + local provider + the stack's functions
 *   faas-ts build     stack functions → bundles in the local bundle store
 *   faas-ts gateway   gateway alone, in front of a remote faas-provider
 *   faas-ts watchdog  the function watchdog (fwatchdog)
 *   faas-ts queue-worker  async invocation worker (NATS JetStream or a file queue)
 *   faas-ts connector mqtt|coap  an event connector in front of a gateway
 *   faas-ts version
 *
 * Server components are imported when their command runs, so client commands
 * start quickly.
 */
import { dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { BundleStore } from '../provider-local/index.js';
import { buildStack } from './build.js';
import { CLIENT_COMMANDS, CLIENT_USAGE, runClientCommand, type ClientIo } from './client-cmd.js';
import {
  BUILD_USAGE,
  CONNECTOR_USAGE,
  findRepoRoot,
  GATEWAY_USAGE,
  loadBuildConfig,
  loadConnectorArgs,
  loadGatewayOnlyConfig,
  loadQueueWorkerArgs,
  loadUpConfig,
  packageVersion,
  QUEUE_WORKER_USAGE,
  UP_USAGE,
  type LogLevel,
  type Runtime,
} from './config.js';
import { CliError } from './errors.js';
import { loadStack } from './stack.js';

const USAGE = `Usage: faas-ts <command> [options]

Commands:
  up         start the gateway, UI and local provider; deploy stack.yml's functions
  build      turn stack.yml's functions into bundles (-f stack.yml)
  gateway    start the gateway in front of a remote faas-provider (functions_provider_url)
  watchdog   run the function watchdog (fwatchdog); configured by env like of-watchdog
  queue-worker  run the async invocation worker; configured by env like nats-queue-worker
  connector  run an event connector: mqtt (topics → functions) or coap (coap://host/NAME)
  version    print the version

${CLIENT_USAGE}

Run "faas-ts <command> --help" for a command's options.`;

function makeLogger(level: LogLevel): Logger {
  return pino(
    { level, base: { pid: process.pid }, redact: ['req.headers.authorization', 'password'] },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * Catch SIGINT/SIGTERM from now on (also while still starting, so a Ctrl-C
 * during startup still stops replicas). `serve(start)` runs `start`, waits for
 * the first signal, then closes what it started; a second signal exits at once.
 */
function shutdownOnSignal(logger: Logger) {
  let first: (signal: NodeJS.Signals) => void;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (first = resolve));
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) first(signal);
    else {
      logger.warn({ signal }, 'second signal while shutting down; exiting now');
      process.exit(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    async serve(start: () => Promise<{ close(): Promise<void> }>): Promise<number> {
      const running = await start();
      const signal = await signalled;
      logger.info({ signal }, 'shutting down');
      try {
        await running.close();
        return 0;
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
        return 1;
      }
    },
  };
}

function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

const clientIo: ClientIo = {
  print: (line) => process.stdout.write(`${line}\n`),
  write: (data) => process.stdout.write(data),
  warn: (line) => process.stderr.write(`${line}\n`),
  async readStdin() {
    if (process.stdin.isTTY) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const rt: Runtime = { env: process.env, cwd: process.cwd(), repoRoot: findRepoRoot(), execPath: process.execPath };
  const [command, ...rest] = argv;
  const print = (line: string) => process.stdout.write(`${line}\n`);

  switch (command) {
    case 'up': {
      if (wantsHelp(rest)) {
        print(UP_USAGE);
        return 0;
      }
      const config = loadUpConfig(rest, rt);
      const logger = makeLogger(config.logLevel);
      const { runUp } = await import('./up.js');
      return shutdownOnSignal(logger).serve(() => runUp(config, { print, logger, env: rt.env }));
    }
    case 'build': {
      if (wantsHelp(rest)) {
        print(BUILD_USAGE);
        return 0;
      }
      const config = loadBuildConfig(rest, rt);
      const stack = await loadStack(config.stackFile, rt.env);
      const unknown = config.only.filter((n) => !stack.functions.some((f) => f.name === n));
      if (unknown.length > 0) throw new CliError('CLI_ERR_USAGE', `faas-ts build: no such function in ${stack.file}: ${unknown.join(', ')}`);
      const selected = config.only.length > 0 ? stack.functions.filter((f) => config.only.includes(f.name)) : stack.functions;
      const store = new BundleStore(join(config.dataDir, 'bundles'));
      const todo = selected.filter((f) => !f.skipBuild);
      for (const [i, fn] of todo.entries()) {
        const step = `[${i + 1}/${todo.length}] ${fn.name}`;
        print(`${step}: building bundle (${fn.lang ?? 'no lang'}) ...`);
        const started = Date.now();
        const [r] = await buildStack([fn], { templateDirs: config.templateDirs, store });
        print(`${step}: ${r!.image} → ${r!.dir}${r!.changed ? '' : ' (unchanged)'} in ${Date.now() - started} ms`);
        if (config.docker) {
          const { dockerBuild } = await import('./docker-build.js');
          print(`${step}: docker build --tag ${fn.image} (context ${join(dirname(stack.file), 'build', fn.name)})`);
          const t0 = Date.now();
          await dockerBuild(fn, {
            templateDirs: config.templateDirs,
            buildRoot: join(dirname(stack.file), 'build'),
            buildArgs: config.buildArgs,
            env: rt.env,
            onLine: (line) => print(`${step}: | ${line}`),
          });
          print(`${step}: image ${fn.image} built in ${Date.now() - t0} ms`);
        }
      }
      return 0;
    }
    case 'gateway': {
      if (wantsHelp(rest)) {
        print(GATEWAY_USAGE);
        return 0;
      }
      const config = loadGatewayOnlyConfig(rest, rt);
      const logger = makeLogger(config.logLevel);
      const { runGatewayOnly } = await import('./gateway-cmd.js');
      return shutdownOnSignal(logger).serve(async () => {
        const handle = await runGatewayOnly(config, logger);
        print(`Gateway: ${handle.url} → provider ${config.providerUrl}`);
        if (config.nats) print(`Async:   ${handle.url}/async-function/NAME → ${config.nats.natsUrl} (stream ${config.nats.stream})`);
        return handle;
      });
    }
    case 'watchdog': {
      const { runWatchdog } = await import('./watchdog-cmd.js');
      return runWatchdog(rest, rt);
    }
    case 'queue-worker': {
      if (wantsHelp(rest)) {
        print(QUEUE_WORKER_USAGE);
        return 0;
      }
      const { logLevel } = loadQueueWorkerArgs(rest, rt);
      const { loadWorkerConfig, startQueueWorker } = await import('../queue-worker/index.js');
      const config = loadWorkerConfig({ ...rt.env });
      const logger = makeLogger(config.debug ? 'debug' : logLevel);
      return shutdownOnSignal(logger).serve(async () => {
        const running = await startQueueWorker(config, logger);
        const from = config.backend === 'file' ? `file queue ${config.queueDir}` : `JetStream ${config.natsUrl} (${config.stream})`;
        print(`Queue worker: ${from} → ${config.gatewayUrl}`);
        if (running.metricsUrl) print(`Metrics:      ${running.metricsUrl}/metrics`);
        return running;
      });
    }
    case 'connector': {
      if (wantsHelp(rest)) {
        print(CONNECTOR_USAGE);
        return 0;
      }
      const { kind, logLevel } = loadConnectorArgs(rest, rt);
      const logger = makeLogger(logLevel);
      const [{ runConnector }, { Registry }] = await Promise.all([import('./connector-cmd.js'), import('prom-client')]);
      return shutdownOnSignal(logger).serve(async () => {
        const handle = await runConnector(kind, rt.env, new Registry(), logger);
        for (const line of handle.lines) print(line);
        return handle;
      });
    }
    case 'version':
    case '--version':
      print(`faas-ts ${packageVersion(rt.repoRoot)} (node ${process.version}, ${process.platform}/${process.arch})`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      print(USAGE);
      return command === undefined ? 2 : 0;
    default:
      if ((CLIENT_COMMANDS as readonly string[]).includes(command)) {
        if (wantsHelp(rest)) {
          print(CLIENT_USAGE);
          return 0;
        }
        return runClientCommand(command, rest, rt, clientIo);
      }
      throw new CliError('CLI_ERR_USAGE', `unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (CliError.is(err)) {
      process.stderr.write(`faas-ts: ${err.message} [${err.code}]\n`);
      process.exit(err.exitCode);
    }
    const e = err as { code?: unknown; message?: unknown };
    process.stderr.write(`faas-ts: ${String(e?.message ?? err)}${typeof e?.code === 'string' ? ` [${e.code}]` : ''}\n`);
    process.exit(1);
  },
);
