/**
 * Persisted desired state, one JSON file per object, written atomically:
 *
 *   <dataDir>/state/functions/<namespace>/<name>.json   { spec, createdAt, replicas }
 *   <dataDir>/state/namespaces/<name>.json              FunctionNamespace
 *
 * The default namespace always exists and is never written.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FunctionDeployment, FunctionNamespace } from '../provider/index.js';
import { isErrno, readJsonIfExists, writeJsonAtomic } from './fs-util.js';

export interface FunctionRecord {
  /** The deployment as received, with `namespace` filled in. */
  spec: FunctionDeployment;
  /** RFC 3339, set on first deploy and kept by updates. */
  createdAt: string;
  /** Desired replicas. */
  replicas: number;
}

async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

export class StateStore {
  /**
   * `onUnreadable` hears about a state file that exists but does not parse
   * (a disk or power fault): it is skipped, so one bad file cannot keep the
   * provider, and every other function, from starting.
   */
  constructor(
    readonly root: string,
    private readonly onUnreadable: (path: string, err: Error) => void = () => undefined,
  ) {}

  private async read<T>(path: string): Promise<T | undefined> {
    try {
      return await readJsonIfExists<T>(path);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      this.onUnreadable(path, err);
      return undefined;
    }
  }

  private fnPath(namespace: string, name: string): string {
    return join(this.root, 'functions', namespace, `${name}.json`);
  }

  private nsPath(name: string): string {
    return join(this.root, 'namespaces', `${name}.json`);
  }

  saveFunction(record: FunctionRecord): Promise<void> {
    return writeJsonAtomic(this.fnPath(record.spec.namespace!, record.spec.service), record);
  }

  async deleteFunction(namespace: string, name: string): Promise<void> {
    await rm(this.fnPath(namespace, name), { force: true });
  }

  async loadFunctions(): Promise<FunctionRecord[]> {
    const out: FunctionRecord[] = [];
    let namespaces: string[];
    try {
      namespaces = await readdir(join(this.root, 'functions'));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    for (const ns of namespaces) {
      for (const name of await listJson(join(this.root, 'functions', ns))) {
        const rec = await this.read<FunctionRecord>(this.fnPath(ns, name));
        if (rec?.spec?.service && rec.spec.image) out.push({ ...rec, spec: { ...rec.spec, namespace: ns } });
      }
    }
    return out;
  }

  saveNamespace(ns: FunctionNamespace): Promise<void> {
    return writeJsonAtomic(this.nsPath(ns.name), ns);
  }

  async deleteNamespace(name: string): Promise<void> {
    await rm(this.nsPath(name), { force: true });
  }

  async loadNamespaces(): Promise<FunctionNamespace[]> {
    const out: FunctionNamespace[] = [];
    for (const name of await listJson(join(this.root, 'namespaces'))) {
      const ns = await this.read<FunctionNamespace>(this.nsPath(name));
      if (ns) out.push({ ...ns, name });
    }
    return out;
  }
}
