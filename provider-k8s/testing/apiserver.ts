/**
 * A Kubernetes API server stand-in for tests: a real HTTP server (node:http)
 * on 127.0.0.1 serving the real REST paths and JSON for the objects
 * provider-k8s uses — namespaces, apps/v1 deployments (+ /scale), v1 services,
 * secrets, pods, pods/log, discovery.k8s.io/v1 endpointslices — with state,
 * resourceVersions, watch streams, Status errors (404/409/403/422/400) and a
 * small simulated controller that turns a Deployment's replicas into pods,
 * EndpointSlices and status.
 *
 * Pods can be backed by real processes: `runPod` is called for each new pod
 * and may return the loopback address of something the test started; the
 * stand-in then probes the pod's httpGet readiness probe there (as the kubelet
 * would) before marking the pod Ready. This is not a live cluster: scheduling,
 * admission, RBAC evaluation and most defaulting are absent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type Cause,
  isDns1123Label,
  validateDeployment,
  validateEndpointSlice,
  validateNamespace,
  validateScale,
  validateSecret,
  validateService,
} from './validation.js';

type Obj = Record<string, any>;

/** What a test-started pod process looks like to the stand-in. */
export interface PodAddress {
  ip: string;
  /** Port the container's 8080 is reachable on (per pod, so per EndpointSlice). */
  port: number;
}

export interface ApiServerOptions {
  /** Called when the simulated controller creates a pod. Return where it listens. */
  runPod?: (pod: Obj) => Promise<PodAddress | undefined>;
  /** Called when a pod is deleted. */
  stopPod?: (pod: Obj) => Promise<void>;
  /** Requests into these namespaces answer 403 Forbidden. Default ['kube-system']. */
  forbiddenNamespaces?: string[];
  /** Namespaces present at start. Default ['default', 'kube-system', 'openfaas', 'openfaas-fn']. */
  namespaces?: string[];
  /** Labels for the initial namespaces by name. */
  namespaceLabels?: Record<string, Record<string, string>>;
  /** Foreground deletion: how long a deleted Deployment stays (marked) after its pods are gone (ms). Default 0 (next tick). */
  gcDelayMs?: number;
  /** RBAC stand-in: return false to answer 403 Forbidden. */
  authorize?: (a: { verb: string; resource: string; subresource?: string; namespace?: string; name?: string }) => boolean;
  /** How long the kubelet probe may take to succeed (ms). Default 20 s. */
  readinessTimeoutMs?: number;
  /** Interval of BOOKMARK events on watches that ask for them (ms). Default 500. */
  bookmarkIntervalMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

type Resource = 'namespaces' | 'deployments' | 'services' | 'secrets' | 'pods' | 'endpointslices';

interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: Record<Resource, ResourceInfo> = {
  namespaces: { group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', namespaced: true },
  services: { group: '', version: 'v1', kind: 'Service', namespaced: true },
  secrets: { group: '', version: 'v1', kind: 'Secret', namespaced: true },
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', namespaced: true },
};

const apiVersionOf = (r: Resource) => (RESOURCES[r].group ? `${RESOURCES[r].group}/${RESOURCES[r].version}` : RESOURCES[r].version);
const groupResource = (r: Resource) => (RESOURCES[r].group ? `${r}.${RESOURCES[r].group}` : r);

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

interface WatchEvent {
  rv: number;
  resource: Resource;
  namespace: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  resource: Resource;
  namespace: string | undefined;
  selector: (labels: Obj | undefined) => boolean;
  res: ServerResponse;
  bookmarkTimer?: NodeJS.Timeout;
}

interface LogLine {
  time: Date;
  text: string;
}

interface PodRuntime {
  address?: PodAddress;
  ready: boolean;
  logs: LogLine[];
  followers: Set<(l: LogLine | null) => void>;
}

/** Parse a label selector (=, ==, !=, in, notin, exists, !exists). */
export function parseLabelSelector(sel: string | undefined): (labels: Obj | undefined) => boolean {
  if (!sel) return () => true;
  const terms: Array<(l: Obj) => boolean> = [];
  for (const raw of sel.split(/,(?![^(]*\))/)) {
    const term = raw.trim();
    if (!term) continue;
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/))) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      terms.push(op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if ((m = term.match(/^(\S+)\s+(in|notin)\s+\((.*)\)$/))) {
      const [, k, op, list] = m as unknown as [string, string, string, string];
      const vals = list.split(',').map((s) => s.trim());
      terms.push(op === 'in' ? (l) => vals.includes(l[k]) : (l) => !vals.includes(l[k]));
    } else if (term.startsWith('!')) {
      const k = term.slice(1);
      terms.push((l) => !(k in l));
    } else {
      terms.push((l) => term in l);
    }
  }
  return (labels) => terms.every((f) => f(labels ?? {}));
}

function clone<T>(o: T): T {
  return structuredClone(o);
}

function podTemplateHash(template: Obj): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly store = new Map<Resource, Map<string, Obj>>();
  private readonly history: WatchEvent[] = [];
  /** Watches asking for an older resourceVersion than this get 410 Gone. */
  private oldestRv = 1;
  private rv = 1;
  private readonly watchers = new Set<Watcher>();
  private readonly runtime = new Map<string, PodRuntime>();
  private readonly forbidden: Set<string>;
  private readonly reconciling = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  private ipCounter = 1;
  url = '';

  constructor(private readonly opts: ApiServerOptions = {}) {
    for (const r of Object.keys(RESOURCES) as Resource[]) this.store.set(r, new Map());
    this.forbidden = new Set(opts.forbiddenNamespaces ?? ['kube-system']);
    for (const ns of opts.namespaces ?? ['default', 'kube-system', 'openfaas', 'openfaas-fn']) {
      this.put('namespaces', '', this.stamp('namespaces', { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, ...opts.namespaceLabels?.[ns] } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }), 'ADDED');
    }
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendStatus(res, err instanceof StatusError ? err : new StatusError(500, 'InternalError', String(err)));
        else res.destroy();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeWatches();
    for (const rt of this.runtime.values()) for (const f of rt.followers) f(null);
    const pods = [...this.store.get('pods')!.values()];
    await Promise.allSettled(pods.map((p) => this.opts.stopPod?.(p)));
    await Promise.allSettled([...this.pending]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- test hooks -------------------------------------------------------

  /** End every open watch stream (clients must reconnect). */
  closeWatches(): void {
    for (const w of this.watchers) this.endWatch(w);
  }

  /** Forget watch history: reconnects with an older resourceVersion get 410 Gone and must re-list. */
  compactHistory(): void {
    // as if other writes happened in etcd and were compacted away: every
    // resourceVersion handed out so far becomes too old to watch from
    this.rv += 1;
    this.oldestRv = this.rv + 1;
    this.history.length = 0;
  }

  /** Number of open watch streams (optionally for one resource). */
  watchCount(resource?: Resource): number {
    return [...this.watchers].filter((w) => !resource || w.resource === resource).length;
  }

  /** Append a line to a pod's log (followers get it at once). */
  appendPodLog(namespace: string, pod: string, text: string, time = new Date()): void {
    const rt = this.runtime.get(`${namespace}/${pod}`);
    if (!rt) throw new Error(`no pod ${namespace}/${pod}`);
    const line = { time, text };
    rt.logs.push(line);
    for (const f of rt.followers) f(line);
  }

  /** Current stored object (a copy), or undefined. */
  get(resource: Resource, namespace: string, name: string): Obj | undefined {
    const o = this.store.get(resource)!.get(`${namespace}/${name}`);
    return o && clone(o);
  }

  list(resource: Resource, namespace?: string): Obj[] {
    return [...this.store.get(resource)!.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(clone);
  }

  /** Mark a pod not ready / ready (simulates a failing probe). */
  setPodReady(namespace: string, pod: string, ready: boolean): void {
    const rt = this.runtime.get(`${namespace}/${pod}`);
    if (!rt) throw new Error(`no pod ${namespace}/${pod}`);
    rt.ready = ready;
    this.updatePodStatus(namespace, pod);
  }

  // ---- storage -----------------------------------------------------------

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private stamp(resource: Resource, obj: Obj, namespace = ''): Obj {
    const info = RESOURCES[resource];
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = info.kind;
    obj.metadata = { ...obj.metadata };
    if (info.namespaced) obj.metadata.namespace = namespace;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = nowIso();
    return obj;
  }

  private put(resource: Resource, ns: string, obj: Obj, type: WatchEvent['type']): Obj {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    const map = this.store.get(resource)!;
    if (type === 'DELETED') map.delete(this.key(ns, obj.metadata.name));
    else map.set(this.key(ns, obj.metadata.name), obj);
    const ev: WatchEvent = { rv: this.rv, resource, namespace: ns, type, object: clone(obj) };
    this.history.push(ev);
    if (this.history.length > 10_000) {
      this.history.splice(0, 5_000);
      this.oldestRv = this.history[0]!.rv;
    }
    for (const w of this.watchers) this.deliver(w, ev);
    return obj;
  }

  private deliver(w: Watcher, ev: WatchEvent): void {
    if (w.resource !== ev.resource) return;
    if (w.namespace !== undefined && w.namespace !== ev.namespace) return;
    if (!w.selector(ev.object.metadata?.labels)) return;
    w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  }

  private endWatch(w: Watcher): void {
    if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
    this.watchers.delete(w);
    w.res.end();
  }

  // ---- HTTP -------------------------------------------------------------

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const data = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  }

  private sendStatus(res: ServerResponse, e: StatusError): void {
    this.sendJson(res, e.code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: e.message,
      reason: e.reason,
      ...(e.details ? { details: e.details } : {}),
      code: e.code,
    });
  }

  private async readBody(req: IncomingMessage): Promise<Obj> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Obj;
    } catch (err) {
      throw new StatusError(400, 'BadRequest', `the body of the request was in an unknown format: ${String(err)}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query });
    if (this.closed) throw new StatusError(503, 'ServiceUnavailable', 'shutting down');

    if (url.pathname === '/version') {
      return this.sendJson(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0-faas-ts-standin', platform: 'linux/amd64' });
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('ok');
    }

    const route = this.route(url.pathname);
    if (!route) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const { resource, namespace, name, sub } = route;
    const verb = this.verb(method, name, query.watch === 'true' || query.watch === '1');
    if (namespace !== undefined && this.forbidden.has(namespace)) {
      const g = RESOURCES[resource].group;
      throw new StatusError(
        403,
        'Forbidden',
        `${groupResource(resource)}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:openfaas:faas-ts-controller" cannot ${verb} resource "${resource}${sub ? `/${sub}` : ''}" in API group "${g}" in the namespace "${namespace}"`,
        { name, group: g, kind: resource },
      );
    }
    if (this.opts.authorize && !this.opts.authorize({ verb, resource, subresource: sub, namespace, name })) {
      const g = RESOURCES[resource].group;
      const scope = namespace !== undefined ? `in the namespace "${namespace}"` : 'at the cluster scope';
      throw new StatusError(403, 'Forbidden', `${groupResource(resource)}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:openfaas:faas-ts-controller" cannot ${verb} resource "${resource}${sub ? `/${sub}` : ''}" in API group "${g}" ${scope}`, { name, group: g, kind: resource });
    }
    if (resource === 'namespaces' && name && this.forbidden.has(name) && method !== 'GET') {
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: User "system:serviceaccount:openfaas:faas-ts-controller" cannot ${verb} resource "namespaces" in API group "" at the cluster scope`, { name, kind: 'namespaces' });
    }

    if (sub === 'log') return this.podLog(res, namespace!, name!, query, req);
    if (sub === 'scale') return this.scale(req, res, namespace!, name!, method);
    if (sub) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');

    if (!name) {
      if (method === 'GET' && verb === 'watch') return this.watch(req, res, resource, namespace, query);
      if (method === 'GET') return this.sendJson(res, 200, this.listBody(resource, namespace, query));
      if (method === 'POST') return this.create(req, res, resource, namespace, query);
      throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
    if (method === 'GET') return this.sendJson(res, 200, this.mustGet(resource, namespace ?? '', name));
    if (method === 'PUT') return this.replace(req, res, resource, namespace ?? '', name, query);
    if (method === 'DELETE') return this.remove(res, resource, namespace ?? '', name, query);
    throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  private verb(method: string, name: string | undefined, watch: boolean): string {
    if (method === 'GET') return watch ? 'watch' : name ? 'get' : 'list';
    return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
  }

  private route(path: string): { resource: Resource; namespace?: string; name?: string; sub?: string } | undefined {
    const parts = path.split('/').filter(Boolean);
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
    else if (parts[0] === 'apis' && parts.length >= 3) {
      const group = parts[1];
      rest = parts.slice(3);
      const resourceName = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : rest[0];
      const r = resourceName as Resource;
      if (!(r in RESOURCES) || RESOURCES[r].group !== group || RESOURCES[r].version !== parts[2]) return undefined;
    } else return undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const resource = rest[2] as Resource;
      if (!(resource in RESOURCES) || !RESOURCES[resource].namespaced) return undefined;
      if ((parts[0] === 'api') !== (RESOURCES[resource].group === '')) return undefined;
      return { resource, namespace: decodeURIComponent(rest[1]!), name: rest[3] && decodeURIComponent(rest[3]), sub: rest[4] };
    }
    const resource = rest[0] as Resource;
    if (!(resource in RESOURCES)) return undefined;
    if ((parts[0] === 'api') !== (RESOURCES[resource].group === '')) return undefined;
    if (resource === 'namespaces') return { resource, name: rest[1] && decodeURIComponent(rest[1]), sub: rest[2] };
    if (rest.length > 1) return undefined;
    return { resource }; // all-namespaces list/watch
  }

  private notFound(resource: Resource, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${groupResource(resource)} "${name}" not found`, { name, group: RESOURCES[resource].group, kind: resource });
  }

  private mustGet(resource: Resource, ns: string, name: string): Obj {
    const o = this.store.get(resource)!.get(this.key(ns, name));
    if (!o) throw this.notFound(resource, name);
    return o;
  }

  private requireNamespace(ns: string): void {
    if (!this.store.get('namespaces')!.has(this.key('', ns))) throw this.notFound('namespaces', ns);
  }

  private listBody(resource: Resource, namespace: string | undefined, query: Record<string, string>): Obj {
    const sel = parseLabelSelector(query.labelSelector);
    const items = [...this.store.get(resource)!.values()].filter(
      (o) => (namespace === undefined || o.metadata.namespace === namespace) && sel(o.metadata.labels),
    );
    return { kind: `${RESOURCES[resource].kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(this.rv) }, items };
  }

  private validate(resource: Resource, obj: Obj, old?: Obj): void {
    const causes: Cause[] =
      resource === 'deployments' ? validateDeployment(obj, old)
      : resource === 'services' ? validateService(obj, old)
      : resource === 'secrets' ? validateSecret(obj)
      : resource === 'namespaces' ? validateNamespace(obj)
      : resource === 'endpointslices' ? validateEndpointSlice(obj)
      : [];
    if (causes.length > 0) {
      const name = obj.metadata?.name ?? '';
      throw new StatusError(
        422,
        'Invalid',
        `${RESOURCES[resource].kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        { name, group: RESOURCES[resource].group, kind: RESOURCES[resource].kind, causes },
      );
    }
  }

  private checkBodyMeta(resource: Resource, body: Obj, namespace: string | undefined): void {
    if (body.kind !== undefined && body.kind !== RESOURCES[resource].kind) {
      throw new StatusError(400, 'BadRequest', `the kind of the provided object (${body.kind}) does not match the resource (${RESOURCES[resource].kind})`);
    }
    if (namespace !== undefined && body.metadata?.namespace && body.metadata.namespace !== namespace) {
      throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  private defaults(resource: Resource, obj: Obj): void {
    if (resource === 'deployments') {
      const s = (obj.spec ??= {});
      s.replicas ??= 1;
      s.revisionHistoryLimit ??= 10;
      s.progressDeadlineSeconds ??= 600;
      s.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      const ps = (s.template ??= {}).spec ?? {};
      ps.restartPolicy ??= 'Always';
      ps.dnsPolicy ??= 'ClusterFirst';
      ps.terminationGracePeriodSeconds ??= 30;
      for (const c of (ps.containers ?? []) as Obj[]) {
        c.terminationMessagePath ??= '/dev/termination-log';
        c.imagePullPolicy ??= String(c.image ?? '').endsWith(':latest') || !String(c.image ?? '').includes(':') ? 'Always' : 'IfNotPresent';
      }
      obj.status ??= {};
    } else if (resource === 'services') {
      const s = (obj.spec ??= {});
      s.type ??= 'ClusterIP';
      s.sessionAffinity ??= 'None';
      s.clusterIP ??= `10.96.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter++ % 250) + 1}`;
      for (const p of (s.ports ?? []) as Obj[]) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
    } else if (resource === 'secrets') {
      obj.type ??= 'Opaque';
      if (obj.stringData) {
        obj.data = { ...obj.data };
        for (const [k, v] of Object.entries(obj.stringData as Obj)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
    } else if (resource === 'namespaces') {
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    }
  }

  private async create(req: IncomingMessage, res: ServerResponse, resource: Resource, namespace: string | undefined, query: Record<string, string>): Promise<void> {
    const body = await this.readBody(req);
    this.checkBodyMeta(resource, body, namespace);
    if (RESOURCES[resource].namespaced) {
      if (namespace === undefined) throw new StatusError(405, 'MethodNotAllowed', 'create needs a namespace');
      this.requireNamespace(namespace);
    }
    const ns = namespace ?? '';
    const obj = clone(body);
    obj.metadata = { ...obj.metadata };
    delete obj.metadata.resourceVersion;
    delete obj.metadata.uid;
    delete obj.metadata.creationTimestamp;
    delete obj.status;
    this.defaults(resource, obj);
    this.validate(resource, obj);
    const name = obj.metadata.name as string;
    if (this.store.get(resource)!.has(this.key(ns, name))) {
      throw new StatusError(409, 'AlreadyExists', `${groupResource(resource)} "${name}" already exists`, { name, group: RESOURCES[resource].group, kind: resource });
    }
    if (query.dryRun === 'All') return this.sendJson(res, 201, obj);
    const stamped = this.stamp(resource, obj, ns);
    if (resource === 'deployments') stamped.metadata.generation = 1;
    this.put(resource, ns, stamped, 'ADDED');
    this.sendJson(res, 201, stamped);
    this.afterWrite(resource, ns, name);
  }

  private async replace(req: IncomingMessage, res: ServerResponse, resource: Resource, ns: string, name: string, query: Record<string, string>): Promise<void> {
    const body = await this.readBody(req);
    this.checkBodyMeta(resource, body, RESOURCES[resource].namespaced ? ns : undefined);
    if (body.metadata?.name !== name) {
      throw new StatusError(400, 'BadRequest', `the name of the object (${String(body.metadata?.name)}) does not match the name on the URL (${name})`);
    }
    const old = this.mustGet(resource, ns, name);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${groupResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: RESOURCES[resource].group, kind: resource });
    }
    const obj = clone(body);
    obj.metadata = { ...obj.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, namespace: old.metadata.namespace };
    if (resource === 'services' && obj.spec && !obj.spec.clusterIP) obj.spec.clusterIP = old.spec.clusterIP;
    obj.status = old.status;
    this.defaults(resource, obj);
    this.validate(resource, obj, old);
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = RESOURCES[resource].kind;
    if (resource === 'deployments') {
      obj.metadata.generation = (old.metadata.generation ?? 1) + (JSON.stringify(old.spec) === JSON.stringify(obj.spec) ? 0 : 1);
    }
    if (query.dryRun === 'All') return this.sendJson(res, 200, obj);
    this.put(resource, ns, obj, 'MODIFIED');
    this.sendJson(res, 200, obj);
    this.afterWrite(resource, ns, name);
  }

  private remove(res: ServerResponse, resource: Resource, ns: string, name: string, query: Record<string, string>): void {
    const old = this.mustGet(resource, ns, name);
    if (query.dryRun === 'All') return this.sendJson(res, 200, old);
    if (resource === 'deployments' && query.propagationPolicy === 'Foreground') {
      // Foreground: the object stays, marked, until the garbage collector has
      // removed its dependents (pods), then goes.
      if (old.metadata.deletionTimestamp) return this.sendJson(res, 200, old);
      const marked = { ...old, metadata: { ...old.metadata, deletionTimestamp: nowIso(), finalizers: ['foregroundDeletion'] } };
      this.put(resource, ns, marked, 'MODIFIED');
      for (const p of this.podsOf(ns, name)) this.deletePod(ns, p);
      this.syncSlices(ns);
      const finish = () => {
        const cur = this.store.get(resource)!.get(this.key(ns, name));
        if (cur && cur.metadata.uid === old.metadata.uid) this.deleteObject(resource, ns, cur);
      };
      const delay = this.opts.gcDelayMs ?? 0;
      if (delay > 0) setTimeout(finish, delay).unref();
      else setImmediate(finish);
      return this.sendJson(res, 200, marked);
    }
    this.deleteObject(resource, ns, old);
    this.sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: RESOURCES[resource].group, kind: resource, uid: old.metadata.uid } });
  }

  private deleteObject(resource: Resource, ns: string, old: Obj): void {
    const name = old.metadata.name as string;
    this.put(resource, ns, { ...old, metadata: { ...old.metadata, deletionTimestamp: nowIso() } }, 'DELETED');
    if (resource === 'namespaces') {
      for (const r of Object.keys(RESOURCES) as Resource[]) {
        if (!RESOURCES[r].namespaced) continue;
        for (const o of [...this.store.get(r)!.values()]) if (o.metadata.namespace === name) this.deleteObject(r, name, o);
      }
    } else if (resource === 'deployments') {
      for (const p of this.podsOf(ns, name)) this.deletePod(ns, p);
      this.syncSlices(ns);
    } else if (resource === 'pods') {
      const rt = this.runtime.get(this.key(ns, name));
      this.runtime.delete(this.key(ns, name));
      for (const f of rt?.followers ?? []) f(null);
      this.track(this.opts.stopPod?.(old));
    } else if (resource === 'services') {
      this.syncSlices(ns);
    }
  }

  private afterWrite(resource: Resource, ns: string, name: string): void {
    if (resource === 'deployments') this.reconcile(ns, name);
    if (resource === 'services') this.syncSlices(ns);
  }

  // ---- scale subresource -------------------------------------------------

  private scaleOf(d: Obj): Obj {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: d.metadata.name, namespace: d.metadata.namespace, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
      spec: { replicas: d.spec.replicas },
      status: {
        replicas: d.status?.replicas ?? 0,
        selector: Object.entries(d.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
      },
    };
  }

  private async scale(req: IncomingMessage, res: ServerResponse, ns: string, name: string, method: string): Promise<void> {
    const route = this.mustGet('deployments', ns, name);
    if (method === 'GET') return this.sendJson(res, 200, this.scaleOf(route));
    if (method !== 'PUT') throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const body = await this.readBody(req);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new StatusError(400, 'BadRequest', `the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const causes = validateScale(body);
    if (causes.length > 0) {
      throw new StatusError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { name, group: 'autoscaling', kind: 'Scale', causes });
    }
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== route.metadata.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: 'apps', kind: 'deployments' });
    }
    const d = clone(route);
    const replicas = body.spec?.replicas ?? 0;
    if (d.spec.replicas !== replicas) {
      d.spec.replicas = replicas;
      d.metadata.generation = (d.metadata.generation ?? 1) + 1;
    }
    this.put('deployments', ns, d, 'MODIFIED');
    this.sendJson(res, 200, this.scaleOf(d));
    this.reconcile(ns, name);
  }

  // ---- watch --------------------------------------------------------------

  private watch(req: IncomingMessage, res: ServerResponse, resource: Resource, namespace: string | undefined, query: Record<string, string>): void {
    const selector = parseLabelSelector(query.labelSelector);
    const from = query.resourceVersion ? Number(query.resourceVersion) : 0;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from !== 0 && from + 1 < this.oldestRv) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.oldestRv - 1})`, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    const w: Watcher = { resource, namespace, selector, res };
    if (from === 0) {
      for (const o of this.store.get(resource)!.values()) {
        if ((namespace === undefined || o.metadata.namespace === namespace) && selector(o.metadata.labels)) {
          res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
        }
      }
    } else {
      for (const ev of this.history) if (ev.rv > from) this.deliver(w, ev);
    }
    this.watchers.add(w);
    if (query.allowWatchBookmarks === 'true') {
      w.bookmarkTimer = setInterval(() => {
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: RESOURCES[resource].kind, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(this.rv) } } })}\n`);
      }, this.opts.bookmarkIntervalMs ?? 500);
    }
    const timeout = Number(query.timeoutSeconds);
    if (timeout > 0) {
      const t = setTimeout(() => this.endWatch(w), timeout * 1000);
      res.on('close', () => clearTimeout(t));
    }
    req.on('close', () => {
      if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
      this.watchers.delete(w);
    });
  }

  // ---- pods/log -----------------------------------------------------------

  private podLog(res: ServerResponse, ns: string, name: string, query: Record<string, string>, req: IncomingMessage): void {
    const pod = this.mustGet('pods', ns, name);
    const containers = ((pod.spec?.containers ?? []) as Obj[]).map((c) => c.name as string);
    if (query.container && !containers.includes(query.container)) {
      throw new StatusError(400, 'BadRequest', `container ${query.container} is not valid for pod ${name}`);
    }
    if (!query.container && containers.length > 1) {
      throw new StatusError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    if (query.sinceSeconds && query.sinceTime) throw new StatusError(422, 'Invalid', 'at most one of `sinceTime` or `sinceSeconds` may be specified');
    const rt = this.runtime.get(this.key(ns, name))!;
    const since = query.sinceTime ? Date.parse(query.sinceTime) : query.sinceSeconds ? Date.now() - Number(query.sinceSeconds) * 1000 : -Infinity;
    let lines = rt.logs.filter((l) => l.time.getTime() >= since);
    const tail = query.tailLines !== undefined ? Number(query.tailLines) : -1;
    if (tail >= 0) lines = lines.slice(Math.max(0, lines.length - tail));
    const fmt = (l: LogLine) => (query.timestamps === 'true' ? `${l.time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')} ${l.text}\n` : `${l.text}\n`);
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    for (const l of lines) res.write(fmt(l));
    if (query.follow !== 'true') return void res.end();
    const follower = (l: LogLine | null) => {
      if (l === null) {
        rt.followers.delete(follower);
        res.end();
      } else res.write(fmt(l));
    };
    rt.followers.add(follower);
    req.on('close', () => rt.followers.delete(follower));
  }

  // ---- simulated controller ---------------------------------------------

  private track(p: Promise<unknown> | undefined): void {
    if (!p) return;
    const q = p.catch(() => undefined);
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  private podsOf(ns: string, deployment: string): Obj[] {
    return [...this.store.get('pods')!.values()].filter(
      (p) => p.metadata.namespace === ns && p.metadata.ownerReferences?.[0]?.name === deployment,
    );
  }

  private deletePod(ns: string, pod: Obj): void {
    if (this.store.get('pods')!.has(this.key(ns, pod.metadata.name))) this.deleteObject('pods', ns, pod);
  }

  /** Drive pods toward the Deployment's desired state (maxUnavailable 0 style). */
  private reconcile(ns: string, name: string): void {
    const key = this.key(ns, name);
    if (this.reconciling.has(key)) return;
    this.reconciling.add(key);
    try {
      const d = this.store.get('deployments')!.get(key);
      if (!d || d.metadata.deletionTimestamp) return;
      const hash = podTemplateHash(d.spec.template);
      const pods = this.podsOf(ns, name);
      const current = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
      const old = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash);
      const desired = d.spec.replicas as number;
      for (let i = current.length; i < desired; i++) this.createPod(ns, d, hash);
      if (current.length > desired) {
        const ranked = [...current].sort((a, b) => Number(this.isReady(a)) - Number(this.isReady(b)) || b.metadata.name.localeCompare(a.metadata.name));
        for (const p of ranked.slice(0, current.length - desired)) this.deletePod(ns, p);
      }
      const readyCurrent = this.podsOf(ns, name).filter((p) => p.metadata.labels?.['pod-template-hash'] === hash && this.isReady(p)).length;
      let keepOld = Math.max(0, desired - readyCurrent);
      for (const p of [...old].sort((a, b) => Number(this.isReady(b)) - Number(this.isReady(a)))) {
        if (keepOld > 0 && this.isReady(p)) keepOld--;
        else this.deletePod(ns, p);
      }
      this.updateDeploymentStatus(ns, name, hash);
      this.syncSlices(ns);
    } finally {
      this.reconciling.delete(key);
    }
  }

  private isReady(pod: Obj): boolean {
    return this.runtime.get(this.key(pod.metadata.namespace, pod.metadata.name))?.ready === true;
  }

  private updateDeploymentStatus(ns: string, name: string, hash: string): void {
    const d = this.store.get('deployments')!.get(this.key(ns, name));
    if (!d) return;
    const pods = this.podsOf(ns, name);
    const ready = pods.filter((p) => this.isReady(p)).length;
    const status: Obj = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash).length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, d.spec.replicas - ready),
    };
    for (const k of Object.keys(status)) if (status[k] === 0) delete status[k];
    status.conditions = [{ type: 'Available', status: ready >= d.spec.replicas ? 'True' : 'False', reason: ready >= d.spec.replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' }];
    if (JSON.stringify(d.status) === JSON.stringify(status)) return;
    this.put('deployments', ns, { ...d, status }, 'MODIFIED');
  }

  private createPod(ns: string, d: Obj, hash: string): void {
    const suffix = Math.random().toString(36).slice(2, 7).padEnd(5, 'x');
    const name = `${d.metadata.name}-${hash}-${suffix}`;
    const ip = `10.244.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter++ % 250) + 1}`;
    const pod = this.stamp(
      'pods',
      {
        metadata: {
          name,
          labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
          annotations: { ...d.spec.template.metadata?.annotations },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: d.metadata.name, uid: d.metadata.uid, controller: true }],
        },
        spec: { ...clone(d.spec.template.spec), nodeName: 'standin-node' },
        status: { phase: 'Pending', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'False' }] },
      },
      ns,
    );
    const rt: PodRuntime = { ready: false, logs: [], followers: new Set() };
    this.runtime.set(this.key(ns, name), rt);
    this.put('pods', ns, pod, 'ADDED');
    this.track(this.startPod(ns, pod, rt));
  }

  private async startPod(ns: string, pod: Obj, rt: PodRuntime): Promise<void> {
    const name = pod.metadata.name as string;
    const alive = () => this.runtime.get(this.key(ns, name)) === rt && !this.closed;
    let address: PodAddress | undefined;
    if (this.opts.runPod) {
      try {
        address = await this.opts.runPod(clone(pod));
      } catch {
        return; // the pod never starts (CrashLoop, in a real cluster)
      }
      if (!alive()) {
        await this.opts.stopPod?.(pod);
        return;
      }
    }
    rt.address = address;
    const probe = (pod.spec.containers?.[0] as Obj | undefined)?.readinessProbe?.httpGet as Obj | undefined;
    if (address && probe) {
      const deadline = Date.now() + (this.opts.readinessTimeoutMs ?? 20_000);
      for (;;) {
        if (!alive()) return;
        try {
          const r = await fetch(`http://${address.ip}:${address.port}${probe.path ?? '/'}`);
          await r.arrayBuffer();
          if (r.status >= 200 && r.status < 400) break;
        } catch {
          // not up yet
        }
        if (Date.now() > deadline) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (!alive()) return;
    rt.ready = true;
    this.updatePodStatus(ns, name);
  }

  private updatePodStatus(ns: string, name: string): void {
    const pod = this.store.get('pods')!.get(this.key(ns, name));
    const rt = this.runtime.get(this.key(ns, name));
    if (!pod || !rt) return;
    const status = {
      ...pod.status,
      phase: 'Running',
      podIP: rt.address?.ip ?? pod.status.podIP,
      podIPs: [{ ip: rt.address?.ip ?? pod.status.podIP }],
      startTime: pod.status.startTime ?? nowIso(),
      conditions: [{ type: 'Ready', status: rt.ready ? 'True' : 'False' }],
    };
    this.put('pods', ns, { ...pod, status }, 'MODIFIED');
    const owner = pod.metadata.ownerReferences?.[0]?.name as string | undefined;
    if (owner) this.reconcile(ns, owner);
  }

  /** One EndpointSlice per (Service, pod): pods may listen on different loopback ports. */
  private syncSlices(ns: string): void {
    const services = [...this.store.get('services')!.values()].filter((s) => s.metadata.namespace === ns && s.spec.selector);
    const pods = [...this.store.get('pods')!.values()].filter((p) => p.metadata.namespace === ns && p.status.phase === 'Running');
    const want = new Map<string, Obj>();
    for (const svc of services) {
      const sel = svc.spec.selector as Obj;
      const svcPort = (svc.spec.ports?.[0] ?? {}) as Obj;
      for (const p of pods) {
        if (!Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v)) continue;
        const rt = this.runtime.get(this.key(ns, p.metadata.name));
        const podSuffix = String(p.metadata.name).split('-').pop();
        const sliceName = `${svc.metadata.name}-${podSuffix}`;
        want.set(sliceName, {
          metadata: {
            name: sliceName,
            labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true }],
          },
          addressType: 'IPv4',
          endpoints: [
            {
              addresses: [rt?.address?.ip ?? p.status.podIP],
              conditions: { ready: rt?.ready === true, serving: rt?.ready === true, terminating: false },
              nodeName: 'standin-node',
              targetRef: { kind: 'Pod', name: p.metadata.name, namespace: ns, uid: p.metadata.uid },
            },
          ],
          ports: [{ name: svcPort.name ?? '', port: rt?.address?.port ?? Number(svcPort.targetPort ?? svcPort.port), protocol: 'TCP' }],
        });
      }
    }
    const slices = this.store.get('endpointslices')!;
    for (const s of [...slices.values()]) {
      if (s.metadata.namespace === ns && !want.has(s.metadata.name)) this.deleteObject('endpointslices', ns, s);
    }
    for (const [name, s] of want) {
      const cur = slices.get(this.key(ns, name));
      if (!cur) this.put('endpointslices', ns, this.stamp('endpointslices', s, ns), 'ADDED');
      else if (JSON.stringify({ e: cur.endpoints, p: cur.ports }) !== JSON.stringify({ e: s.endpoints, p: s.ports })) {
        this.put('endpointslices', ns, { ...cur, endpoints: s.endpoints, ports: s.ports }, 'MODIFIED');
      }
    }
  }
}

/** Start a stand-in on 127.0.0.1:0. */
export async function startFakeApiServer(opts: ApiServerOptions = {}): Promise<FakeApiServer> {
  const s = new FakeApiServer(opts);
  await s.listen();
  return s;
}

export { isDns1123Label };
