// Reads tap's output and prints the plain closing line CI understands.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const summaries = [...text.matchAll(/^# \{ total: (\d+)(?:, (.*))? \}$/gm)];
const last = summaries.at(-1);
if (!last) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const counts = Object.fromEntries(
  (last[2] ?? '').split(', ').filter(Boolean).map((kv) => {
    const [k, v] = kv.split(': ');
    return [k, Number(v)];
  }),
);
const skipped = (counts.skip ?? 0) + (counts.todo ?? 0);
console.log(`${counts.pass ?? 0} passed, ${counts.fail ?? 0} failed${skipped ? `, ${skipped} skipped` : ''}`);
