/**
 * Host load sampler: CPU busy fraction (all cores, from the kernel's per-CPU
 * time counters between two samples) and memory used fraction (1 - available
 * / total). Sampled on a timer, never per call: the policy reads the last
 * values, which costs nothing on the invocation path.
 */
import { cpus, freemem, totalmem } from 'node:os';

export interface HostLoad {
  /** CPU busy fraction in [0, 1] over the last interval (0 before the second sample). */
  readonly cpu: number;
  /** Memory used fraction in [0, 1]. */
  readonly memory: number;
}

export interface LoadSampler {
  current(): HostLoad;
  close(): void;
}

interface CpuTotals {
  idle: number;
  total: number;
}

function cpuTotals(): CpuTotals {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Busy fraction between two counter snapshots (0 when no time passed). */
export function busyFraction(prev: CpuTotals, next: CpuTotals): number {
  const total = next.total - prev.total;
  if (total <= 0) return 0;
  const busy = total - (next.idle - prev.idle);
  return Math.min(1, Math.max(0, busy / total));
}

function memoryUsed(): number {
  const total = totalmem();
  return total > 0 ? Math.min(1, Math.max(0, 1 - freemem() / total)) : 0;
}

export function createLoadSampler(intervalMs: number): LoadSampler {
  let prev = cpuTotals();
  let load: HostLoad = { cpu: 0, memory: memoryUsed() };
  const timer = setInterval(() => {
    const next = cpuTotals();
    load = { cpu: busyFraction(prev, next), memory: memoryUsed() };
    prev = next;
  }, intervalMs);
  timer.unref();
  return {
    current: () => load,
    close: () => clearInterval(timer),
  };
}
