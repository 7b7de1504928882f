/** coldstart.ts's argument parsing, percentiles and table (the measurement itself is the bench run). */
import t from 'tap';
import { coldStartTable, parseColdStartArgs, percentile } from './coldstart.js';

t.test('arguments: defaults, --quick, env, validation', async (t) => {
  t.same(parseColdStartArgs([]), { provider: 'local', runs: 30, functions: ['hello-node', 'echo-python'] });
  t.same(parseColdStartArgs(['--quick']).runs, 5);
  t.same(parseColdStartArgs([], { BENCH_QUICK: '1', BENCH_PROVIDER: 'swarm' }), { provider: 'swarm', runs: 5, functions: ['hello-node', 'echo-python'] });
  t.same(parseColdStartArgs(['--quick', '--runs', '7', '--functions', 'sieve']), { provider: 'local', runs: 7, functions: ['sieve'] });
  t.throws(() => parseColdStartArgs(['--provider', 'k8s']), /local or swarm/);
  t.throws(() => parseColdStartArgs(['--runs', '0']), /1\.\.1000/);
  t.throws(() => parseColdStartArgs(['--bogus']));
});

t.test('percentile: nearest rank', async (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted order
  t.equal(percentile(xs, 50), 50);
  t.equal(percentile(xs, 95), 95);
  t.equal(percentile(xs, 99), 99);
  t.equal(percentile(xs, 100), 100);
  t.equal(percentile([7], 99), 7);
  t.equal(percentile([3, 1, 2], 0), 1);
});

t.test('table: one gateway row, one raw row and the p50 difference per function', async (t) => {
  const md = coldStartTable('swarm', [{ fn: 'hello-node', gateway: [300, 100, 200], raw: [50, 150, 100] }]);
  const rows = md.split('\n');
  t.equal(rows.length, 5);
  t.match(rows[2], /^\| hello-node \| gateway, scale from zero → 200 \| 3 \| 200 \| 300 \| 300 \| 300 \| 100 \|$/);
  t.match(rows[3], /docker service scale/);
  t.match(rows[4], /\| gateway − raw \(p50\) \| \| 100 \|/);
});
