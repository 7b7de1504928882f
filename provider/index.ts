// The REST server/client live in provider/rest.ts (they load Fastify and undici).
export type * from './types.js';
export type { Provider } from './provider.js';
export { ProviderError, ProviderErrorCodes, type ProviderErrorCode } from './errors.js';
export { DEFAULT_NAMESPACE, isDns1123Label, assertDns1123Label, splitFunctionName } from './names.js';
export { serializeFunctionStatus, serializeSecretListItem, secretBytes, ZERO_TIME } from './serialize.js';
export {
  functionDeploymentSchema,
  scaleServiceRequestSchema,
  deleteFunctionRequestSchema,
  secretSchema,
  functionNamespaceSchema,
  functionResourcesSchema,
} from './schemas.js';
export type { RequestQueuer } from './queue.js';
export { createInvocationProxy, type InvocationProxy, type InvocationProxyOptions, type ForwardOptions, type ForwardResult } from './proxy.js';
export { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';
export { createBasicAuthCheck, type BasicAuthCredentials } from './basic-auth.js';
