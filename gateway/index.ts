/** The gateway's public API. Other components import only this file. */
export { loadGatewayConfig, parseDurationMs, type GatewayConfig, type GatewayVersion } from './config.js';
export { buildGateway, type GatewayDeps } from './app.js';
export { startGateway, type RunningGateway } from './server.js';
export { GatewayError, GatewayErrorCodes, type GatewayErrorCode } from './errors.js';
