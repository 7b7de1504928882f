/** Typed errors of the event connectors, each with a stable code. */
export const ConnectorErrorCodes = {
  /** A configuration variable is missing or malformed (message names every bad variable). */
  CONFIG: 'CONN_ERR_CONFIG',
  /** The gateway answered a /system/* call with an unexpected status. */
  GATEWAY_STATUS: 'CONN_ERR_GATEWAY_STATUS',
  /** The gateway could not be reached (connection refused, reset, timeout). */
  GATEWAY_UNREACHABLE: 'CONN_ERR_GATEWAY_UNREACHABLE',
} as const;

export type ConnectorErrorCode = (typeof ConnectorErrorCodes)[keyof typeof ConnectorErrorCodes];

export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  constructor(code: ConnectorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectorError';
    this.code = code;
  }
}
