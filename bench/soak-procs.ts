/**
 * /proc helpers for bench/soak.ts: the process tree under a `faas-ts up`
 * process, what each process is (the `up` process itself, a replica's
 * watchdog, the function process a watchdog started) and its RSS. Linux only.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { killGroup } from '../test/helpers.js';

export type ProcKind = 'up' | 'watchdog' | 'function';

export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly kind: ProcKind;
  /** Function name (from the bundle folder the replica runs in); '' for `up`. */
  readonly fn: string;
  readonly rssKb: number;
}

function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may contain spaces
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z') return undefined; // zombie: already dead
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  return ppidOf(pid) !== undefined;
}

/** `bundles/hello-node_latest` → `hello-node` (stack images are all `:latest`). */
function fnOf(pid: number): string {
  try {
    return basename(readlinkSync(`/proc/${pid}/cwd`)).replace(/_latest$/, '');
  } catch {
    return '?';
  }
}

/** Every live process below `rootPid` (and the root itself), classified, with RSS. */
export function processTree(rootPid: number, watchdogMarker: string): ProcInfo[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = ppidOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: ProcInfo[] = [];
  const rootRss = rssKb(rootPid);
  if (rootRss === undefined || ppidOf(rootPid) === undefined) return out;
  out.push({ pid: rootPid, ppid: 0, kind: 'up', fn: '', rssKb: rootRss });
  const visit = (pid: number, parentKind: ProcKind, parentFn: string) => {
    for (const child of children.get(pid) ?? []) {
      const argv = cmdline(child);
      const isWatchdog = argv.includes(watchdogMarker);
      const kind: ProcKind = isWatchdog ? 'watchdog' : parentKind === 'up' ? 'watchdog' : 'function';
      const fn = isWatchdog || parentKind === 'up' ? fnOf(child) : parentFn;
      const rss = rssKb(child);
      if (rss === undefined) continue;
      out.push({ pid: child, ppid: pid, kind, fn, rssKb: rss });
      visit(child, kind, fn);
    }
  };
  visit(rootPid, 'up', '');
  return out;
}

/**
 * Synchronously SIGKILL the `up` process group and every replica group whose
 * pid file is under `<dataDir>/run` and which still runs the watchdog (a
 * recycled pid is left alone). Replicas are detached (own session), so killing
 * the `up` group alone would orphan them.
 */
export function killEverything(
  upPid: number | undefined,
  dataDir: string,
  watchdogMarker: string,
  seen: ReadonlyMap<number, string>,
): void {
  if (upPid) killGroup(upPid);
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 6) walk(p, depth + 1);
      else if (e.isFile() && e.name === 'pid') {
        const pid = Number(readFileSync(p, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 1 && cmdline(pid).includes(watchdogMarker)) killGroup(pid);
      }
    }
  };
  walk(join(dataDir, 'run'), 0);
  // replicas seen during the run (a function process outlives a SIGKILLed
  // watchdog until the provider sweeps the group): only if the pid still runs
  // the same command line
  for (const [pid, argv] of seen) if (cmdline(pid).join(' ') === argv) killGroup(pid);
}
