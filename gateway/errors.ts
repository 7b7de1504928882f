/**
 * Gateway error codes. Each code has one HTTP status; the error handler
 * (http-errors.ts) maps codes to plain-text answers. Codes are stable API:
 * never rename or reuse one. Every code is listed in gateway/README.md
 * (checked by test/gateway-errors.test.ts).
 *
 * Retired codes (never reuse): none yet.
 */
export const GatewayErrorCodes = {
  /** Startup: bad environment variable(s). */
  GW_ERR_CONFIG: 500,
  /** Startup: basic auth enabled but a credential file is missing or empty. */
  GW_ERR_CREDENTIALS: 500,
  /** Request body is not valid JSON or does not match the schema. */
  GW_ERR_INVALID_BODY: 400,
  /** A function, namespace or secret name is not acceptable. */
  GW_ERR_INVALID_NAME: 400,
  /** Request body exceeds the configured limit. */
  GW_ERR_BODY_TOO_LARGE: 413,
  /** Function does not exist (invocation path). */
  GW_ERR_FUNCTION_NOT_FOUND: 404,
  /** Function exists but no replica became ready in time. */
  GW_ERR_NO_ENDPOINTS: 503,
  /** Scaling a function up from zero failed. */
  GW_ERR_SCALE_FROM_ZERO: 500,
  /** The provider lacks an optional capability (logs, namespace CRUD). */
  GW_ERR_NOT_IMPLEMENTED: 501,
  /** Unparsable `tail` or `since` on /system/logs. */
  GW_ERR_INVALID_LOG_REQUEST: 422,
  /** Missing or wrong basic-auth credentials. */
  GW_ERR_UNAUTHORIZED: 401,
  /** Any unexpected failure. */
  GW_ERR_INTERNAL: 500,
  /** Offload: the call already made `offload_max_hops` hops and is not deployed here (loop or too long a chain). */
  GW_ERR_OFFLOAD_HOP_LIMIT: 508,
  /** Offload: the parent gateway did not answer and the call cannot be run or re-sent here. */
  GW_ERR_OFFLOAD_FAILED: 502,
} as const;

export type GatewayErrorCode = keyof typeof GatewayErrorCodes;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly statusCode: number;

  constructor(code: GatewayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = GatewayErrorCodes[code];
  }

  /** Works across two loaded copies of this module. */
  static is(err: unknown, code?: GatewayErrorCode): err is GatewayError {
    if (typeof err !== 'object' || err === null) return false;
    const e = err as { name?: unknown; code?: unknown };
    if (e.name !== 'GatewayError' || typeof e.code !== 'string' || !(e.code in GatewayErrorCodes)) return false;
    return code === undefined || e.code === code;
  }
}
