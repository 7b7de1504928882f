import t from 'tap';
import { loadConfig } from './config.js';
import { formatGoDuration, parseGoDuration, parseIntOrDuration } from './durations.js';
import { ConfigError } from './errors.js';

const base = { fprocess: 'cat' };

t.test('defaults with only fprocess (checklist 1)', async (t) => {
  const c = loadConfig(base);
  t.equal(c.mode, 'streaming');
  t.equal(c.port, 8080);
  t.equal(c.metricsPort, 8081);
  t.equal(c.readTimeoutMs, 30_000);
  t.equal(c.writeTimeoutMs, 30_000);
  t.equal(c.execTimeoutMs, 30_000);
  t.equal(c.healthcheckIntervalMs, 30_000);
  t.equal(c.maxInflight, 0);
  t.equal(c.prefixLogs, true);
  t.equal(c.logBufferSize, 65536);
  t.equal(c.logCallId, false);
  t.equal(c.bufferHttpBody, false);
  t.equal(c.contentType, 'application/octet-stream');
  t.equal(c.suppressLock, false);
  t.equal(c.staticPath, '/home/app/public');
  t.equal(c.readyPath, '');
  t.equal(c.lockPath, '/tmp/.lock');
  t.equal(c.bindAddress, undefined);
  t.equal(c.restartPolicy, 'always');
  t.ok(Object.isFrozen(c));
  t.same(c.env, { fprocess: 'cat' });
});

t.test('missing fprocess is an error unless static/inproc (checklist 2)', async (t) => {
  t.throws(() => loadConfig({}), { name: 'ConfigError', message: /provide a "function_process" or "fprocess"/ });
  t.throws(() => loadConfig({ mode: 'http', upstream_url: 'http://127.0.0.1:3000' }), ConfigError);
  t.equal(loadConfig({ mode: 'static' }).mode, 'static');
  t.equal(loadConfig({ mode: 'inproc' }).mode, 'inproc');
});

t.test('aliases win (checklist 3)', async (t) => {
  const c = loadConfig({
    fprocess: 'a',
    function_process: 'b',
    mode: 'http',
    upstream_url: 'http://127.0.0.1:1',
    http_upstream_url: 'http://127.0.0.1:2',
  });
  t.equal(c.fprocess, 'b');
  t.equal(c.upstreamUrl, 'http://127.0.0.1:2');
});

t.test('durations (checklist 4, 5)', async (t) => {
  t.throws(() => loadConfig({ ...base, write_timeout: '0' }), { message: /HTTP write timeout must be over 0s/ });
  t.equal(loadConfig({ ...base, read_timeout: '5' }).readTimeoutMs, 5000);
  t.equal(loadConfig({ ...base, read_timeout: '5s' }).readTimeoutMs, 5000);
  t.equal(loadConfig({ ...base, read_timeout: '1m' }).readTimeoutMs, 60_000);
  t.equal(loadConfig({ ...base, read_timeout: 'abc' }).readTimeoutMs, 30_000);
  t.equal(loadConfig({ ...base, read_timeout: '-1' }).readTimeoutMs, 30_000);
  t.equal(loadConfig({ ...base, exec_timeout: '0' }).execTimeoutMs, 0);
  t.equal(loadConfig({ ...base, exec_timeout: '1m30s' }).execTimeoutMs, 90_000);
  t.equal(loadConfig({ ...base, write_timeout: '12s' }).healthcheckIntervalMs, 12_000);
  t.equal(loadConfig({ ...base, write_timeout: '12s', healthcheck_interval: 'x' }).healthcheckIntervalMs, 12_000);
  t.equal(loadConfig({ ...base, healthcheck_interval: '2' }).healthcheckIntervalMs, 2000);
});

t.test('modes and upstream (checklist 6)', async (t) => {
  t.throws(() => loadConfig({ ...base, mode: 'http' }), { message: /upstream_url/ });
  t.throws(() => loadConfig({ ...base, mode: 'afterburn' }), { message: /mode: unknown mode "afterburn"/ });
  t.throws(() => loadConfig({ ...base, mode: 'http', upstream_url: 'ftp://x' }), { message: /not an http URL/ });
  t.equal(loadConfig({ ...base, mode: '' }).mode, 'streaming');
  for (const m of ['streaming', 'serializing', 'classic']) t.equal(loadConfig({ ...base, mode: m }).mode, m);
});

t.test('log_buffer_size (checklist 7)', async (t) => {
  t.throws(() => loadConfig({ ...base, log_buffer_size: 'abc' }), { message: /log_buffer_size: not an integer: "abc"/ });
  t.equal(loadConfig({ ...base, log_buffer_size: '-1' }).logBufferSize, -1);
  t.equal(loadConfig({ ...base, log_buffer_size: '128' }).logBufferSize, 128);
});

t.test('booleans (checklist 8)', async (t) => {
  t.equal(loadConfig({ ...base, suppress_lock: '1' }).suppressLock, true);
  t.equal(loadConfig({ ...base, suppress_lock: 'true' }).suppressLock, true);
  t.equal(loadConfig({ ...base, suppress_lock: 'yes' }).suppressLock, false);
  t.equal(loadConfig({ ...base, buffer_http: '1' }).bufferHttpBody, true);
  t.equal(loadConfig({ ...base, http_buffer_req_body: 'true' }).bufferHttpBody, true);
  t.equal(loadConfig({ ...base, prefix_logs: 'F' }).prefixLogs, false);
  t.equal(loadConfig({ ...base, prefix_logs: 'nonsense' }).prefixLogs, true);
  t.equal(loadConfig({ ...base, log_callid: 't' }).logCallId, true);
});

t.test('integers: unparsable port/max_inflight become 0 (quirk)', async (t) => {
  t.equal(loadConfig({ ...base, port: 'abc' }).port, 0);
  t.equal(loadConfig({ ...base, port: '9000' }).port, 9000);
  t.equal(loadConfig({ ...base, max_inflight: 'x' }).maxInflight, 0);
  t.equal(loadConfig({ ...base, max_inflight: '3' }).maxInflight, 3);
  t.throws(() => loadConfig({ ...base, port: '70000' }), { message: /port: out of range/ });
});

t.test('our additions', async (t) => {
  t.equal(loadConfig({ ...base, TMPDIR: '/var/x' }).lockPath, '/var/x/.lock');
  t.equal(loadConfig({ ...base, TMPDIR: '/var/x', lock_path: '/a/b' }).lockPath, '/a/b');
  t.equal(loadConfig({ ...base, metrics_port: '0' }).metricsPort, 0);
  t.equal(loadConfig({ ...base, metrics_port: '9100' }).metricsPort, 9100);
  t.throws(() => loadConfig({ ...base, metrics_port: 'nine' }), { message: /metrics_port: not a port number: "nine"/ });
  t.equal(loadConfig({ ...base, bind_address: '127.0.0.1' }).bindAddress, '127.0.0.1');
  t.equal(loadConfig({ mode: 'inproc' }, { cwd: '/srv/fn' }).inprocHandler, '/srv/fn/handler.js');
  t.equal(loadConfig({ mode: 'inproc', inproc_handler: 'h/x.cjs' }, { cwd: '/srv' }).inprocHandler, '/srv/h/x.cjs');
  t.equal(loadConfig({ mode: 'inproc', inproc_handler: '/abs.js' }).inprocHandler, '/abs.js');
  t.equal(loadConfig({ ...base, restart_policy: 'never' }).restartPolicy, 'never');
  t.throws(() => loadConfig({ ...base, restart_policy: 'sometimes' }), { message: /restart_policy/ });
  t.equal(loadConfig({ mode: 'inproc', MAX_JSON_SIZE: '1mb' }).maxJsonSizeBytes, 1024 * 1024);
  t.equal(loadConfig({ mode: 'inproc', RAW_BODY: 'true' }).rawBody, true);
});

t.test('jwt_auth is refused, not ignored', async (t) => {
  t.throws(() => loadConfig({ ...base, jwt_auth: 'true' }), { message: /jwt_auth: JWT authentication is not supported/ });
  t.equal(loadConfig({ ...base, jwt_auth: 'false' }).mode, 'streaming');
});

t.test('classic defaults', async (t) => {
  const c = loadConfig({ fprocess: 'cat', mode: 'classic' });
  t.equal(c.execTimeoutMs, 0);
  t.equal(c.contentType, '');
  t.equal(c.cgiHeaders, true);
  t.equal(c.combineOutput, true);
  t.equal(loadConfig({ fprocess: 'cat', mode: 'classic', combine_output: 'false' }).combineOutput, false);
  t.equal(loadConfig({ fprocess: 'cat', mode: 'classic', cgi_headers: '1' }).cgiHeaders, false);
  t.equal(loadConfig({ fprocess: 'cat', mode: 'classic', marshal_request: 'true' }).marshalRequest, true);
});

t.test('every problem is reported at once', async (t) => {
  try {
    loadConfig({ write_timeout: '0', log_buffer_size: 'q', mode: 'nope', metrics_port: '-5' });
    t.fail('should throw');
  } catch (err) {
    const e = err as ConfigError;
    t.equal(e.code, 'WD_ERR_CONFIG');
    t.equal(e.problems.length, 5);
    t.match(e.message, /write_timeout.*log_buffer_size|mode.*write_timeout/);
    t.match(e.message, /"q"/);
    t.match(e.message, /"-5"/);
  }
});

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('500ms'), 500);
  t.equal(parseGoDuration('1h2m3s'), 3_723_000);
  t.equal(parseGoDuration('1.5s'), 1500);
  t.equal(parseGoDuration('5'), undefined);
  t.equal(parseGoDuration('0'), 0);
  t.equal(parseGoDuration(''), undefined);
  t.equal(parseIntOrDuration(undefined, 7), 7);
  t.equal(formatGoDuration(30_000), '30s');
  t.equal(formatGoDuration(60_000), '1m0s');
  t.equal(formatGoDuration(90_500), '1m30.5s');
  t.equal(formatGoDuration(500), '500ms');
  t.equal(formatGoDuration(0), '0s');
  t.equal(formatGoDuration(3_600_000), '1h0m0s');
});
