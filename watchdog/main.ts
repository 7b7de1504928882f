/**
 * fwatchdog entry point: the only module that reads process.env and argv.
 * Flags: `-version`, `-run-healthcheck` (spec §1.0).
 */
import { loadConfig, type WatchdogConfig } from './config.js';
import { lockFilePresent } from './lock.js';
import { createLogger } from './log.js';
import { SHA, VERSION } from './version.js';
import { createWatchdog } from './watchdog.js';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const versionLine = `Version: ${VERSION}\tSHA: ${SHA}`;
  if (argv.includes('-version') || argv.includes('--version')) {
    process.stdout.write(`${versionLine}\n`);
    process.exit(0);
  }
  const logger = createLogger(process.stderr);
  const exit = (code: number): never => {
    logger.flush?.();
    process.exit(code);
  };
  logger.log(versionLine);

  let config: WatchdogConfig;
  try {
    config = loadConfig(env, { cwd: process.cwd() });
  } catch (err) {
    logger.flush?.();
    process.stderr.write(`Error loading config: ${(err as Error).message}\n`);
    process.exit(1);
  }

  for (const warning of config.warnings) logger.log(`Warning: ${warning}`);

  if (argv.includes('-run-healthcheck') || argv.includes('--run-healthcheck')) {
    logger.flush?.();
    if (lockFilePresent(config.lockPath)) process.exit(0);
    process.stderr.write('unable to find lock file.\n');
    process.exit(1);
  }

  const watchdog = createWatchdog(config, {
    logger,
    onFatal: (code) => {
      watchdog.close().finally(() => exit(code));
    },
  });
  process.once('SIGTERM', () => {
    watchdog.shutdown().then(
      () => exit(0),
      (err: Error) => {
        logger.log(`Shutdown error: ${err.message}`);
        exit(1);
      },
    );
  });
  process.once('SIGINT', () => {
    watchdog.close().finally(() => exit(130));
  });
  try {
    await watchdog.start();
  } catch (err) {
    logger.log(`Error starting watchdog: ${(err as Error).message}`);
    await watchdog.close().catch(() => {});
    exit(1);
  }
}

void main(process.argv.slice(2), process.env);
