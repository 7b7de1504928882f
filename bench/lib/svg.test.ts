import t from 'tap';
import { escapeXml, lineChart, linearTicks, logTicks, tickLabel } from './svg.js';

/** Tag balance: every opened element is closed in order (a small well-formedness check). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

const chart = () =>
  lineChart({
    title: 'p99 <latency> & "throughput"',
    xLabel: 'clients',
    yLabel: 'ms',
    xLog: true,
    series: [
      { name: 'direct', points: [[1, 1.2], [2, 1.5], [4, 2.1], [8, 4], [16, 9]] },
      { name: 'gateway <gw>', points: [[1, 2], [2, Number.NaN], [4, 3.5], [8, 6], [16, 12]] },
    ],
  });

t.test('a line chart is a well-formed, deterministic SVG with title, axes and legend', async (t) => {
  const svg = chart();
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.ok(balanced(svg), 'tags balanced');
  t.equal(svg, chart(), 'same input, same bytes');
  t.match(svg, /p99 &lt;latency&gt; &amp; &quot;throughput&quot;/, 'title escaped');
  t.match(svg, />gateway &lt;gw&gt;</, 'legend entry escaped');
  t.match(svg, />direct</);
  t.match(svg, /clients \(log scale\)/);
  for (const tick of ['1', '2', '4', '8', '16']) t.match(svg, new RegExp(`>${tick}</text>`), `x tick ${tick}`);
  t.notMatch(svg, /NaN/, 'no NaN coordinates');
});

t.test('a gap (NaN) splits a series into separate polylines; points stay inside the plot', async (t) => {
  const svg = chart();
  const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)].map((m) => m[1]!);
  t.equal(lines.length, 2, 'direct: one polyline; gateway: the lone point before the gap gets no line, the run after it one');
  t.equal([...svg.matchAll(/<circle /g)].length, 6, 'direct: 5 markers + 1 legend marker');
  t.equal([...svg.matchAll(/<rect x=/g)].length, 5, 'gateway: 4 markers (the NaN has none) + 1 legend marker');
  for (const pts of lines) {
    for (const p of pts.split(' ')) {
      const [x, y] = p.split(',').map(Number);
      t.ok(x! >= 72 && x! <= 560 + 6 && y! >= 40 && y! <= 384, `point ${p} inside the plot area`);
    }
  }
  // x grows with the data on a log axis: 1 -> 16 evenly spaced (equal ratios).
  const first = lines[0]!.split(' ').map((p) => Number(p.split(',')[0]));
  const gaps = first.slice(1).map((x, i) => x - first[i]!);
  for (const g of gaps) t.ok(Math.abs(g - gaps[0]!) < 0.2, 'equal spacing for doublings');
});

t.test('ticks', async (t) => {
  t.same(linearTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  t.same(linearTicks(0, 0.9), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const lt = linearTicks(3, 1234);
  t.ok(lt[0]! <= 3 && lt[lt.length - 1]! >= 1234);
  t.same(logTicks(1, 1024, [1, 2, 4, 1024]), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
  t.same(logTicks(1, 100, [1, 5, 10, 15, 20, 100]), [1, 2, 5, 10, 20, 50, 100]);
  t.same(logTicks(0.3, 4000), [0.1, 1, 10, 100, 1000, 10000]);
  t.equal(tickLabel(1500), '1500');
  t.equal(tickLabel(1024), '1024');
  t.equal(tickLabel(15000), '15k');
  t.equal(tickLabel(0.25), '0.25');
  t.equal(escapeXml(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;');
});

t.test('an empty chart still renders axes', async (t) => {
  const svg = lineChart({ title: 'none', xLabel: 'x', yLabel: 'y', series: [] });
  t.ok(balanced(svg));
  t.match(svg, /<line /);
});
