/**
 * A list+watch cache of one resource in one namespace (client-go's reflector,
 * restated): list, then watch from the list's resourceVersion; on a clean
 * close re-watch from the last seen resourceVersion; on 410 Gone (history
 * compacted) re-list; on errors retry after a delay; every `resyncMs` re-list
 * from scratch so a missed event cannot stick. Reads never touch the network.
 */
import type { Watch } from '@kubernetes/client-node';
import type { K8sLogger } from './config.js';

export interface KObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; deletionTimestamp?: unknown; labels?: Record<string, string> };
}

export interface ReflectorOptions<T extends KObject> {
  /** For logs, e.g. `endpointslices/openfaas-fn`. */
  name: string;
  watch: Watch;
  /** Collection path, e.g. `/apis/apps/v1/namespaces/openfaas-fn/deployments`. */
  path: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  labelSelector?: string;
  resyncMs: number;
  retryMs: number;
  logger?: K8sLogger;
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  events: number;
  errors: number;
}

export class Reflector<T extends KObject> {
  private readonly items = new Map<string, T>();
  /** Keys deleted locally; watch ADDED/MODIFIED for them are ignored until their DELETED arrives or a re-list. */
  private readonly tombstones = new Set<string>();
  private rv = '';
  private needList = true;
  private gone = false;
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private syncedResolve!: () => void;
  private readonly syncedPromise: Promise<void>;
  private loop: Promise<void> | undefined;
  private hasSynced = false;
  readonly stats: ReflectorStats = { lists: 0, watches: 0, events: 0, errors: 0 };

  constructor(private readonly o: ReflectorOptions<T>) {
    this.syncedPromise = new Promise((r) => (this.syncedResolve = r));
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    if (this.o.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.o.resyncMs);
      this.resyncTimer.unref();
    }
  }

  /** Resolves after the first successful list. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  /** True once a list has succeeded (reads are then served from the cache). */
  isSynced(): boolean {
    return this.hasSynced;
  }

  /**
   * Wait up to `ms` for the first list. False when it has not succeeded by
   * then (API down, RBAC missing): callers fall back to direct API calls so a
   * failure surfaces as an error instead of a hang.
   */
  async waitSynced(ms: number): Promise<boolean> {
    if (this.hasSynced) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
    await Promise.race([this.syncedPromise, timeout]);
    clearTimeout(timer);
    return this.hasSynced;
  }

  /** Force a re-list now (also what the periodic resync does). */
  resync(): void {
    this.needList = true;
    this.abort?.abort();
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  values(): T[] {
    return [...this.items.values()];
  }

  /** Record our own write at once (the watch event will confirm it). */
  upsertLocal(obj: T): void {
    const k = this.key(obj);
    this.tombstones.delete(k);
    this.items.set(k, obj);
    this.notify();
  }

  deleteLocal(namespace: string, name: string): void {
    const k = `${namespace}/${name}`;
    this.items.delete(k);
    this.tombstones.add(k);
    this.notify();
  }

  /** Called after every change to the cache. */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private key(o: KObject): string {
    return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private onEvent = (phase: string, obj: T & { code?: number }): void => {
    this.stats.events++;
    if (phase === 'ERROR') {
      if (obj.code === 410) this.gone = true;
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.rv = rv;
    if (phase === 'BOOKMARK') return;
    const k = this.key(obj);
    if (phase === 'DELETED') {
      this.items.delete(k);
      this.tombstones.delete(k);
    } else if (phase === 'ADDED' || phase === 'MODIFIED') {
      if (this.tombstones.has(k)) return;
      this.items.set(k, obj);
    }
    this.notify();
  };

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.needList || this.gone) {
        try {
          this.needList = false;
          this.gone = false;
          const list = await this.o.list();
          this.stats.lists++;
          this.items.clear();
          this.tombstones.clear();
          for (const it of list.items) this.items.set(this.key(it), it);
          this.rv = list.metadata?.resourceVersion ?? '';
          this.hasSynced = true;
          this.notify();
          this.syncedResolve();
        } catch (err) {
          this.needList = true;
          this.stats.errors++;
          this.o.logger?.warn({ err: String(err), reflector: this.o.name }, 'list failed; retrying');
          await this.sleep(this.o.retryMs);
          continue;
        }
      }
      const err = await new Promise<unknown>((resolve) => {
        this.stats.watches++;
        const params: Record<string, string | boolean> = { allowWatchBookmarks: true, resourceVersion: this.rv };
        if (this.o.labelSelector) params.labelSelector = this.o.labelSelector;
        this.o.watch.watch(this.o.path, params, this.onEvent as (p: string, o: unknown) => void, resolve).then(
          (ctrl) => {
            this.abort = ctrl;
            if (this.stopped || this.needList) ctrl.abort();
          },
          resolve,
        );
      });
      this.abort = undefined;
      if (this.stopped) break;
      if (this.gone || this.needList) continue;
      const name = (err as { name?: string } | null)?.name;
      if (err && name !== 'TimeoutError' && name !== 'AbortError') {
        this.stats.errors++;
        this.o.logger?.warn({ err: String(err), reflector: this.o.name }, 'watch failed; retrying');
        await this.sleep(this.o.retryMs);
      }
    }
  }
}
