/** Typed errors of the watchdog, each with a stable code. */

export type WatchdogErrorCode =
  | 'WD_ERR_CONFIG'
  | 'WD_ERR_LOCK_FILE'
  | 'WD_ERR_HANDLER_LOAD';

export class WatchdogError extends Error {
  readonly code: WatchdogErrorCode;
  constructor(code: WatchdogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WatchdogError';
    this.code = code;
  }
}

/** One error for every invalid configuration variable; `problems` lists each. */
export class ConfigError extends WatchdogError {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super('WD_ERR_CONFIG', problems.join('; '));
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
