/**
 * Test-only Provider for the gateway's route unit tests: functions live in a
 * Map, and each function's replicas are real node HTTP servers the test
 * started (`backends`). `endpoints()` returns the first `replicas` of them,
 * or none until `ready` is set. The end-to-end tests use provider-local.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ProviderError,
  type FunctionDeployment,
  type FunctionNamespace,
  type FunctionStatus,
  type InvokeEndpoint,
  type LogMessage,
  type LogRequest,
  type Provider,
  type ProviderInfo,
  type Secret,
} from '../provider/index.js';

interface Fn {
  spec: FunctionDeployment;
  replicas: number;
  createdAt: string;
}

export class MemoryProvider implements Provider {
  readonly defaultNamespace = 'openfaas-fn';
  readonly functions = new Map<string, Fn>();
  readonly secrets = new Map<string, Secret>();
  /** Replica servers per `name.ns`. */
  readonly backends = new Map<string, InvokeEndpoint[]>();
  /** When false for a function, endpoints() stays empty (replicas "starting"). */
  readonly ready = new Map<string, boolean>();
  readonly scaleCalls: Array<{ name: string; replicas: number; namespace?: string }> = [];
  healthy = true;
  infoFails = false;

  private key(name: string, ns?: string): string {
    return `${name}.${ns || this.defaultNamespace}`;
  }

  async deploy(spec: FunctionDeployment): Promise<void> {
    const key = this.key(spec.service, spec.namespace);
    const min = Number(spec.labels?.['com.openfaas.scale.min'] ?? 1);
    const prev = this.functions.get(key);
    this.functions.set(key, { spec, replicas: prev?.replicas ?? min, createdAt: prev?.createdAt ?? new Date().toISOString() });
  }

  async update(spec: FunctionDeployment): Promise<void> {
    if (!this.functions.has(this.key(spec.service, spec.namespace))) throw ProviderError.notFound(`function ${spec.service}`);
    await this.deploy(spec);
  }

  async remove(name: string, namespace?: string): Promise<void> {
    if (!this.functions.delete(this.key(name, namespace))) throw ProviderError.notFound(`function ${name}`);
  }

  private status(fn: Fn): FunctionStatus {
    const ns = fn.spec.namespace || this.defaultNamespace;
    const key = this.key(fn.spec.service, ns);
    return {
      name: fn.spec.service,
      image: fn.spec.image,
      namespace: ns,
      labels: { ...(fn.spec.labels ?? {}), faas_function: fn.spec.service },
      annotations: fn.spec.annotations ?? {},
      envProcess: fn.spec.envProcess,
      replicas: fn.replicas,
      availableReplicas: this.readyEndpoints(key, fn).length,
      createdAt: fn.createdAt,
    };
  }

  private readyEndpoints(key: string, fn: Fn): InvokeEndpoint[] {
    if (this.ready.get(key) === false) return [];
    return (this.backends.get(key) ?? []).slice(0, fn.replicas);
  }

  async list(namespace?: string): Promise<FunctionStatus[]> {
    const ns = namespace || this.defaultNamespace;
    return [...this.functions.values()].filter((f) => (f.spec.namespace || this.defaultNamespace) === ns).map((f) => this.status(f));
  }

  async get(name: string, namespace?: string): Promise<FunctionStatus | undefined> {
    const fn = this.functions.get(this.key(name, namespace));
    return fn && this.status(fn);
  }

  async scale(name: string, replicas: number, namespace?: string): Promise<void> {
    const fn = this.functions.get(this.key(name, namespace));
    if (!fn) throw ProviderError.notFound(`function ${name}`);
    this.scaleCalls.push({ name, replicas, ...(namespace ? { namespace } : {}) });
    fn.replicas = replicas;
  }

  async endpoints(name: string, namespace?: string): Promise<InvokeEndpoint[]> {
    const key = this.key(name, namespace);
    const fn = this.functions.get(key);
    if (!fn) throw ProviderError.notFound(`function ${key}`);
    return this.readyEndpoints(key, fn);
  }

  async listSecrets(namespace?: string): Promise<Secret[]> {
    const ns = namespace || this.defaultNamespace;
    return [...this.secrets.values()].filter((s) => s.namespace === ns);
  }

  async createSecret(secret: Secret): Promise<void> {
    const key = this.key(secret.name, secret.namespace);
    if (this.secrets.has(key)) throw new ProviderError('ALREADY_EXISTS', `secret ${secret.name} already exists`);
    this.secrets.set(key, { ...secret, namespace: secret.namespace || this.defaultNamespace });
  }

  async updateSecret(secret: Secret): Promise<void> {
    const key = this.key(secret.name, secret.namespace);
    if (!this.secrets.has(key)) throw ProviderError.notFound(`secret ${secret.name}`);
    this.secrets.set(key, { ...secret, namespace: secret.namespace || this.defaultNamespace });
  }

  async deleteSecret(name: string, namespace?: string): Promise<void> {
    if (!this.secrets.delete(this.key(name, namespace))) throw ProviderError.notFound(`secret ${name}`);
  }

  async namespaces(): Promise<string[]> {
    return [this.defaultNamespace];
  }

  async info(): Promise<ProviderInfo> {
    if (this.infoFails) throw new Error('provider down');
    return { provider: 'memory', orchestration: 'test', version: { sha: 'abc', release: '1.0.0' } };
  }

  async health(): Promise<void> {
    if (!this.healthy) throw new Error('unhealthy');
  }

  async close(): Promise<void> {}
}

/** A MemoryProvider that also streams logs and manages namespaces. */
export class LoggingProvider extends MemoryProvider {
  readonly logLines: LogMessage[] = [];
  aborted = 0;
  lastLogRequest: LogRequest | undefined;
  readonly ns = new Map<string, FunctionNamespace>();

  async *logs(req: LogRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    this.lastLogRequest = req;
    signal.addEventListener('abort', () => this.aborted++, { once: true });
    for (const m of this.logLines) yield m;
    if (!req.follow) return;
    let i = 0;
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, 20));
      if (signal.aborted) break;
      yield { name: req.name, namespace: 'openfaas-fn', instance: 'r0', timestamp: new Date().toISOString(), text: `tick ${i++}` };
    }
  }

  async getNamespace(name: string): Promise<FunctionNamespace | undefined> {
    return this.ns.get(name);
  }
  async createNamespace(ns: FunctionNamespace): Promise<void> {
    this.ns.set(ns.name, ns);
  }
  async updateNamespace(ns: FunctionNamespace): Promise<void> {
    if (!this.ns.has(ns.name)) throw ProviderError.notFound(`namespace ${ns.name}`);
    this.ns.set(ns.name, ns);
  }
  async deleteNamespace(name: string): Promise<void> {
    if (!this.ns.delete(name)) throw ProviderError.notFound(`namespace ${name}`);
  }
}

export interface Backend {
  endpoint: InvokeEndpoint;
  server: Server;
  hits: number;
  close(): Promise<void>;
}

/** Start a real HTTP server on 127.0.0.1:0 to stand in for one function replica. */
export async function startBackend(
  id: string,
  handler: (req: IncomingMessage, res: ServerResponse, backend: Backend) => void,
): Promise<Backend> {
  const backend = {} as Backend;
  const server = createServer((req, res) => {
    backend.hits++;
    handler(req, res, backend);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    endpoint: { id, baseUrl: `http://127.0.0.1:${port}`, pathPrefix: '' },
    server,
    hits: 0,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return backend;
}

/** Echo replica: answers JSON describing the request it received. */
export function echoHandler(req: IncomingMessage, res: ServerResponse, backend: Backend): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const out = JSON.stringify({ id: backend.endpoint.id, method: req.method, url: req.url, headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': backend.endpoint.id });
    res.end(out);
  });
}
