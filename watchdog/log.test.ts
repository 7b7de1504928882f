import { PassThrough } from 'node:stream';
import t from 'tap';
import { canonicalEnvName } from './cgi-env.js';
import { humanSize, relayLines, timestamp, type Logger } from './log.js';
import { methodLabel } from './metrics.js';
import { exitText, splitCommand } from './process.js';

function capture(): { out: PassThrough; text(): string } {
  const out = new PassThrough();
  let s = '';
  out.on('data', (d) => (s += d));
  return { out, text: () => s };
}

function memLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (m) => lines.push(m) };
}

async function relay(input: string[], opts: { prefix: boolean; maxLine: number }) {
  const src = new PassThrough();
  const sink = capture();
  const logger = memLogger();
  relayLines(src, { name: 'stderr', out: sink.out, logger, ...opts });
  for (const chunk of input) src.write(chunk);
  src.end();
  await new Promise((r) => setImmediate(r));
  return { text: sink.text(), logs: logger.lines };
}

t.test('relay splits lines across chunks, prefixes them', async (t) => {
  const r = await relay(['one\ntw', 'o\r\nthree'], { prefix: true, maxLine: 65536 });
  const lines = r.text.split('\n').filter(Boolean);
  t.equal(lines.length, 3);
  t.match(lines[0], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d stderr: one$/);
  t.match(lines[1], /stderr: two$/);
  t.match(lines[2], /stderr: three$/, 'final unterminated line kept');
  t.same(r.logs, ['Started logging: stderr from function.']);
});

t.test('relay raw lines when prefix is off', async (t) => {
  const r = await relay(['{"a":1}\n'], { prefix: false, maxLine: 65536 });
  t.equal(r.text, '{"a":1}\n');
});

t.test('a line over log_buffer_size stops the relay', async (t) => {
  const r = await relay(['ok\n', 'x'.repeat(20), '\nlater\n'], { prefix: false, maxLine: 10 });
  t.equal(r.text, 'ok\n');
  t.ok(r.logs.includes('Error reading stderr: bufio.Scanner: token too long'));
});

t.test('negative log_buffer_size: unbounded, final partial line dropped', async (t) => {
  const r = await relay(['y'.repeat(100_000), '\npartial'], { prefix: false, maxLine: -1 });
  t.equal(r.text, `${'y'.repeat(100_000)}\n`);
});

t.test('humanSize like go-humanize', async (t) => {
  t.equal(humanSize(39), '39B');
  t.equal(humanSize(1500), '1.5kB');
  t.equal(humanSize(-1), '-1B');
  t.equal(humanSize(1_234_567), '1.235MB');
  t.equal(humanSize(0), '0B');
});

t.test('timestamp format', async (t) => {
  t.match(timestamp(new Date(2024, 0, 2, 3, 4, 5)), '2024/01/02 03:04:05');
});

t.test('header → env names', async (t) => {
  t.equal(canonicalEnvName('x-custom-header'), 'X_Custom_Header');
  t.equal(canonicalEnvName('content-type'), 'Content_Type');
  t.equal(canonicalEnvName('USER-AGENT'), 'User_Agent');
  t.equal(canonicalEnvName('accept'), 'Accept');
});

t.test('metric method labels', async (t) => {
  t.equal(methodLabel('POST'), 'post');
  t.equal(methodLabel('BREW'), 'unknown');
});

t.test('fprocess split and exit texts', async (t) => {
  t.same(splitCommand('node  index.js'), { file: 'node', args: ['', 'index.js'] });
  t.equal(exitText(1, null), 'exit status 1');
  t.equal(exitText(null, 'SIGKILL'), 'signal: killed');
  t.equal(exitText(null, 'SIGTERM'), 'signal: terminated');
});
