/**
 * Wire types of the OpenFaaS gateway / faas-provider HTTP contract.
 * JSON keys are spelled exactly as upstream (see shared/spec/gateway-api.md §2);
 * "omitted when empty" is the serialiser's job (see serialize.ts), not the type's.
 */

/** Resource quantities as Kubernetes-style strings, e.g. `{ memory: "128Mi", cpu: "100m" }`. */
export interface FunctionResources {
  memory?: string;
  cpu?: string;
  'nvidia.com/gpu'?: string;
  'amd.com/gpu'?: string;
  'intel.com/gpu'?: string;
}

/** Body of POST/PUT /system/functions. */
export interface FunctionDeployment {
  /** Function name: a DNS-1123 label. */
  service: string;
  /** Image reference; for provider-local a bundle name in the local store. */
  image: string;
  /** Provider default namespace when absent. */
  namespace?: string;
  /** Becomes the watchdog's `fprocess` env var. */
  envProcess?: string;
  envVars?: Record<string, string>;
  constraints?: string[];
  /** Names of secrets to mount at /var/openfaas/secrets/NAME. */
  secrets?: string[];
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  limits?: FunctionResources | null;
  requests?: FunctionResources | null;
  readOnlyRootFilesystem?: boolean;
}

export interface FunctionUsage {
  cpu?: number;
  totalMemoryBytes?: number;
}

/** Items of GET /system/functions and body of GET /system/function/NAME. */
export interface FunctionStatus {
  name: string;
  image: string;
  namespace?: string;
  envProcess?: string;
  envVars?: Record<string, string>;
  constraints?: string[];
  secrets?: string[];
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  limits?: FunctionResources | null;
  requests?: FunctionResources | null;
  readOnlyRootFilesystem?: boolean;
  /** Filled by the gateway on list from its own metrics. */
  invocationCount?: number;
  /** Desired replicas. */
  replicas?: number;
  /** Ready replicas. */
  availableReplicas?: number;
  /** RFC 3339; always serialised (zero time when unknown). */
  createdAt?: string;
  usage?: FunctionUsage | null;
}

/** Body of POST /system/scale-function/NAME. */
export interface ScaleServiceRequest {
  serviceName: string;
  replicas: number;
  namespace?: string;
}

/** Body of DELETE /system/functions. */
export interface DeleteFunctionRequest {
  functionName: string;
  namespace?: string;
}

/** Body of /system/secrets. List responses carry only name and namespace. */
export interface Secret {
  name: string;
  namespace?: string;
  value?: string;
  /** base64 of raw bytes; used when `value` is empty. */
  rawValue?: string;
}

export interface VersionInfo {
  commit_message?: string;
  sha: string;
  release: string;
}

/** Provider's GET /system/info. */
export interface ProviderInfo {
  provider: string;
  version: VersionInfo | null;
  orchestration: string;
}

/** Gateway's GET /system/info. Key order as upstream: provider, version, arch. */
export interface GatewayInfo {
  provider: ProviderInfo | null;
  version: VersionInfo;
  arch: string;
}

/** One NDJSON line of /system/logs. All five keys are always present. */
export interface LogMessage {
  name: string;
  namespace: string;
  instance: string;
  /** RFC 3339 with nanoseconds where known. */
  timestamp: string;
  text: string;
}

/** Parsed from the /system/logs query string. */
export interface LogRequest {
  name: string;
  namespace?: string;
  instance?: string;
  /** Only messages at or after this time. */
  since?: Date;
  /** Last N messages; <= 0 or undefined means unlimited. */
  tail?: number;
  follow?: boolean;
}

/** Body of POST/PUT /system/namespace/NAME and GET response. */
export interface FunctionNamespace {
  name: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** Go url.URL serialised as a struct, as the upstream queue-worker expects in QueueRequest. */
export interface GoURL {
  Scheme: string;
  Opaque: string;
  User: null;
  Host: string;
  Path: string;
  RawPath: string;
  OmitHost: boolean;
  ForceQuery: boolean;
  RawQuery: string;
  Fragment: string;
  RawFragment: string;
}

/** Message published for /async-function (faas-provider types/queue.go). Keys are capitalised. */
export interface QueueRequest {
  Header?: Record<string, string[]>;
  Host?: string;
  /** base64 */
  Body?: string;
  Method: string;
  Path?: string;
  QueryString?: string;
  Function: string;
  QueueName?: string;
  Annotations?: Record<string, string>;
  Labels?: Record<string, string>;
  Environment?: Record<string, string>;
  /** Struct form on the wire; a plain string is accepted when reading. */
  CallbackUrl?: GoURL | string | null;
}

/**
 * Where the gateway sends an invocation for one replica.
 * The gateway proxies `/function/NAME/rest?q` to `baseUrl + pathPrefix + /rest?q`.
 */
export interface InvokeEndpoint {
  /** Stable replica id, e.g. the instance name shown in logs. */
  id: string;
  /** e.g. `http://127.0.0.1:40123` (no trailing slash). */
  baseUrl: string;
  /** Prepended to the function sub-path; `""` for a watchdog, `/function/fn.ns` for a faas-provider. */
  pathPrefix: string;
}
