/**
 * Property-based fuzzing of names, paths, methods and query strings on every
 * gateway route (/system/*, /function/NAME, /async-function/NAME, /healthz,
 * /metrics, /ui), against `faas-ts up` as a
 * real child process. Invalid names (traversal, `%2e%2e`, `/`, NUL, unicode,
 * RTL, very long) must be a clear 4xx (or the router's 301/404), never reach
 * the filesystem, never crash or hang the gateway.
 *
 * Seed: fixed (reproducible); FUZZ_SEED=random or FUZZ_SEED=<n> to vary.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  FN,

  Tally,
  UPSTREAM_TIMEOUT_MS,
  WRITE_TIMEOUT_MS,
  call,
  checkRss,
  checkUnharmed,
  fuzzSeed,
  expectAnswer,
  property,
  send,
  settledRssKiB,
  startFuzzGateway,
} from './fuzz-gateway-support.js';

const seed = fuzzSeed();
const tally = new Tally();
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const isLabel = (s: string) => s.length <= 63 && DNS1123.test(s);




/** Names that are not DNS-1123 labels: traversal, separators, control and bidi characters, case, length. */
const badName = fc
  .oneof(
    fc.constantFrom(
      '..', '.', '...', '../etc', '..%2f..%2fetc', '%2e%2e', '%2E%2E%2F', 'a/../b', 'a%2fb', '%00', 'a%00b', '%0d%0aX-Injected:%201',
      'A', 'Hello', '-a', 'a-', 'a_b', 'a b', 'é', '\u202eevil', '\u0000', '\ufeff', '😀', 'a'.repeat(64), 'a'.repeat(5000), 'con', '*', '%',
      '%zz', '~', '$(id)', '`id`', ';ls', "a'b", 'a"b', '<script>', '\\..\\', 'a\\b',
    ),
    fc.string({ minLength: 1, maxLength: 80 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  )
  .filter((s) => !isLabel(s));

/** A name as it appears in a path: raw for the listed literal attacks, else percent-encoded. */
const inPath = (s: string) => (/^[\x21-\x7e]*$/.test(s) && !/[?#/]/.test(s.replace(/%2f/gi, '')) ? s : encodeURIComponent(s));
const validUnknown = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/).filter((s) => s !== FN && !s.startsWith('fz-'));

t.test('names, paths and queries under fuzzing', async (t) => {
  const gw = await startFuzzGateway(t, { max_retry_attempts: '1' });
  for (let i = 0; i < 20; i++) await call(gw, 'GET', '/system/functions');
  const rssBefore = await settledRssKiB(gw);

  await t.test('router edge cases', async (t) => {
    const cases: [string, string, number, string, string?][] = [
      ['GET', '/function/', 404, '404 page not found\n'],
      ['POST', '/function/?a=1', 404, '404 page not found\n'],
      ['POST', '/async-function/', 404, '404 page not found\n'],
      ['GET', '/ui', 404, '404 page not found\n'],
      ['GET', '/system/function/', 404, '404 page not found\n'],
      ['POST', '/system/scale-function/', 404, '404 page not found\n'],
      ['GET', '/function/..', 301, '', '/'],
      ['GET', '/system/function/../functions', 301, '', '/system/functions'],
      ['GET', `//function/${FN}?x=1`, 301, '', `/function/${FN}?x=1`],
      ['PATCH', '/system/functions', 405, ''],
      ['GET', '/system/alert', 405, ''],
      ['GET', '/async-function/x', 405, ''],
    ];
    for (const [method, path, status, body, location] of cases) {
      const a = await send(gw, tally, 'router edge cases', method, path);
      t.equal(a.status, status, `${method} ${path}`);
      t.equal(a.text, body, `${method} ${path} body`);
      if (location !== undefined) t.equal(a.headers.location, location, `${method} ${path} location`);
    }
    // UI paths that climb out of ui_dir, raw, encoded and double-encoded: never a file outside it.
    for (const path of ['/ui/..%2fpackage.json', '/ui/%2e%2e/package.json', '/ui/%2e%2e%2fpackage.json', '/ui/%252e%252e%252fpackage.json', '/ui/js/..%2f..%2fpackage.json', '/ui/..%5cpackage.json', '/ui/%00index.html', '/ui/index.html%00.js']) {
      const a = await send(gw, tally, 'router edge cases', 'GET', path);
      t.equal(a.status, 404, `${path} is 404`);
      t.notMatch(a.text, /"name": "faas-ts"/, `${path} does not serve package.json`);
    }
    // A scale request needs a body (upstream: invalid JSON, 400); an empty one must not scale to 0.
    const a = await send(gw, tally, 'router edge cases', 'POST', `/system/scale-function/${FN}`);
    t.equal(a.status, 400, 'scale without a body is a 400');
    const st = JSON.parse((await call(gw, 'GET', `/system/function/${FN}`)).text) as { replicas?: number };
    t.equal(st.replicas, 1, `${FN} still has its replica`);
  });

  await t.test('upstream faults: documented 5xx within upstream_timeout', async (t) => {
    let t0 = Date.now();
    let a = await send(gw, tally, 'upstream faults', 'GET', `/function/${FN}?sleep=${UPSTREAM_TIMEOUT_MS + 3_000}`);
    t.equal(a.status, 502, 'a function slower than upstream_timeout is a 502');
    t.equal(a.text, '', 'with an empty body (spec §1.1)');
    t.ok(Date.now() - t0 <= UPSTREAM_TIMEOUT_MS + 2_000, `answered after ${Date.now() - t0} ms (upstream_timeout ${UPSTREAM_TIMEOUT_MS} ms)`);
    t0 = Date.now();
    a = await send(gw, tally, 'upstream faults', 'GET', `/function/${FN}?fail=503`);
    t.equal(a.status, 503, "a function's own 503 is relayed");
  });

  await t.test('X-Callback-Url on /async-function: 202 when it parses, else 400', async (t) => {
    // Only loopback callbacks (port 9, discard) can be valid: the worker posts to them.
    const callback = fc.oneof(
      fc.string({ maxLength: 40 }).filter((s) => !URL.canParse(s.trim()) && !/[\r\n\0]/.test(s)),
      fc.constantFrom('http://', 'http://[::1', 'http://127.0.0.1:99999/', '://x', 'ht tp://x', '127.0.0.1:9', '%', 'http://%zz/'),
      fc.webPath().map((p) => `http://127.0.0.1:9${p}`),
    );
    await property(
      t,
      'X-Callback-Url',
      callback,
      async (cb) => {
        const value = cb.replace(/[^\t\x20-\x7e]/g, '');
        const a = await send(gw, tally, 'POST /async-function/NAME', 'POST', '/async-function/fz-none', { headers: { 'x-callback-url': value }, body: 'x' });
        // Header values are trimmed on the wire.
        const parses = value.trim() === '' || URL.canParse(value.trim());
        expectAnswer(a, parses ? [202] : [400], `X-Callback-Url ${JSON.stringify(value)}`);
      },
      150,
    );
  });

  await t.test('invalid names in path parameters', async (t) => {
    await property(
      t,
      'path names',
      fc.tuple(badName, fc.integer({ min: 0, max: 7 })),
      async ([name, which]) => {
        const p = inPath(name);
        const cases: [string, string, string, number[], string?][] = [
          ['GET /system/function/NAME', 'GET', `/system/function/${p}`, [301, 400, 404]],
          ['POST /system/scale-function/NAME', 'POST', `/system/scale-function/${p}`, [301, 400, 404], '{"replicas":1}'],
          ['GET /system/namespace/NS', 'GET', `/system/namespace/${p}`, [301, 400, 404]],
          ['POST /system/namespace/NS', 'POST', `/system/namespace/${p}`, [301, 400, 404], '{}'],
          ['DELETE /system/namespace/NS', 'DELETE', `/system/namespace/${p}`, [301, 400, 404]],
          // Unknown (or unreachable) function names: 404 from the scale-from-zero lookup.
          ['ANY /function/NAME', ['GET', 'POST', 'PUT', 'DELETE'][which % 4]!, `/function/${p}`, [301, 400, 404]],
          // Upstream does not check names or existence on the async route: 202 or the router's 404.
          ['POST /async-function/NAME', 'POST', `/async-function/${p}`, [202, 301, 400, 404], 'x'],
          ['GET /ui/PATH', 'GET', `/ui/${p}`, [200, 301, 400, 404]],
        ];
        const [group, method, path, allowed, body] = cases[which]!;
        const a = await send(gw, tally, group, method, path, { body });
        // The bare function names a path can still resolve to after decoding (e.g. `~`) are unknown: never 200.
        expectAnswer(a, allowed, `${group} ${JSON.stringify(path).slice(0, 200)}`, { newline: !group.includes('/function/') });
        if (group === 'GET /ui/PATH' && a.status === 200) {
          if (/root:x:0|"name": "faas-ts"|BEGIN .*PRIVATE KEY/.test(a.text)) throw new Error(`${path} served a file outside ui_dir`);
        }
        if (a.status === 301 && !String(a.headers.location ?? '').startsWith('/')) {
          throw new Error(`${path}: 301 to ${String(a.headers.location)} (not a local path)`);
        }
      },
      800,
    );
  });

  await t.test('invalid names and namespaces in bodies and queries', async (t) => {
    await property(
      t,
      'body and query names',
      fc.tuple(badName, fc.integer({ min: 0, max: 8 })),
      async ([name, which]) => {
        const q = encodeURIComponent(name);
        const cases: [string, string, string, number[], unknown?][] = [
          ['POST /system/functions', 'POST', '/system/functions', [400], { service: name, image: 'x:latest' }],
          ['POST /system/functions', 'POST', '/system/functions', [400], { service: 'fz-x', image: 'x:latest', namespace: name }],
          ['DELETE /system/functions', 'DELETE', '/system/functions', [400], { functionName: name }],
          ['POST /system/secrets', 'POST', '/system/secrets', [400], { name, value: 'v' }],
          ['POST /system/secrets', 'POST', '/system/secrets', [400], { name: 'fz-s', namespace: name, value: 'v' }],
          ['GET /system/functions?namespace', 'GET', `/system/functions?namespace=${q}`, [400]],
          ['GET /system/secrets?namespace', 'GET', `/system/secrets?namespace=${q}`, [400]],
          ['GET /system/logs?name', 'GET', `/system/logs?name=${q}`, [400]],
          ['GET /system/logs?namespace', 'GET', `/system/logs?name=${FN}&namespace=${q}`, [400]],
        ];
        // Secret names are DNS-1123 subdomains (up to 253 characters, dots allowed).
        if (which === 3 && name.length <= 253 && DNS1123_SUBDOMAIN.test(name)) return;
        const [group, method, path, allowed, body] = cases[which]!;
        const a = await send(gw, tally, group, method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        expectAnswer(a, allowed, `${group} ${JSON.stringify(name).slice(0, 100)}`);
      },
      700,
    );
  });

  await t.test('unknown but valid names are 404 (never a 5xx)', async (t) => {
    await property(
      t,
      'unknown names',
      fc.tuple(validUnknown, fc.integer({ min: 0, max: 4 })),
      async ([name, which]) => {
        const cases: [string, string, string, number[], unknown?][] = [
          ['GET /system/function/NAME', 'GET', `/system/function/${name}`, [404]],
          ['POST /system/scale-function/NAME', 'POST', `/system/scale-function/${name}`, [404], { replicas: 1 }],
          ['ANY /function/NAME', 'POST', `/function/${name}`, [404]],
          ['PUT /system/functions', 'PUT', '/system/functions', [404], { service: name, image: 'x:latest' }],
          ['GET /system/logs?name', 'GET', `/system/logs?name=${name}`, [404]],
        ];
        const [group, method, path, allowed, body] = cases[which]!;
        const a = await send(gw, tally, group, method, path, body === undefined ? {} : { body: JSON.stringify(body) });
        expectAnswer(a, allowed, `${group} ${name}`, { newline: group !== 'ANY /function/NAME' });
      },
      300,
    );
  });

  await t.test('random paths and methods: router answers only', async (t) => {
    const seg = fc.oneof(
      fc.constantFrom('system', 'function', 'functions', 'async-function', 'scale-function', 'secrets', 'namespace', 'namespaces', 'logs', 'info', 'alert', 'ui', 'healthz', 'metrics', FN, '', '.', '..', '%2e%2e', '%2F', 'index.html', 'js'),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE');
    await property(
      t,
      'random paths',
      fc.tuple(method, fc.array(seg, { minLength: 0, maxLength: 5 }), fc.boolean(), fc.option(fc.string({ maxLength: 30 }).map(encodeURIComponent))),
      async ([m, segs, auth, query]) => {
        const path = `/${segs.join('/')}${query === null ? '' : `?${query}`}`;
        // Scale routes without a body, function DELETE etc. are all fine; what matters is no 5xx
        // except the invocation route's documented upstream faults, and the body shape.
        const invocation = path.startsWith(`/function/${FN}`) || path.startsWith('/function/');
        const allowed = [200, 201, 202, 204, 301, 307, 400, 401, 404, 405, 409, 413, 422, ...(invocation ? [500, 502, 503] : [])];
        const a = await send(gw, tally, 'random path/method', m, path, { auth });
        // HEAD answers carry no body to check.
        if (m === 'HEAD') {
          if (!allowed.includes(a.status)) throw new Error(`HEAD ${path}: ${a.status}`);
          return;
        }
        expectAnswer(a, allowed, `${m} ${path}`, { newline: !invocation && !path.startsWith('/system/alert') });
        // Without credentials nothing under /system or /ui is ever served.
        if (!auth && /^\/(system|ui)(\/|\?|$)/.test(path) && a.status >= 200 && a.status < 300) {
          throw new Error(`${m} ${path} without credentials: ${a.status} ${a.text.slice(0, 100)}`);
        }
      },
      700,
    );
  });

  await t.test('wrong credentials on every protected route are a 401', async (t) => {
    const password = Buffer.from(gw.auth.slice('Basic '.length), 'base64').toString().slice('admin:'.length);
    const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
    const header = fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
      fc.string({ maxLength: 30 }).map((s) => `Basic ${b64(`admin:${s}`)}`),
      fc.string({ maxLength: 30 }).map((s) => `Basic ${b64(s)}`),
      fc.constantFrom(
        `Basic ${b64(`admin:${password.slice(0, -1)}`)}`,
        `Basic ${b64(`admin:${password}x`)}`,
        `Basic ${b64(`Admin:${password}`)}`,
        `Basic ${b64(`admin :${password}`)}`,
        `Basic ${b64(`:${password}`)}`,
        `Basic ${b64(password)}`,
        `Bearer ${password}`,
        // Cut by one base64 quantum: the last password bytes are gone. (Cutting only the `=`
        // padding still decodes to the right password, which node's lenient decoder accepts.)
        `Basic ${b64(`admin:${password}`).replace(/=+$/, '').slice(0, -4)}`,
        'Basic', 'Basic ', 'Basic ====', `Basic ${b64('admin:')}`,
      ),
    );
    const routes: [string, string][] = [
      ['GET', '/system/functions'], ['POST', '/system/functions'], ['PUT', '/system/functions'], ['DELETE', '/system/functions'],
      ['GET', `/system/function/${FN}`], ['POST', `/system/scale-function/${FN}`], ['GET', '/system/info'], ['POST', '/system/alert'],
      ['GET', '/system/secrets'], ['POST', '/system/secrets'], ['PUT', '/system/secrets'], ['DELETE', '/system/secrets'],
      ['GET', `/system/logs?name=${FN}`], ['GET', '/system/namespaces'], ['GET', '/system/namespace/openfaas-fn'], ['POST', '/system/namespace/fz-ns'],
      ['GET', '/ui/'], ['GET', '/ui/index.html'],
    ];
    await property(
      t,
      'wrong credentials',
      fc.tuple(fc.constantFrom(...routes), fc.option(header, { nil: undefined })),
      async ([[method, path], authorization]) => {
        const a = await send(gw, tally, 'wrong credentials', method, path, {
          auth: false,
          headers: authorization === undefined ? {} : { authorization },
          ...(method === 'GET' ? {} : { body: '{"service":"fz-x","image":"x","name":"fz-x","replicas":0}' }),
        });
        if (a.status !== 401 || a.text !== 'invalid credentials') throw new Error(`${method} ${path} with ${JSON.stringify(authorization)}: ${a.status} ${a.text.slice(0, 100)}`);
      },
      300,
    );
  });

  await t.test('/system/logs query parameters', async (t) => {
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', '0', '-1', '10', '1e3', '99999999999999999999', '2026-11-28T00:00:00Z', '2026-13-45T99:99:99Z', 'true', 'false', '1', 'yes'));
    await property(
      t,
      'logs query',
      fc.record({ tail: fc.option(value), since: fc.option(value), follow: fc.option(value), instance: fc.option(value), namespace: fc.option(fc.constantFrom('', 'openfaas-fn', 'BAD', 'fz-none')) }),
      async (q) => {
        const params = new URLSearchParams({ name: FN });
        for (const [k, v] of Object.entries(q)) if (v !== null) params.append(k, v);
        // follow=true streams until write_timeout: keep those rare and short.
        if (params.get('follow') && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(params.get('follow')!)) params.set('follow', 'false');
        const t0 = Date.now();
        const a = await send(gw, tally, 'GET /system/logs', 'GET', `/system/logs?${params}`);
        expectAnswer(a, [200, 400, 404, 422], `logs ?${params}`);
        if (a.status === 200) {
          for (const line of a.text.split('\n').filter(Boolean)) JSON.parse(line);
        }
        if (Date.now() - t0 > WRITE_TIMEOUT_MS + 2_000) throw new Error(`logs ?${params} took ${Date.now() - t0} ms`);
      },
      250,
    );
    const t0 = Date.now();
    const a = await send(gw, tally, 'GET /system/logs', 'GET', `/system/logs?name=${FN}&follow=true`);
    t.equal(a.status, 200, 'follow=true streams');
    t.ok(Date.now() - t0 <= WRITE_TIMEOUT_MS + 2_000, `a follow stream ends at write_timeout (${Date.now() - t0} ms)`);
  });

  await t.test('read-only routes with random queries and headers', async (t) => {
    const routes: [string, string, number[]][] = [
      ['/healthz', 'GET /healthz', [200]],
      ['/metrics', 'GET /metrics', [200]],
      ['/system/info', 'GET /system/info', [200]],
      ['/system/namespaces', 'GET /system/namespaces', [200]],
      ['/system/functions', 'GET /system/functions', [200, 400]],
      ['/system/secrets', 'GET /system/secrets', [200, 400]],
      [`/system/function/${FN}`, 'GET /system/function/NAME', [200, 400, 404]],
      ['/ui/', 'GET /ui/', [200]],
      ['/', 'GET /', [307]],
    ];
    const header = fc.tuple(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((h) => !['host', 'content-length', 'transfer-encoding', 'connection', 'authorization', 'expect', 'upgrade', 'keep-alive', 'te', 'trailer'].includes(h)),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
    );
    await property(
      t,
      'read-only routes',
      fc.tuple(fc.constantFrom(...routes), fc.string({ maxLength: 40 }), fc.array(header, { maxLength: 8 })),
      async ([[path, group, allowed], query, headers]) => {
        const sep = path.includes('?') ? '&' : '?';
        const a = await send(gw, tally, group, 'GET', `${path}${sep}${encodeURIComponent(query)}=${encodeURIComponent(query)}&namespace=`, { headers: Object.fromEntries(headers) });
        expectAnswer(a, allowed, `${group} ?${query}`);
        if (group === 'GET /system/info' || group === 'GET /system/namespaces') JSON.parse(a.text);
      },
      300,
    );
  });

  const rssAfter = await settledRssKiB(gw);
  await checkUnharmed(t, gw);
  checkRss(t, rssBefore, rssAfter);
  for (const line of tally.lines()) t.comment(line);
  t.comment(`crashes=0 RSS before=${rssBefore} KiB after=${rssAfter} KiB seed=${seed}`);
});
