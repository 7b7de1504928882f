/**
 * Test helper: back the stand-in's pods with real fwatchdog processes on
 * 127.0.0.1. Each pod gets a free port, a private TMPDIR, the container's env
 * from the Deployment plus `imageEnv[image]` (what the image would bake in:
 * mode, fprocess), and its stdout/stderr lines become the pod's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import type { ApiServerOptions, FakeApiServer, PodAddress } from './apiserver.js';

type Obj = Record<string, any>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface WatchdogPods {
  hooks: Required<Pick<ApiServerOptions, 'runPod' | 'stopPod'>>;
  /** Attach the stand-in (for pod logs); call before any pod starts. */
  attach(api: FakeApiServer): void;
  /** Live processes by pod name. */
  readonly running: Map<string, ChildProcess>;
  stopAll(): Promise<void>;
}

export function watchdogPods(watchdogArgv: string[], imageEnv: Record<string, Record<string, string>>): WatchdogPods {
  const running = new Map<string, ChildProcess>();
  const dirs = new Map<string, string>();
  let api: FakeApiServer | undefined;

  const stop = async (name: string) => {
    const child = running.get(name);
    running.delete(name);
    if (child && child.exitCode === null && child.pid) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
    const dir = dirs.get(name);
    dirs.delete(name);
    if (dir) await rm(dir, { recursive: true, force: true });
  };

  const hooks = {
    async runPod(pod: Obj): Promise<PodAddress> {
      const c = pod.spec.containers[0] as Obj;
      const ns = pod.metadata.namespace as string;
      const name = pod.metadata.name as string;
      const port = await freePort();
      const metricsPort = await freePort();
      const dir = await mkdtemp(join(tmpdir(), 'k8s-pod-'));
      dirs.set(name, dir);
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...imageEnv[c.image as string] };
      for (const e of (c.env ?? []) as Obj[]) env[e.name] = e.value ?? '';
      Object.assign(env, { port: String(port), metrics_port: String(metricsPort), bind_address: '127.0.0.1', TMPDIR: dir, HOSTNAME: name });
      const child = spawn(watchdogArgv[0]!, watchdogArgv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      running.set(name, child);
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          try {
            api?.appendPodLog(ns, name, line);
          } catch {
            // pod already deleted
          }
        });
      }
      return { ip: '127.0.0.1', port };
    },
    async stopPod(pod: Obj): Promise<void> {
      await stop(pod.metadata.name as string);
    },
  };
  return {
    hooks,
    running,
    attach(a) {
      api = a;
    },
    async stopAll() {
      await Promise.all([...running.keys(), ...dirs.keys()].map(stop));
    },
  };
}
