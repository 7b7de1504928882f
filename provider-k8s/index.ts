export { createK8sProvider, type K8sProvider } from './provider.js';
export { resolveConfig, type K8sProviderOptions, type ResolvedK8sConfig, type EndpointMode, type ProbeConfig, type K8sServerOptions, type K8sLogger } from './config.js';
export { buildDeployment, buildService, buildSecret, buildNamespace, deploymentToStatus, FUNCTION_LABEL, SECRET_MANAGED_LABEL, SECRETS_MOUNT_PATH } from './objects.js';
export { createSchemaValidator, type SchemaValidator, type SchemaProblem } from './schema.js';
export { loadClientNode } from './client-node.js';
