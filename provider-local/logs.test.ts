import t from 'tap';
import { LineSplitter, LogRing } from './logs.js';
import type { LogMessage } from '../provider/index.js';

async function all(it: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}
const never = new AbortController().signal;

t.test('ring keeps the newest lines; tail, since and instance filter', async (t) => {
  const ring = new LogRing(3);
  ring.push('a', 'one', 1000);
  ring.push('b', 'two', 2000);
  ring.push('a', 'three', 3000);
  ring.push('a', 'four', 4000);
  t.same(ring.snapshot().map((e) => e.text), ['two', 'three', 'four'], 'oldest dropped');
  const msgs = await all(ring.read({ name: 'fn' }, 'ns', never));
  t.same(msgs[0], { name: 'fn', namespace: 'ns', instance: 'b', timestamp: new Date(2000).toISOString(), text: 'two' });
  t.same((await all(ring.read({ name: 'fn', tail: 1 }, 'ns', never))).map((m) => m.text), ['four']);
  t.same((await all(ring.read({ name: 'fn', since: new Date(3000) }, 'ns', never))).map((m) => m.text), ['three', 'four']);
  t.same((await all(ring.read({ name: 'fn', instance: 'a', tail: 5 }, 'ns', never))).map((m) => m.text), ['three', 'four']);
});

t.test('follow yields backlog then live lines, ends on abort or close', async (t) => {
  const ring = new LogRing(10);
  ring.push('a', 'old');
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const m of ring.read({ name: 'fn', follow: true, instance: 'a' }, 'ns', ac.signal)) {
      seen.push(m.text);
      if (seen.length === 1) {
        ring.push('b', 'other instance');
        ring.push('a', 'new');
      }
      if (m.text === 'new') ac.abort();
    }
  })();
  await done;
  t.same(seen, ['old', 'new']);

  const closing = all(ring.read({ name: 'fn', follow: true, tail: 1 }, 'ns', never));
  await new Promise((r) => setImmediate(r));
  ring.close();
  t.same((await closing).map((m) => m.text), ['new'], 'close ends followers');
});

t.test('LineSplitter splits, strips CR and flushes the last partial line', async (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.write('a\r\nb');
  s.write('c\n\nd');
  s.end();
  t.same(lines, ['a', 'bc', '', 'd']);
});
