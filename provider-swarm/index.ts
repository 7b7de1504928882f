export { createSwarmProvider, type SwarmProvider } from './provider.js';
export { defaultEndpointMode, hasIpvs, type SwarmProviderOptions, type SwarmLogger, type ResolvedSwarmConfig } from './config.js';
export { buildServiceSpec, statusFromService, serviceName, SECRETS_PATH, WATCHDOG_PORT, type EndpointMode } from './spec.js';
