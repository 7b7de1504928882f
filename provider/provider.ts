import type {
  FunctionDeployment,
  FunctionNamespace,
  FunctionStatus,
  InvokeEndpoint,
  LogMessage,
  LogRequest,
  ProviderInfo,
  Secret,
} from './types.js';

/**
 * The one seam between the gateway and an orchestrator (local processes, Swarm,
 * Kubernetes, or a remote faas-provider). Every method takes the namespace
 * explicitly; `undefined` means the provider's default namespace.
 *
 * Errors are thrown as ProviderError (errors.ts) so the gateway can map them to
 * status codes: NOT_FOUND → 404, ALREADY_EXISTS → 409, INVALID → 400, ...
 * Optional members are capabilities; the gateway answers 501 when one is absent.
 */
export interface Provider {
  /** The namespace used when a request names none, e.g. `openfaas-fn`. */
  readonly defaultNamespace: string;

  /** Create a function. Deploying over an existing one updates it (safe re-runs). */
  deploy(spec: FunctionDeployment): Promise<void>;
  /** Update an existing function (rolling). NOT_FOUND when it does not exist. */
  update(spec: FunctionDeployment): Promise<void>;
  /** Remove a function and its replicas. NOT_FOUND when it does not exist. */
  remove(name: string, namespace?: string): Promise<void>;
  list(namespace?: string): Promise<FunctionStatus[]>;
  /** undefined when the function does not exist. */
  get(name: string, namespace?: string): Promise<FunctionStatus | undefined>;
  /** Set desired replicas (0 allowed). NOT_FOUND when the function does not exist. */
  scale(name: string, replicas: number, namespace?: string): Promise<void>;
  /**
   * Ready replicas to proxy an invocation to. Empty when none is ready (scaled to
   * zero or starting). NOT_FOUND when the function does not exist.
   */
  endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]>;

  listSecrets(namespace?: string): Promise<Secret[]>;
  /** ALREADY_EXISTS when a secret of that name exists. */
  createSecret(secret: Secret): Promise<void>;
  /** NOT_FOUND when absent. */
  updateSecret(secret: Secret): Promise<void>;
  /** NOT_FOUND when absent. */
  deleteSecret(name: string, namespace?: string): Promise<void>;

  /** Function namespaces the provider manages; always includes the default. */
  namespaces(): Promise<string[]>;
  getNamespace?(name: string): Promise<FunctionNamespace | undefined>;
  createNamespace?(ns: FunctionNamespace): Promise<void>;
  updateNamespace?(ns: FunctionNamespace): Promise<void>;
  deleteNamespace?(name: string): Promise<void>;

  /**
   * Log messages of a function's replicas, oldest first. With `follow` the
   * iterable stays open for new lines until `signal` aborts.
   */
  logs?(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage>;

  info(): Promise<ProviderInfo>;
  /** Resolves when the backend is reachable; rejects otherwise. */
  health?(): Promise<void>;
  /** Stop background work and release resources (does not remove functions). */
  close(): Promise<void>;
}
