/**
 * Latency histogram with logarithmic buckets (the DDSketch layout): bucket i
 * holds values in (γ^(i-1), γ^i] with γ = (1 + α) / (1 − α), and a quantile
 * is answered with the bucket's midpoint 2γ^i / (γ + 1). Every answer is then
 * within a relative error α of a value that really was recorded at that rank.
 * α defaults to 0.5 %, so the bound holds with room under the 1 % we promise.
 *
 * Values are milliseconds (any positive unit works). Values at or below
 * `minValue` share one bucket and are answered exactly as `minValue`; exact
 * min, max, sum and count are kept beside the buckets.
 */
export interface HistogramOptions {
  /** Relative accuracy of quantiles, 0 < α < 1; default 0.005. */
  readonly relativeAccuracy?: number;
  /** Smallest value told apart from zero; default 0.001 (1 µs in ms). */
  readonly minValue?: number;
}

export class Histogram {
  readonly relativeAccuracy: number;
  readonly minValue: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly buckets = new Map<number, number>();
  private zeroCount = 0;
  private n = 0;
  private total = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  constructor(opts: HistogramOptions = {}) {
    const a = opts.relativeAccuracy ?? 0.005;
    if (!(a > 0 && a < 1)) throw new RangeError(`relativeAccuracy must be in (0, 1), got ${a}`);
    const m = opts.minValue ?? 0.001;
    if (!(m > 0)) throw new RangeError(`minValue must be > 0, got ${m}`);
    this.relativeAccuracy = a;
    this.minValue = m;
    this.gamma = (1 + a) / (1 - a);
    this.logGamma = Math.log(this.gamma);
  }

  record(value: number, times = 1): void {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`cannot record ${value}`);
    if (times <= 0) return;
    this.n += times;
    this.total += value * times;
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
    if (value <= this.minValue) {
      this.zeroCount += times;
      return;
    }
    const i = Math.ceil(Math.log(value) / this.logGamma);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + times);
  }

  /** Adds another histogram's counts (same accuracy and minValue). */
  merge(other: Histogram): void {
    if (other.gamma !== this.gamma || other.minValue !== this.minValue) {
      throw new RangeError('cannot merge histograms with different bucket layouts');
    }
    for (const [i, c] of other.buckets) this.buckets.set(i, (this.buckets.get(i) ?? 0) + c);
    this.zeroCount += other.zeroCount;
    this.n += other.n;
    this.total += other.total;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  get count(): number {
    return this.n;
  }

  get min(): number {
    return this.n === 0 ? Number.NaN : this.lo;
  }

  get max(): number {
    return this.n === 0 ? Number.NaN : this.hi;
  }

  get mean(): number {
    return this.n === 0 ? Number.NaN : this.total / this.n;
  }

  /**
   * The value at quantile q (0..1): the value of rank ceil(q·n) (1-based) in
   * sorted order, within the relative accuracy. q = 1 gives the exact max,
   * q = 0 the exact min. NaN when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
    if (this.n === 0) return Number.NaN;
    if (q === 0) return this.lo;
    if (q === 1) return this.hi;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = this.zeroCount;
    if (rank <= seen) return Math.min(this.minValue, this.hi);
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const i of keys) {
      seen += this.buckets.get(i)!;
      if (rank <= seen) {
        const estimate = (2 * this.gamma ** i) / (this.gamma + 1);
        // Never outside what was seen: keeps p99.9 <= max when few samples.
        return Math.min(Math.max(estimate, this.lo), this.hi);
      }
    }
    return this.hi;
  }
}
