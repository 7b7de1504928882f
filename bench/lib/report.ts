/**
 * What a suite needs to report: its settings (quick or full, provider, where
 * charts go), markdown tables, SVG charts written next to the results file,
 * and the machine facts printed at the top of every results file.
 *
 * bench/run.ts hands the settings to each suite process through environment
 * variables (so suites written before these existed, which read positional
 * arguments, are unaffected):
 *   BENCH_QUICK=1          fewer runs, shorter phases (smoke check)
 *   BENCH_PROVIDER=local   local | swarm
 *   BENCH_CHART_DIR=/abs   directory the SVGs are written to
 *   BENCH_CHART_LINK=rel   the same directory relative to the results file
 * A suite started by hand takes --quick, --provider P and --charts DIR instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The shape of bench/lib/platform.ts (written beside this file by another
 * suite's author), restated here so the suites here type-check against the
 * interface rather than one implementation.
 */
export type ProviderKind = 'local' | 'swarm';
export interface BenchPlatform {
  readonly provider: ProviderKind;
  readonly gatewayUrl: string;
  readonly authorization: string;
  deploy(names: string[], opts?: { replicas?: number; labels?: Record<string, string>; env?: Record<string, string> }): Promise<void>;
  replicaUrl(name: string): Promise<string>;
  scale(name: string, replicas: number): Promise<void>;
  processes(): Promise<Array<{ component: string; pid: number }>>;
  close(): Promise<void>;
}

export interface SuiteContext {
  readonly quick: boolean;
  readonly provider: ProviderKind;
  readonly root: string;
  /** Where SVGs go; undefined = charts are not written. */
  readonly chartDir?: string;
  /** How the results markdown refers to chartDir. */
  readonly chartLink: string;
  /** Progress lines (stderr, never in the results). */
  log(line: string): void;
}

type Env = Readonly<Record<string, string | undefined>>;

export function suiteContext(argv: readonly string[], env: Env, root: string): SuiteContext {
  const { values } = parseArgs({
    args: [...argv],
    options: { quick: { type: 'boolean' }, provider: { type: 'string' }, charts: { type: 'string' } },
    strict: true,
  });
  const provider = values.provider ?? env.BENCH_PROVIDER ?? 'local';
  if (provider !== 'local' && provider !== 'swarm') throw new Error(`--provider must be local or swarm, got ${provider}`);
  const dirArg = values.charts ?? env.BENCH_CHART_DIR;
  const chartDir = dirArg ? (isAbsolute(dirArg) ? dirArg : resolve(root, dirArg)) : undefined;
  return {
    quick: values.quick === true || env.BENCH_QUICK === '1',
    provider,
    root,
    ...(chartDir ? { chartDir } : {}),
    chartLink: env.BENCH_CHART_LINK ?? chartDir ?? '.',
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

/**
 * The platform module: bench/lib/platform.js, unless BENCH_PLATFORM_MODULE
 * names another implementation of the same interface.
 */
export async function loadPlatform(
  env: Env,
): Promise<{ startPlatform(opts: { provider: ProviderKind; root: string; log?: (line: string) => void }): Promise<BenchPlatform> }> {
  const spec = env.BENCH_PLATFORM_MODULE ?? './platform.js';
  return import(spec.startsWith('.') ? new URL(spec, import.meta.url).href : resolve(spec));
}

/** A markdown table; `right` marks columns to right-align (numbers). */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, right: readonly number[] = []): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const align = headers.map((_, i) => (right.includes(i) ? '---:' : '---'));
  return [
    `| ${headers.map(cell).join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** Writes an SVG into the chart directory; returns the markdown that links it (or a note). */
export function writeChart(ctx: SuiteContext, file: string, svg: string, caption: string): string {
  if (!ctx.chartDir) return `(chart "${caption}" not written: no chart directory; pass --charts DIR)`;
  mkdirSync(ctx.chartDir, { recursive: true });
  writeFileSync(join(ctx.chartDir, file), svg);
  const href = `${ctx.chartLink.replace(/\/$/, '')}/${file}`;
  return `![${caption}](${href})`;
}

export interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly freeGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly loadavg: readonly [number, number, number];
}

export function machineFacts(): MachineFacts {
  const c = cpus();
  const l = loadavg();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memGiB: totalmem() / 2 ** 30,
    freeGiB: freemem() / 2 ** 30,
    node: process.version,
    kernel: `${process.platform} ${release()} ${process.arch}`,
    loadavg: [l[0]!, l[1]!, l[2]!],
  };
}

export function fmtLoad(l: readonly number[]): string {
  return l.map((x) => x.toFixed(2)).join(' / ');
}

/** Duration as "1 min 05 s" / "42 s". */
export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
