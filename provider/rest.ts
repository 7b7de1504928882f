/**
 * The faas-provider REST pair: serveProvider (a Fastify server exposing any
 * Provider over the faas-provider HTTP API) and createRestProvider (a Provider
 * that talks to such a server). Kept out of provider/index.ts so that code
 * importing only the contract does not load Fastify and undici's client.
 */
export { serveProvider, type ServeProviderOptions, type ProviderServer } from './rest-server.js';
export { createRestProvider, type RestProviderOptions } from './rest-client.js';
