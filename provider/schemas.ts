/**
 * JSON schemas for request bodies, used by the gateway (Fastify/ajv) and the
 * faas-provider REST server. Unknown keys are ignored rather than rejected:
 * upstream clients still send deprecated keys (`registryAuth`, `network`).
 * Name grammar is checked in code (names.ts) so the message can be specific.
 */

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const nullableStringMap = { type: ['object', 'null'], additionalProperties: { type: 'string' } } as const;
const stringArray = { type: 'array', items: { type: 'string' } } as const;

export const functionResourcesSchema = {
  type: ['object', 'null'],
  properties: {
    memory: { type: 'string' },
    cpu: { type: 'string' },
    'nvidia.com/gpu': { type: 'string' },
    'amd.com/gpu': { type: 'string' },
    'intel.com/gpu': { type: 'string' },
  },
} as const;

export const functionDeploymentSchema = {
  $id: 'FunctionDeployment',
  type: 'object',
  required: ['service', 'image'],
  properties: {
    service: { type: 'string', minLength: 1 },
    image: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
    envProcess: { type: 'string' },
    envVars: stringMap,
    constraints: stringArray,
    secrets: stringArray,
    labels: nullableStringMap,
    annotations: nullableStringMap,
    limits: functionResourcesSchema,
    requests: functionResourcesSchema,
    readOnlyRootFilesystem: { type: 'boolean' },
  },
} as const;

export const scaleServiceRequestSchema = {
  $id: 'ScaleServiceRequest',
  type: 'object',
  properties: {
    serviceName: { type: 'string' },
    replicas: { type: 'integer', minimum: 0 },
    namespace: { type: 'string' },
  },
} as const;

export const deleteFunctionRequestSchema = {
  $id: 'DeleteFunctionRequest',
  type: 'object',
  required: ['functionName'],
  properties: {
    functionName: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
  },
} as const;

export const secretSchema = {
  $id: 'Secret',
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
    value: { type: 'string' },
    rawValue: { type: 'string' },
  },
} as const;

export const functionNamespaceSchema = {
  $id: 'FunctionNamespace',
  type: 'object',
  properties: {
    name: { type: 'string' },
    annotations: stringMap,
    labels: stringMap,
  },
} as const;
