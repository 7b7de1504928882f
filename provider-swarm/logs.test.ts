/** Demultiplexing Docker's log stream and parsing service log lines. */
import t from 'tap';
import { lastLines, LogDemuxer, parseLogLine, timeKey } from './logs.js';
import { dockerSince } from './provider.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const details = 'com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=task123';

t.test('frames split anywhere, lines split across frames', async (t) => {
  const all = Buffer.concat([
    frame(1, `2026-01-01T00:00:00.000000001Z ${details} hello\n2026-01-01T00:00:01Z ${details} wor`),
    frame(2, `ld\n`),
    frame(1, `2026-01-01T00:00:02Z ${details}   padded text  \n`),
  ]);
  const d = new LogDemuxer();
  const lines: string[] = [];
  for (let i = 0; i < all.length; i += 5) lines.push(...d.push(all.subarray(i, i + 5)));
  lines.push(...d.end());
  t.equal(lines.length, 3);
  t.same(parseLogLine(lines[0]!, 'fn', 'ns'), { name: 'fn', namespace: 'ns', instance: 'task123', timestamp: '2026-01-01T00:00:00.000000001Z', text: 'hello' });
  t.equal(parseLogLine(lines[1]!, 'fn', 'ns')!.text, 'world');
  t.equal(parseLogLine(lines[2]!, 'fn', 'ns')!.text, 'padded text', 'trimmed');
});

t.test('a last line without newline, and junk', async (t) => {
  const d = new LogDemuxer();
  t.same(d.push(frame(1, `2026-01-01T00:00:00Z ${details} tail`)), []);
  t.same(d.end(), [`2026-01-01T00:00:00Z ${details} tail`]);
  t.same(d.end(), [], 'nothing twice');
  t.equal(parseLogLine('not a log line', 'fn', 'ns'), undefined);
  t.equal(parseLogLine('', 'fn', 'ns'), undefined);
  t.same(parseLogLine(`2026-01-01T00:00:00Z ${details}`, 'fn', 'ns')?.text, '', 'empty text');
  t.same(parseLogLine('2026-01-01T00:00:00Z x=y text', 'fn', 'ns')?.instance, '', 'no task id');
});

t.test('lastLines: time order across tasks, then the last N', async (t) => {
  const m = (ts: string, text: string) => ({ name: 'f', namespace: 'n', instance: 'i', timestamp: ts, text });
  const msgs = [
    m('2026-01-01T00:00:02Z', 'c'),
    m('2026-01-01T00:00:01.5Z', 'b'),
    m('2026-01-01T00:00:01.05Z', 'a'),
    m('2026-01-01T00:00:03.000000001Z', 'd'),
  ];
  t.same(lastLines(msgs, undefined).map((x) => x.text), ['a', 'b', 'c', 'd']);
  t.same(lastLines(msgs, 2).map((x) => x.text), ['c', 'd']);
  t.same(lastLines(msgs, 0).length, 4, '0 means unlimited');
  t.equal(timeKey('2026-01-01T00:00:01.5Z'), '2026-01-01T00:00:01.500000000');
});

t.test('since is sent as seconds.nanoseconds', async (t) => {
  t.equal(dockerSince(new Date(1795838018676)), '1795838018.676000000');
  t.equal(dockerSince(new Date(1795838018005)), '1795838018.005000000', 'not .5 s');
  t.equal(dockerSince(new Date(1795838018000)), '1795838018.000000000');
});
