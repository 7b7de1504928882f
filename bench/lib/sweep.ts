/**
 * A sweep: several targets × several load levels (closed-loop clients or
 * open-loop rates), each point measured `runs` times. Runs are interleaved
 * (run 1 of every point, then run 2 …) so slow drift on a shared machine
 * spreads over all targets instead of biasing the last one. Every figure is
 * then the median of the runs with their min–max.
 */
import { closedLoop, openLoop, type LoadResult, type RequestSpec } from './loadgen.js';
import { fmtSpread, num, pct, spread, type Spread } from './stats.js';
import { lineChart } from './svg.js';
import { table, writeChart, type SuiteContext } from './report.js';

export interface SweepTarget {
  readonly name: string;
  readonly request: RequestSpec;
  /** Only these levels for this target (default: all). */
  readonly levels?: readonly number[];
}

export interface SweepOptions {
  readonly kind: 'closed' | 'open';
  readonly targets: readonly SweepTarget[];
  /** Clients (closed) or requests/s (open). */
  readonly levels: readonly number[];
  readonly runs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxRequests?: number;
  readonly timeoutMs?: number;
  readonly slowMs?: number;
  /** Open loop: connections shared by the requests (default: 64). */
  readonly connections?: number;
  readonly log?: (line: string) => void;
}

export class Sweep {
  private readonly results = new Map<string, LoadResult[]>();
  constructor(
    readonly kind: 'closed' | 'open',
    readonly targets: readonly SweepTarget[],
    readonly levels: readonly number[],
    readonly runs: number,
  ) {}

  add(target: string, level: number, r: LoadResult): void {
    const k = `${target}\u0000${level}`;
    const list = this.results.get(k) ?? [];
    list.push(r);
    this.results.set(k, list);
  }

  runsOf(target: string, level: number): readonly LoadResult[] {
    return this.results.get(`${target}\u0000${level}`) ?? [];
  }

  /** Spread over runs of a per-run figure. */
  metric(target: string, level: number, f: (r: LoadResult) => number): Spread {
    return spread(this.runsOf(target, level).map(f));
  }

  levelsOf(t: SweepTarget): readonly number[] {
    return t.levels ?? this.levels;
  }
}

/** "median of 3 runs, with min–max", or "1 run". */
export function runsText(runs: number): string {
  return runs === 1 ? '1 run' : `median of ${runs} runs, with min–max`;
}

export const p = (q: number) => (r: LoadResult): number => r.latency.quantile(q);
export const throughput = (r: LoadResult): number => r.throughput;
export const success = (r: LoadResult): number => r.successRate;

export async function runSweep(o: SweepOptions): Promise<Sweep> {
  const sweep = new Sweep(o.kind, o.targets, o.levels, o.runs);
  for (let run = 1; run <= o.runs; run++) {
    for (const t of o.targets) {
      for (const level of sweep.levelsOf(t)) {
        const phase = {
          request: t.request,
          warmupMs: o.warmupMs,
          durationMs: o.durationMs,
          ...(o.maxRequests !== undefined ? { maxRequests: o.maxRequests } : {}),
          ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
          ...(o.slowMs !== undefined ? { slowMs: o.slowMs } : {}),
        };
        const r =
          o.kind === 'closed'
            ? await closedLoop({ ...phase, clients: level })
            : await openLoop({ ...phase, rate: level, ...(o.connections ? { connections: o.connections } : {}) });
        sweep.add(t.name, level, r);
        o.log?.(
          `  run ${run}/${o.runs} ${t.name} ${o.kind === 'closed' ? 'c' : 'rate'}=${level}: ${num(r.throughput)} req/s, ` +
            `p50 ${num(r.latency.quantile(0.5))} ms, p99 ${num(r.latency.quantile(0.99))} ms, ok ${pct(r.successRate)}`,
        );
      }
    }
  }
  return sweep;
}

function levelName(kind: 'closed' | 'open'): string {
  return kind === 'closed' ? 'c' : 'req/s';
}

/** Rows = targets, columns = levels; each cell "median (min–max)" of `f` over the runs. */
export function metricTable(s: Sweep, f: (r: LoadResult) => number, places?: number, cell?: (x: Spread) => string): string {
  const headers = ['target', ...s.levels.map((l) => `${levelName(s.kind)}=${l}`)];
  const rows = s.targets.map((t) => [
    t.name,
    ...s.levels.map((l) => {
      if (!s.levelsOf(t).includes(l)) return '';
      const x = s.metric(t.name, l, f);
      return cell ? cell(x) : fmtSpread(x, places);
    }),
  ]);
  return table(headers, rows, s.levels.map((_, i) => i + 1));
}

function statusSummary(runs: readonly LoadResult[]): string {
  const counts: Record<string, number> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.statusCodes)) if (k !== '200') counts[k] = (counts[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.errors)) counts[k] = (counts[k] ?? 0) + v;
  }
  const parts = Object.entries(counts).map(([k, v]) => `${k}×${v}`);
  return parts.length ? parts.join(', ') : '–';
}

/** One row per target × level with every percentile, success rate and non-200 outcomes. */
export function detailTable(s: Sweep): string {
  const rows: string[][] = [];
  for (const t of s.targets) {
    for (const l of s.levelsOf(t)) {
      const runs = s.runsOf(t.name, l);
      const sent = runs.reduce((a, r) => a + r.sent, 0);
      rows.push([
        t.name,
        String(l),
        String(runs.length),
        String(sent),
        fmtSpread(s.metric(t.name, l, throughput)),
        fmtSpread(s.metric(t.name, l, p(0.5))),
        fmtSpread(s.metric(t.name, l, p(0.9))),
        fmtSpread(s.metric(t.name, l, p(0.99))),
        fmtSpread(s.metric(t.name, l, p(0.999))),
        fmtSpread(s.metric(t.name, l, (r) => r.latency.max)),
        fmtSpread(s.metric(t.name, l, success), 1),
        statusSummary(runs),
      ]);
    }
  }
  return table(
    ['target', levelName(s.kind), 'runs', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'success %', 'non-200 / errors (all runs)'],
    rows,
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
}

/** Latency percentiles (p50, p99) and throughput vs level, one series per target; returns markdown image links. */
export function sweepCharts(ctx: SuiteContext, s: Sweep, slug: string, what: string): string[] {
  const xLabel = s.kind === 'closed' ? 'concurrent clients (closed loop)' : 'offered rate, req/s (open loop)';
  const series = (f: (r: LoadResult) => number) =>
    s.targets.map((t) => ({ name: t.name, points: s.levelsOf(t).map((l) => [l, s.metric(t.name, l, f).median] as const) }));
  const runs = `median of ${s.runs} run${s.runs === 1 ? '' : 's'}`;
  const out: string[] = [];
  for (const [q, label] of [
    [0.5, 'p50'],
    [0.99, 'p99'],
  ] as const) {
    const svg = lineChart({ title: `${what}: ${label} latency (${runs})`, xLabel, yLabel: `${label} latency, ms`, xLog: true, yLog: true, series: series(p(q)) });
    out.push(writeChart(ctx, `${slug}-${label}.svg`, svg, `${what} ${label} latency`));
  }
  if (s.kind === 'closed') {
    const svg = lineChart({ title: `${what}: throughput (${runs})`, xLabel, yLabel: 'successful requests/s', xLog: true, series: series(throughput) });
    out.push(writeChart(ctx, `${slug}-throughput.svg`, svg, `${what} throughput`));
  }
  return out;
}
