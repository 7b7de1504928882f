/**
 * Env config fuzz (issue #12): random and garbage values for every variable
 * the watchdog reads. loadConfig must return a config that honours each set
 * value or names it in a warning, or throw one ConfigError naming each bad
 * variable. The real binary must then either start and serve, or exit 1 with
 * one "Error loading config" line: never a stack trace.
 */
import fc from 'fast-check';
import t from 'tap';

import { ConfigError } from './errors.js';
import { loadConfig, type WatchdogConfig } from './config.js';
import { parseGoDuration } from './durations.js';
import { fuzzRuns, fuzzSeed } from './fixtures/fuzz.js';
import { request, spawnWatchdog, until } from './fixtures/harness.js';

const DURATIONS = { read_timeout: 'readTimeoutMs', write_timeout: 'writeTimeoutMs', exec_timeout: 'execTimeoutMs', healthcheck_interval: 'healthcheckIntervalMs' } as const;
const INTEGERS = { port: 'port', max_inflight: 'maxInflight' } as const;
const STRICT_FLAGS = ['suppress_lock', 'buffer_http', 'http_buffer_req_body'] as const;
const LENIENT_FLAGS = { prefix_logs: 'prefixLogs', log_callid: 'logCallId' } as const;
const OTHER = ['mode', 'fprocess', 'function_process', 'upstream_url', 'http_upstream_url', 'log_buffer_size', 'content_type',
  'static_path', 'ready_path', 'jwt_auth', 'lock_path', 'TMPDIR', 'metrics_port', 'bind_address', 'inproc_handler',
  'restart_policy', 'RAW_BODY', 'MAX_RAW_SIZE', 'MAX_JSON_SIZE', 'cgi_headers', 'combine_output', 'marshal_request', 'write_debug',
  'max_body_bytes'];
const ALL = [...Object.keys(DURATIONS), ...Object.keys(INTEGERS), ...STRICT_FLAGS, ...Object.keys(LENIENT_FLAGS), ...OTHER];

const value = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', '5', '+5', '070', '65536', '99999999999999999999', '1.5', '1e3', '0x10', ' 5', '5 ',
    '10s', '500ms', '1m30s', '-5s', '1.5h', '999999h', '30d', '25000h', '0.5ns', '1µs', '.5s', '5.s',
    'true', 'false', 'TRUE', 'T', 'f', 'yes', 'no', 'on',
    'http', 'streaming', 'serializing', 'static', 'inproc', 'classic', 'afterburn', 'HTTP',
    'cat', 'cat  -', 'http://127.0.0.1:3000', 'http://', 'ftp://x', 'http://[::1', 'http://a b', 'http://h:99999',
    'text/plain', 'a\nb', 'x\r\ny', 'ünï', '€', '/', '/_/ready', 'no-slash', '/a b', '/tmp', '/proc/x', '/dev/null/x',
    'always', 'never', '100kb', '1mb', '1.5gb', '10 kb', 'kb', '256.0.0.1', '::1', 'localhost', '\u0007', '$(id)', '../..'),
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^[0-9a-z.µ+-]{1,10}$/),
  fc.integer({ min: 200, max: 5000 }).map((n) => 'x'.repeat(n)),
);

const envArb = fc.dictionary(fc.constantFrom(...ALL), value, { maxKeys: 8 });

function named(problem: string): boolean {
  return problem.startsWith('provide a "function_process" or "fprocess"') || ALL.some((k) => problem.startsWith(`${k}: `));
}

/** What a set value must become, or undefined when the value is not valid input. */
function expectedDuration(v: string): number | undefined {
  if (/^\+?\d+$/.test(v)) return Number(v) * 1000;
  const d = parseGoDuration(v);
  return d === undefined || d < 0 ? undefined : d;
}

function goInt(v: string): number | undefined {
  return /^[+-]?\d+$/.test(v) ? Number(v) : undefined;
}

const LENIENT_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const LENIENT_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** Every variable the fuzzer set is reflected in `c` or named by a warning: returns the ones that are not. */
function silentlyWrong(env: Record<string, string>, c: WatchdogConfig): string[] {
  const warned = (k: string): boolean => c.warnings.some((w) => w.startsWith(`${k}: `));
  const wrong: string[] = [];
  for (const [k, field] of Object.entries(DURATIONS)) {
    const v = env[k];
    if (v === undefined || v === '') continue;
    const want = expectedDuration(v);
    if (want === undefined ? !warned(k) : c[field] !== want) wrong.push(k);
    if (!(c[field] <= 2 ** 31 - 1)) wrong.push(`${k} (over the timer ceiling)`);
  }
  for (const [k, field] of Object.entries(INTEGERS)) {
    const v = env[k];
    if (v === undefined || v === '') continue;
    const want = goInt(v);
    if (want === undefined ? !warned(k) : c[field] !== want) wrong.push(k);
  }
  const mbb = env.max_body_bytes;
  if (mbb !== undefined && mbb !== '' && (goInt(mbb) === undefined ? !warned('max_body_bytes') : c.maxBodyBytes !== Math.max(goInt(mbb)!, 0))) {
    wrong.push('max_body_bytes');
  }
  for (const k of STRICT_FLAGS) {
    const v = env[k];
    if (v !== undefined && !['', 'true', '1', 'false', '0'].includes(v) && !warned(k)) wrong.push(k);
  }
  for (const [k, field] of Object.entries(LENIENT_FLAGS)) {
    const v = env[k];
    if (v === undefined || v === '') continue;
    if (LENIENT_TRUE.includes(v) ? c[field] !== true : LENIENT_FALSE.includes(v) ? c[field] !== false : !warned(k)) wrong.push(k);
  }
  if (env.content_type !== undefined && c.contentType !== env.content_type) wrong.push('content_type');
  if (/[^\t\x20-\x7e\x80-\xff]/.test(c.contentType)) wrong.push('content_type (not a header value)');
  if (c.readyPath !== '' && !/^\/[\x21-\x7e]*$/.test(c.readyPath)) wrong.push('ready_path (not a path)');
  return wrong;
}

t.test('loadConfig: a config honouring every value (or warning), or one ConfigError naming each bad variable', async (t) => {
  const seed = fuzzSeed();
  const tally = { inputs: 0, accepted: 0, acceptedWithWarnings: 0, refused: 0 };
  await fc.assert(
    fc.property(envArb, (env) => {
      tally.inputs++;
      let c: WatchdogConfig;
      try {
        c = loadConfig({ fprocess: 'cat', ...env }, { cwd: '/srv' });
      } catch (err) {
        tally.refused++;
        if (!(err instanceof ConfigError) || err.code !== 'WD_ERR_CONFIG') throw new Error(`not a ConfigError: ${String(err)}`);
        const unnamed = err.problems.filter((p) => !named(p));
        if (unnamed.length > 0) throw new Error(`problems naming no variable: ${JSON.stringify(unnamed)}`);
        return true;
      }
      tally.accepted++;
      if (c.warnings.length > 0) tally.acceptedWithWarnings++;
      const wrong = silentlyWrong(env, c);
      if (wrong.length > 0) throw new Error(`silently wrong: ${wrong.join(', ')} from ${JSON.stringify(env).slice(0, 300)}`);
      if (!Object.isFrozen(c)) throw new Error('config not frozen');
      return true;
    }),
    { numRuns: fuzzRuns(4000), seed },
  );
  t.comment(`fuzz config (in process): ${JSON.stringify({ seed, ...tally })}`);
  t.ok(tally.refused > 0 && tally.accepted > 0, 'both outcomes were exercised');
});

t.test('the real watchdog: starts and serves, or exits 1 with one error line and no stack', async (t) => {
  const seed = fuzzSeed();
  const tally = { inputs: 0, started: 0, exited1: 0 };
  // Variables that do not move the listener away from the harness's loopback ephemeral port.
  const processEnv = fc.dictionary(
    fc.constantFrom(...Object.keys(DURATIONS), 'max_inflight', ...STRICT_FLAGS.filter((k) => k !== 'suppress_lock'), ...Object.keys(LENIENT_FLAGS),
      'mode', 'content_type', 'ready_path', 'log_buffer_size', 'restart_policy', 'MAX_RAW_SIZE', 'upstream_url', 'jwt_auth', 'cgi_headers'),
    value,
    { minKeys: 1, maxKeys: 5 },
  );
  await fc.assert(
    fc.asyncProperty(processEnv, async (env) => {
      tally.inputs++;
      const teardowns: Array<() => unknown> = [];
      const scope = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
      try {
        // static/inproc need no function; the others run `cat`.
        const w = spawnWatchdog(scope, { fprocess: 'cat', static_path: '/tmp', ...env });
        let listening: number | undefined;
        let exit: { code: number | null } | undefined;
        void w.exited.then((e) => (exit = e));
        await until(() => {
          const m = /Listening on port: (\d+)/.exec(w.stderr());
          if (m) listening = Number(m[1]);
          return listening !== undefined || exit !== undefined;
        }, 15_000, 'started or exited');
        if (listening === undefined) {
          tally.exited1++;
          const errLines = w.stderr().split('\n').filter((l) => /^Error loading config: | Error starting watchdog: /.test(l));
          if (exit!.code !== 1) throw new Error(`exit ${exit!.code}: ${w.stderr().slice(-300)}`);
          if (/\n\s+at /.test(w.stderr())) throw new Error(`stack trace: ${w.stderr().slice(-300)}`);
          if (errLines.length !== 1) throw new Error(`want one error line: ${w.stderr().slice(-300)}`);
          return true;
        }
        tally.started++;
        const health = await request(listening, { path: '/_/health' });
        await request(listening, { method: 'POST', path: '/fuzz', body: 'x' }).catch(() => undefined);
        await request(listening, { path: '/_/ready' }).catch(() => undefined);
        if (health.status !== 200) throw new Error(`health ${health.status}`);
        if (exit !== undefined || w.proc.exitCode !== null) throw new Error(`died serving: ${w.stderr().slice(-300)}`);
        return true;
      } finally {
        for (const fn of teardowns.reverse()) await fn();
      }
    }),
    { numRuns: fuzzRuns(16), seed },
  );
  t.comment(`fuzz config (processes): ${JSON.stringify({ seed, ...tally })}`);
  t.ok(tally.inputs > 0);
});

t.test('regressions found by the fuzzer', async (t) => {
  const base = { fprocess: 'cat' };
  // Over setTimeout's ceiling node fires after 1 ms: every connection was cut at once.
  t.throws(() => loadConfig({ ...base, write_timeout: '999999h' }), { message: /write_timeout: "999999h" is longer than/ });
  t.throws(() => loadConfig({ ...base, exec_timeout: '720h' }), { message: /exec_timeout/ });
  // A newline in content_type crashed the watchdog on its first request (ERR_INVALID_CHAR).
  t.throws(() => loadConfig({ ...base, content_type: 'a\nb' }), { message: /content_type: "a\\nb" is not a valid header value/ });
  t.throws(() => loadConfig({ ...base, ready_path: '/a b' }), { message: /ready_path/ });
  // Lenient upstream rules stay, but are no longer silent.
  const c = loadConfig({ ...base, port: 'abc', read_timeout: 'soon', suppress_lock: 'yes', prefix_logs: 'maybe' });
  t.equal(c.port, 0);
  t.equal(c.readTimeoutMs, 30_000);
  t.same(c.warnings.map((w) => w.split(':')[0]).sort(), ['port', 'prefix_logs', 'read_timeout', 'suppress_lock']);
  t.same(loadConfig({ ...base, read_timeout: '10s', port: '0' }).warnings, []);
});
