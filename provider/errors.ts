/**
 * Typed provider errors with stable codes. Codes are part of our API: never
 * reuse or rename one. The gateway maps `statusCode` onto the HTTP answer.
 */
export const ProviderErrorCodes = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID: 400,
  UNSUPPORTED: 501,
  UNAVAILABLE: 503,
  BACKEND: 500,
} as const;

export type ProviderErrorCode = keyof typeof ProviderErrorCodes;

export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  readonly statusCode: number;

  constructor(code: ProviderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderError';
    this.code = code;
    this.statusCode = ProviderErrorCodes[code];
  }

  static notFound(what: string, options?: { cause?: unknown }): ProviderError {
    return new ProviderError('NOT_FOUND', `${what} not found`, options);
  }

  static invalid(message: string): ProviderError {
    return new ProviderError('INVALID', message);
  }

  /** Works across two loaded copies of this module. */
  static is(err: unknown, code?: ProviderErrorCode): err is ProviderError {
    if (typeof err !== 'object' || err === null) return false;
    const e = err as { name?: unknown; code?: unknown };
    if (e.name !== 'ProviderError' || typeof e.code !== 'string' || !(e.code in ProviderErrorCodes)) return false;
    return code === undefined || e.code === code;
  }
}
