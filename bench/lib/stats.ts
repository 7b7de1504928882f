/**
 * Figures over repeated runs: every number a suite reports is the median of
 * its runs, printed with the runs' min–max so the spread is never hidden.
 */
export interface Spread {
  /** How many runs (finite values) the figure is over. */
  readonly runs: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median and range of the finite values; runs = 0 (and NaNs) when there are none. */
export function spread(values: readonly number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { runs: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { runs: v.length, median, min: v[0]!, max: v[v.length - 1]! };
}

/** Decimal places that keep about three significant figures (at most 3 places). */
export function placesFor(x: number): number {
  const a = Math.abs(x);
  if (!Number.isFinite(a) || a >= 100) return 0;
  if (a >= 10) return 1;
  if (a >= 1) return 2;
  return 3;
}

/** A number with about three significant figures ("–" when not finite). */
export function num(x: number, places = placesFor(x)): string {
  return Number.isFinite(x) ? x.toFixed(places) : '–';
}

/**
 * "median (min–max)"; only the median when there is one run or no spread at
 * the printed precision. The run count goes in the table caption, so cells
 * stay short. Places follow the median's magnitude unless given.
 */
export function fmtSpread(s: Spread, places?: number): string {
  if (s.runs === 0) return '–';
  const p = places ?? placesFor(s.median);
  const m = num(s.median, p);
  const lo = num(s.min, p);
  const hi = num(s.max, p);
  if (s.runs === 1 || (lo === m && hi === m)) return m;
  return `${m} (${lo}–${hi})`;
}

/** Percentage with one decimal, e.g. 99.95 → "99.9 %"; 100 stays "100 %". */
export function pct(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 100) return '100 %';
  return `${(Math.floor(x * 10) / 10).toFixed(1)} %`;
}
