import t from 'tap';
import { Histogram } from './histogram.js';

/** Deterministic PRNG (mulberry32) so the test is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

t.test('quantiles are within 1 % of the exact rank value over six decades', async (t) => {
  const r = rng(42);
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    // log-uniform from 0.01 ms to 10 s, plus a cluster like a real latency mode
    const v = i % 3 === 0 ? 2 + r() * 0.5 : 10 ** (-2 + r() * 6);
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  let worst = 0;
  for (const q of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999]) {
    const exact = exactQuantile(values, q);
    const err = Math.abs(h.quantile(q) - exact) / exact;
    worst = Math.max(worst, err);
  }
  t.ok(worst <= 0.01, `worst relative error ${worst} <= 1 %`);
  t.equal(h.count, 20_000);
  t.equal(h.min, values[0]);
  t.equal(h.max, values[values.length - 1]);
  t.equal(h.quantile(0), values[0]);
  t.equal(h.quantile(1), values[values.length - 1]);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  t.ok(Math.abs(h.mean - mean) / mean < 1e-9, 'mean is exact');
});

t.test('a single value answers every quantile within the bound and never beyond max', async (t) => {
  const h = new Histogram();
  h.record(123.456);
  for (const q of [0.5, 0.99, 0.999]) {
    const v = h.quantile(q);
    t.ok(Math.abs(v - 123.456) / 123.456 <= 0.01);
    t.ok(v <= h.max && v >= h.min);
  }
});

t.test('values at or below minValue, and repeated records', async (t) => {
  const h = new Histogram({ minValue: 0.01 });
  h.record(0);
  h.record(0.005, 3);
  h.record(5, 6);
  t.equal(h.count, 10);
  t.equal(h.quantile(0.3), 0.01, 'low bucket answers minValue');
  t.ok(Math.abs(h.quantile(0.9) - 5) / 5 <= 0.01);
  t.equal(h.min, 0);
});

t.test('merge gives the same answers as recording everything in one', async (t) => {
  const r = rng(7);
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let i = 0; i < 5000; i++) {
    const v = 10 ** (r() * 4);
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  t.equal(a.count, all.count);
  for (const q of [0.1, 0.5, 0.9, 0.99, 0.999]) t.equal(a.quantile(q), all.quantile(q));
  t.equal(a.max, all.max);
  t.equal(a.min, all.min);
  t.throws(() => a.merge(new Histogram({ relativeAccuracy: 0.02 })), RangeError);
});

t.test('empty histogram and bad input', async (t) => {
  const h = new Histogram();
  t.ok(Number.isNaN(h.quantile(0.5)));
  t.ok(Number.isNaN(h.max));
  t.ok(Number.isNaN(h.mean));
  t.throws(() => h.record(-1), RangeError);
  t.throws(() => h.record(Number.NaN), RangeError);
  t.throws(() => h.quantile(1.5), RangeError);
  t.throws(() => new Histogram({ relativeAccuracy: 0 }), RangeError);
  t.throws(() => new Histogram({ minValue: 0 }), RangeError);
});
