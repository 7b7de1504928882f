import t from 'tap';
import { readFileSync } from 'node:fs';
import { CliError, CliErrorCodes } from './errors.js';

t.test('every code is well-formed and documented', async (t) => {
  for (const [code, info] of Object.entries(CliErrorCodes)) {
    t.match(code, /^CLI_ERR_[A-Z_]+$/);
    t.ok(info.description.length > 0, `${code} has a description`);
    t.ok(info.exitCode === 1 || info.exitCode === 2, `${code} exits 1 or 2`);
  }
  t.equal(CliErrorCodes.CLI_ERR_USAGE.exitCode, 2, 'usage errors exit 2 like other CLIs');
});

t.test('CliError carries code, exit code, problems and cause', async (t) => {
  const cause = new Error('root');
  const e = new CliError('CLI_ERR_BUILD', 'failed', { cause });
  t.equal(e.code, 'CLI_ERR_BUILD');
  t.equal(e.exitCode, 1);
  t.equal(e.cause, cause);
  t.same(e.problems, []);
  const many = CliError.fromProblems('CLI_ERR_CONFIG', 'bad config', ['a is wrong', 'b is wrong']);
  t.equal(many.message, 'bad config:\n  - a is wrong\n  - b is wrong');
  t.same(many.problems, ['a is wrong', 'b is wrong']);
  t.ok(CliError.is(many));
  t.ok(CliError.is(many, 'CLI_ERR_CONFIG'));
  t.notOk(CliError.is(many, 'CLI_ERR_USAGE'));
  t.ok(CliError.is({ name: 'CliError', code: 'CLI_ERR_STACK' }), 'works across module copies');
  t.notOk(CliError.is({ name: 'CliError', code: 'NOPE' }));
  t.notOk(CliError.is(new Error('x')));
});

t.test('README documents exactly the CLI error codes, with their exit codes', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = [...readme.matchAll(/^\| `(CLI_ERR_[A-Z_]+)` \| (\d) \|/gm)].map((m) => [m[1], Number(m[2])]);
  t.same(
    documented,
    Object.entries(CliErrorCodes).map(([code, info]) => [code, info.exitCode]),
  );
});
