import t from 'tap';
import { fmtSpread, num, pct, placesFor, spread } from './stats.js';

t.test('spread: median, min, max and run count', async (t) => {
  t.same(spread([3, 1, 2]), { runs: 3, median: 2, min: 1, max: 3 });
  t.same(spread([4, 1, 3, 2]), { runs: 4, median: 2.5, min: 1, max: 4 });
  t.same(spread([5]), { runs: 1, median: 5, min: 5, max: 5 });
  t.same(spread([2, Number.NaN, 4, Number.POSITIVE_INFINITY]), { runs: 2, median: 3, min: 2, max: 4 }, 'non-finite runs are dropped');
  const empty = spread([]);
  t.equal(empty.runs, 0);
  t.ok(Number.isNaN(empty.median));
});

t.test('formatting keeps about three significant figures', async (t) => {
  t.equal(placesFor(1234), 0);
  t.equal(placesFor(12.34), 1);
  t.equal(placesFor(1.234), 2);
  t.equal(placesFor(0.1234), 3);
  t.equal(num(0.12345), '0.123');
  t.equal(num(Number.NaN), '–');
  t.equal(fmtSpread(spread([10.2, 9.8, 11.5])), '10.2 (9.8–11.5)');
  t.equal(fmtSpread(spread([1.234])), '1.23', 'one run: no range');
  t.equal(fmtSpread(spread([2000.1, 2000.4, 2000.2])), '2000', 'no visible spread: no range');
  t.equal(fmtSpread(spread([0.51, 0.6, 0.7]), 1), '0.6 (0.5–0.7)');
  t.equal(fmtSpread(spread([])), '–');
});

t.test('percentages never round up to 100', async (t) => {
  t.equal(pct(100), '100 %');
  t.equal(pct(99.99), '99.9 %');
  t.equal(pct(50), '50.0 %');
  t.equal(pct(Number.NaN), '–');
});
