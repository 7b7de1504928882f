/**
 * CLI errors with stable codes. Codes are part of our interface (scripts may
 * match on them): never reuse or rename one. `exitCode` is what main() exits with.
 */
export const CliErrorCodes = {
  /** Unknown sub-command, unknown flag, bad flag value. */
  CLI_ERR_USAGE: { exitCode: 2, description: 'invalid command line' },
  /** Environment or flags describe an impossible configuration (all problems listed). */
  CLI_ERR_CONFIG: { exitCode: 1, description: 'invalid configuration' },
  /** stack.yml cannot be read or does not follow the OpenFaaS stack schema. */
  CLI_ERR_STACK: { exitCode: 1, description: 'invalid stack file' },
  /** A function's `lang` names no usable template. */
  CLI_ERR_TEMPLATE: { exitCode: 1, description: 'template not found or invalid' },
  /** Turning a handler into a bundle failed. */
  CLI_ERR_BUILD: { exitCode: 1, description: 'build failed' },
  /** The provider refused a deployment. */
  CLI_ERR_DEPLOY: { exitCode: 1, description: 'deploy failed' },
  /** The gateway's admin credentials cannot be created or read. */
  CLI_ERR_CREDENTIALS: { exitCode: 1, description: 'admin credentials unavailable' },
  /** The gateway refused a client command (list, deploy, invoke, ...) or cannot be reached. */
  CLI_ERR_GATEWAY: { exitCode: 1, description: 'gateway request failed' },
} as const;

export type CliErrorCode = keyof typeof CliErrorCodes;

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;
  /** Every problem found, for errors that collect several (config, stack). */
  readonly problems: readonly string[];

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown; problems?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = CliErrorCodes[code].exitCode;
    this.problems = options?.problems ?? [];
  }

  /** One error listing every problem, e.g. from a config loader. */
  static fromProblems(code: CliErrorCode, what: string, problems: readonly string[]): CliError {
    const message = `${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    return new CliError(code, message, { problems });
  }

  /** Works across two loaded copies of this module. */
  static is(err: unknown, code?: CliErrorCode): err is CliError {
    if (typeof err !== 'object' || err === null) return false;
    const e = err as { name?: unknown; code?: unknown };
    if (e.name !== 'CliError' || typeof e.code !== 'string' || !(e.code in CliErrorCodes)) return false;
    return code === undefined || e.code === code;
  }
}
