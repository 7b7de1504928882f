/**
 * stack.yml / template.yml fuzz (issue #12): random YAML of every shape, wrong
 * types, mutations of a valid stack, bad `${VAR` substitutions, invalid names,
 * alias bombs, huge and deep documents. Every input must end in a stack or in
 * one CliError with a stable code (and `line N:` for field problems), never
 * another exception, and within a bounded time.
 *
 * Seed: FUZZ_SEED (default 1212, `random` for a fresh one); FUZZ_RUNS scales.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { stringify } from 'yaml';

import { CliError } from './errors.js';
import { parseStack } from './stack.js';
import { findTemplate, readTemplate } from './templates.js';
import { MAX_YAML_BYTES } from './yaml-bounded.js';

const seed = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 1212) || 1212;
const runs = (n: number): number => Number(process.env.FUZZ_RUNS ?? 0) || n;
const FILE = '/fuzz/stack.yml';
/** Per input; generous for a loaded 2-core machine, far below "unbounded". */
const MAX_MS = 5000;

type Outcome = 'ok' | 'stack-error' | string;

async function outcome(text: string, env: Record<string, string> = {}): Promise<{ kind: Outcome; err?: CliError; ms: number }> {
  const started = Date.now();
  try {
    await parseStack(text, FILE, env);
    return { kind: 'ok', ms: Date.now() - started };
  } catch (err) {
    const ms = Date.now() - started;
    if (CliError.is(err, 'CLI_ERR_STACK') && err.message.includes(FILE)) return { kind: 'stack-error', err, ms };
    return { kind: `unexpected ${(err as Error)?.name}: ${String((err as Error)?.message).slice(0, 200)}`, ms };
  }
}

function tallyInto(tally: Record<string, number>, kind: string): void {
  tally[kind] = (tally[kind] ?? 0) + 1;
}

const VALID = `version: 1.0
provider:
  name: openfaas
  gateway: \${GATEWAY:-http://127.0.0.1:8080}
base: &base
  lang: node20
  handler: ./fn
functions:
  hello:
    <<: *base
    image: \${REGISTRY}/hello:0.1
    environment:
      write_debug: true
    labels:
      com.openfaas.scale.min: "1"
    secrets: [api-key]
    limits: {memory: 128Mi}
`;

t.test('random YAML values of every shape', async (t) => {
  const tally: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.anything({ maxDepth: 4 }), fc.dictionary(fc.string(), fc.anything({ maxDepth: 3 }))), async (v) => {
      let text: string | undefined;
      try {
        text = stringify(v);
      } catch {
        return true;
      }
      if (typeof text !== 'string') return true;
      const o = await outcome(text);
      tallyInto(tally, o.kind);
      return (o.kind === 'ok' || o.kind === 'stack-error') && o.ms < MAX_MS;
    }),
    { numRuns: runs(400), seed },
  );
  t.comment(`fuzz stack (random values): ${JSON.stringify({ seed, ...tally })}`);
  t.notOk(Object.keys(tally).some((k) => k.startsWith('unexpected')));
});

const FIELDS = ['image', 'lang', 'handler', 'fprocess', 'environment', 'environment_file', 'secrets', 'labels', 'annotations',
  'limits', 'requests', 'constraints', 'readonly_root_filesystem', 'namespace', 'skip_build', 'unknown_field', 'imgae'];
const wrongValue = fc.oneof(
  fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 10 }), fc.array(fc.oneof(fc.integer(), fc.string(), fc.dictionary(fc.string(), fc.integer())), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer()), fc.dictionary(fc.string(), fc.string()))),
);
const fnName = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  fc.constantFrom('..', '../etc', 'a/b', 'UPPER', 'ünï', '', ' ', 'a'.repeat(64), '-lead', 'trail-', '__proto__', 'constructor', '0', '%2e%2e', 'a\u0000b'),
  fc.string({ maxLength: 10 }),
);

t.test('stack-shaped documents with wrong types: typed error naming field and line', async (t) => {
  const tally: Record<string, number> = { inputs: 0, accepted: 0, refused: 0, problems: 0, problemsWithLine: 0 };
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fnName, fc.dictionary(fc.constantFrom(...FIELDS), wrongValue, { maxKeys: 6 }), { minKeys: 1, maxKeys: 3 }), async (functions) => {
      tally.inputs!++;
      const text = stringify({ version: '1.0', provider: { name: 'openfaas' }, functions });
      const o = await outcome(text);
      if (o.kind === 'ok') {
        tally.accepted!++;
        return o.ms < MAX_MS;
      }
      if (o.kind !== 'stack-error') throw new Error(o.kind);
      tally.refused!++;
      for (const p of o.err!.problems) {
        tally.problems!++;
        // Field problems name the field and, as the key is in the file, its line.
        if (/^line \d+: /.test(p)) tally.problemsWithLine!++;
        else if (/^functions\./.test(p)) throw new Error(`no line for ${JSON.stringify(p)}`);
      }
      return o.ms < MAX_MS;
    }),
    { numRuns: runs(400), seed },
  );
  t.comment(`fuzz stack (wrong types): ${JSON.stringify({ seed, ...tally })}`);
  t.ok(tally.refused! > 0 && tally.problemsWithLine! > 0);
});

t.test('mutations of a valid stack (text level)', async (t) => {
  const env = { REGISTRY: 'reg.local' };
  t.equal((await outcome(VALID, env)).kind, 'ok', 'the seed document itself is valid (with a merge key)');
  const tally: Record<string, number> = {};
  const edit = fc.tuple(
    fc.nat(),
    fc.nat({ max: 8 }),
    fc.oneof(
      fc.constantFrom('${', '${X', '${}', '${X:-', '${X:?err}', '${X^^}', '$', '}', '{', '[', ']', ':', ': ', '- ', '&a ', '*a', '*nope', '<<: ', '!!binary ', '!!set ',
        '\t', '\n', '\n  ', '"', "'", '#', '|', '>', '%YAML 1.1\n', '---\n', '...\n', '\u0000', '\ufeff', '\r\n', 'ünï', '__proto__: '),
      fc.string({ maxLength: 8 }),
    ),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
      let text = VALID;
      for (const [at, del, ins] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + ins + text.slice(i + del);
      }
      const o = await outcome(text, env);
      tallyInto(tally, o.kind);
      return (o.kind === 'ok' || o.kind === 'stack-error') && o.ms < MAX_MS;
    }),
    { numRuns: runs(600), seed },
  );
  t.comment(`fuzz stack (mutations): ${JSON.stringify({ seed, ...tally })}`);
  t.notOk(Object.keys(tally).some((k) => k.startsWith('unexpected')));
});

t.test('variable substitution: unsupported or unterminated forms are errors with a line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['image: ${IMG', /line 3: unterminated variable substitution \$\{IMG/],
    ['image: ${IMG:?required}', /line 3: unsupported variable substitution \$\{IMG:\?required\}/],
    ['image: ${}', /line 3: unsupported variable substitution/],
    ['image: ${1abc}', /line 3: unsupported/],
  ];
  for (const [line, want] of cases) {
    const o = await outcome(`functions:\n  f:\n    ${line}\n    skip_build: true\n`);
    t.equal(o.kind, 'stack-error', line);
    t.match(o.err?.message ?? '', want, line);
  }
  // Many bad substitutions: the list is capped, not one entry per occurrence.
  const many = await outcome(`functions:\n  f:\n    image: x\n    skip_build: true\n    fprocess: "${'${a b}'.repeat(5000)}"\n`);
  t.ok(many.err!.problems.length <= 25, `capped list (${many.err!.problems.length})`);
});

t.test('resource limits: alias bombs, huge, wide and deep documents', async (t) => {
  const rss0 = process.memoryUsage().rss;
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const p = String.fromCharCode(97 + i - 1);
    const c = String.fromCharCode(97 + i);
    laughs.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
  }
  const bomb = await outcome(`${laughs.join('\n')}\nfunctions:\n  f: {image: x, skip_build: true, labels: {k: *j}}\n`);
  t.equal(bomb.kind, 'stack-error', 'billion laughs refused');
  t.match(bomb.err?.message ?? '', /alias/i);

  const huge = await outcome(`functions:\n${'  # padding\n'.repeat(MAX_YAML_BYTES / 10)}`);
  t.match(huge.err?.message ?? '', /over the limit of \d+ bytes/, 'over the size limit: refused unread');

  // 20,000 keys in one map: the yaml package's own duplicate check took 16 s here (40,000: 73 s).
  const wide = `functions:\n  f:\n    image: x\n    skip_build: true\n    environment:\n${Array.from({ length: 20_000 }, (_, i) => `      k${i}: 1`).join('\n')}\n`;
  t.ok(wide.length < MAX_YAML_BYTES);
  const w = await outcome(wide);
  t.equal(w.kind, 'ok', `20,000 keys parsed in ${w.ms} ms`);
  t.ok(w.ms < MAX_MS, `wide map within ${MAX_MS} ms (${w.ms} ms)`);
  const dup = await outcome(`${wide}      k7: 2\n`);
  t.match(dup.err?.problems.join('\n') ?? '', /line \d+: duplicate key "k7"/, 'a duplicate key is still found, with its line');

  const deep = await outcome(`functions: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
  t.equal(deep.kind, 'stack-error', `20,000-deep nesting refused in ${deep.ms} ms`);
  const rss1 = process.memoryUsage().rss;
  t.ok(rss1 - rss0 < 512 * 1024 * 1024, `RSS ${Math.round(rss0 / 2 ** 20)} → ${Math.round(rss1 / 2 ** 20)} MiB`);
  t.comment(`fuzz stack (limits): ${JSON.stringify({ bombMs: bomb.ms, hugeMs: huge.ms, wideMs: w.ms, deepMs: deep.ms, rssBeforeMiB: Math.round(rss0 / 2 ** 20), rssAfterMiB: Math.round(rss1 / 2 ** 20) })}`);
});

t.test('template.yml and faas-ts.env.json: random content → a template or CLI_ERR_TEMPLATE', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tpl-fuzz-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tally: Record<string, number> = {};
  let n = 0;
  const manifest = fc.oneof(
    fc.anything({ maxDepth: 3 }).map((v) => {
      try {
        return String(stringify(v) ?? '');
      } catch {
        return '';
      }
    }),
    fc.record({ language: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,10}$/), fc.string(), fc.integer(), fc.constant(null)), fprocess: fc.oneof(fc.string(), fc.integer()), handler_folder: fc.oneof(fc.constantFrom('function', '../x', '/abs', '', 'a/../../b', '..'), fc.string()) }, { requiredKeys: [] }).map((v) => stringify(v)),
    fc.string({ maxLength: 40 }),
    fc.constant('a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nlanguage: x\n'),
  );
  const envFile = fc.option(
    fc.oneof(
      { weight: 3, arbitrary: fc.constant('{"mode":"streaming","fprocess":"cat"}') },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    ),
    { nil: undefined, freq: 6 },
  );
  await fc.assert(
    fc.asyncProperty(manifest, envFile, async (yml, env) => {
      const dir = join(root, `t${n++}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'template.yml'), yml);
      if (env !== undefined) writeFileSync(join(dir, 'faas-ts.env.json'), env);
      try {
        const tpl = await readTemplate(dir);
        tallyInto(tally, 'ok');
        if (tpl.handlerFolder.includes('..') || tpl.handlerFolder.startsWith('/')) throw new Error(`handler_folder escapes: ${tpl.handlerFolder}`);
        return true;
      } catch (err) {
        if (!CliError.is(err, 'CLI_ERR_TEMPLATE')) throw err;
        tallyInto(tally, 'template-error');
        return true;
      }
    }),
    { numRuns: runs(300), seed },
  );
  for (const lang of ['../etc', '..', 'a/b', '', '.hidden', 'x\u0000y', 'ünï']) {
    await t.rejects(findTemplate(lang, [root]), { code: 'CLI_ERR_TEMPLATE' }, `template name ${JSON.stringify(lang)} refused`);
  }
  t.comment(`fuzz template.yml: ${JSON.stringify({ seed, inputs: n, ...tally })}`);
});
