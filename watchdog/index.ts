/** Public API of the watchdog component (it ships alone: nothing else in the repo is imported). */
export { loadConfig, type Mode, type RestartPolicy, type WatchdogConfig, type LoadOptions } from './config.js';
export { ConfigError, WatchdogError, type WatchdogErrorCode } from './errors.js';
export { createWatchdog, type Watchdog, type WatchdogDeps } from './watchdog.js';
export { VERSION, SHA } from './version.js';
