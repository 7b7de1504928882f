/**
 * Dependency-free SVG line charts for the benchmark results: axes with
 * ticks and labels, linear or logarithmic scales, one polyline plus point
 * markers per series, and a legend. Output is a standalone SVG document
 * (deterministic text: the same input gives the same bytes).
 */
export interface Series {
  readonly name: string;
  /** [x, y] points; non-finite y (or y ≤ 0 on a log axis) leaves a gap. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Short label for a tick value: 1500 → "1.5k", 0.25 → "0.25". */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (Number.isInteger(v)) return String(v);
  return `${+v.toPrecision(3)}`;
}

/** "Nice" linear ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `target` of them. */
export function linearTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  if (ticks[ticks.length - 1]! < hi) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

/**
 * Log ticks covering [lo, hi] (both > 0): powers of ten, with 2 and 5 in
 * between when the range spans few decades, or powers of two when the data
 * sits on them (concurrency 1, 2, 4 … 1024).
 */
export function logTicks(lo: number, hi: number, values: readonly number[] = []): number[] {
  const pow2 = values.length > 1 && values.every((v) => v > 0 && Number.isInteger(Math.log2(v)));
  if (pow2) {
    const out: number[] = [];
    const a = Math.floor(Math.log2(lo));
    const b = Math.ceil(Math.log2(hi));
    const every = Math.max(1, Math.ceil((b - a + 1) / 12));
    for (let e = a; e <= b; e += every) out.push(2 ** e);
    return out;
  }
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const steps = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = a; e <= b; e++) for (const m of steps) out.push(+(m * 10 ** e).toPrecision(6));
  // Trim to the decade-aligned neighbours of the data range.
  const first = out.findLastIndex((t) => t <= lo);
  const last = out.findIndex((t) => t >= hi);
  return out.slice(Math.max(0, first), last < 0 ? out.length : last + 1);
}

interface Axis {
  readonly ticks: number[];
  readonly map: (v: number) => number;
}

function axis(values: number[], log: boolean, from: number, to: number, zeroBased: boolean): Axis {
  const usable = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = usable.length ? Math.min(...usable) : log ? 1 : 0;
  let hi = usable.length ? Math.max(...usable) : 1;
  if (log) {
    if (hi <= lo) hi = lo * 10;
    const ticks = logTicks(lo, hi, usable);
    lo = ticks[0]!;
    hi = ticks[ticks.length - 1]!;
    const l0 = Math.log(lo);
    const span = Math.log(hi) - l0 || 1;
    return { ticks, map: (v) => from + ((Math.log(v) - l0) / span) * (to - from) };
  }
  if (zeroBased) lo = Math.min(0, lo);
  const ticks = linearTicks(lo, hi);
  lo = ticks[0]!;
  hi = ticks[ticks.length - 1]!;
  const span = hi - lo || 1;
  return { ticks, map: (v) => from + ((v - lo) / span) * (to - from) };
}

function marker(kind: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const p = (n: number): string => n.toFixed(1);
  switch (kind) {
    case 'circle':
      return `<circle cx="${p(x)}" cy="${p(y)}" r="3" fill="${color}"/>`;
    case 'square':
      return `<rect x="${p(x - 3)}" y="${p(y - 3)}" width="6" height="6" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${p(x)} ${p(y - 3.5)}L${p(x + 3.5)} ${p(y + 3)}L${p(x - 3.5)} ${p(y + 3)}Z" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${p(x)} ${p(y - 4)}L${p(x + 4)} ${p(y)}L${p(x)} ${p(y + 4)}L${p(x - 4)} ${p(y)}Z" fill="${color}"/>`;
  }
}

export function lineChart(o: LineChartOptions): string {
  // Room for the legend: about 6.7 px per character at 12 px sans-serif.
  const longest = Math.max(0, ...o.series.map((s) => s.name.length));
  const right = Math.max(120, Math.ceil(56 + longest * 6.7));
  const width = o.width ?? 560 + right;
  const height = o.height ?? 440;
  const left = 72;
  const top = 40;
  const bottom = 56;
  const plotR = width - right;
  const plotB = height - bottom;
  const okY = (y: number): boolean => Number.isFinite(y) && (!o.yLog || y > 0);
  const okX = (x: number): boolean => Number.isFinite(x) && (!o.xLog || x > 0);
  const xs = o.series.flatMap((s) => s.points.filter(([x, y]) => okX(x) && okY(y)).map(([x]) => x));
  const ys = o.series.flatMap((s) => s.points.filter(([x, y]) => okX(x) && okY(y)).map(([, y]) => y));
  const X = axis(xs, o.xLog ?? false, left, plotR, false);
  const Y = axis(ys, o.yLog ?? false, plotB, top, true);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${(left + plotR) / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  );
  // Grid, ticks and tick labels.
  for (const t of X.ticks) {
    const x = X.map(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${plotB}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x}" y1="${plotB}" x2="${x}" y2="${plotB + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${plotB + 18}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  for (const t of Y.ticks) {
    const y = Y.map(t).toFixed(1);
    out.push(`<line x1="${left}" y1="${y}" x2="${plotR}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  // Axes and their labels.
  out.push(
    `<line x1="${left}" y1="${plotB}" x2="${plotR}" y2="${plotB}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${plotB}" stroke="#333"/>`,
    `<text x="${(left + plotR) / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(o.xLabel + (o.xLog ? ' (log scale)' : ''))}</text>`,
    `<text x="18" y="${(top + plotB) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + plotB) / 2})">${escapeXml(o.yLabel + (o.yLog ? ' (log scale)' : ''))}</text>`,
  );
  // Series: a polyline per unbroken run of points, a marker on each point.
  o.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const kind = MARKERS[i % MARKERS.length]!;
    const pts = [...s.points].filter(([x]) => okX(x)).sort((a, b) => a[0] - b[0]);
    let run: string[] = [];
    const flush = (): void => {
      if (run.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${run.join(' ')}"/>`);
      run = [];
    };
    const marks: string[] = [];
    for (const [x, y] of pts) {
      if (!okY(y)) {
        flush();
        continue;
      }
      const px = X.map(x);
      const py = Y.map(y);
      run.push(`${px.toFixed(1)},${py.toFixed(1)}`);
      marks.push(marker(kind, px, py, color));
    }
    flush();
    out.push(...marks);
    const ly = top + 10 + i * 20;
    out.push(
      `<line x1="${plotR + 16}" y1="${ly}" x2="${plotR + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      marker(kind, plotR + 28, ly, color),
      `<text x="${plotR + 46}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
