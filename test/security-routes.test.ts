/**
 * Route-table audit (#12 security): every route the gateway registers, taken
 * from its own route table (onRoute), is requested over a real socket with no,
 * wrong and right credentials. Everything outside the explicit public
 * allow-list must answer 401 without valid credentials and something else
 * with them. A new unprotected /system route makes this test fail (the second
 * test proves the audit catches one). The invocation hot path that bypasses
 * Fastify is checked separately: only canonical /function/ URLs take it.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildGateway, loadGatewayConfig } from '../gateway/index.js';
import { isInvocationUrl } from '../gateway/routes/function-proxy.js';
import { startGateway } from '../gateway/server.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createFileQueue } from '../queue-worker/index.js';
import { freePort, watchdogCommand } from './helpers.js';

const creds = { user: 'admin', password: 'route-audit-pw-0123456789' };
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

/** Documented as public (README, gateway/app.ts): invocations, health, metrics and the `/` redirect. */
const PUBLIC = [/^\/healthz$/, /^\/metrics$/, /^\/$/, /^\/function\//, /^\/async-function\//];
const isPublic = (url: string) => PUBLIC.some((re) => re.test(url));

/** Every way of getting it wrong: none, wrong password (shorter, longer, same length), wrong user, junk. */
const WRONG: Array<string | undefined> = [
  undefined,
  basic(`${creds.user}:wrong`),
  basic(`${creds.user}:${creds.password}x`),
  basic(`${creds.user}:${creds.password.slice(0, -1)}`),
  basic(`${creds.user}:${creds.password.slice(0, -1)}X`),
  basic(`Admin:${creds.password}`),
  basic(`${creds.user}${creds.password}`),
  basic(`:${creds.password}`),
  basic(''),
  'Basic',
  'Basic !!!not-base64!!!',
  `Bearer ${creds.password}`,
  creds.password,
];

function concrete(url: string): string {
  return url.replace(/:ns\b/g, 'audit-ns').replace(/:name\b/g, 'no-such-fn').replace(/\*$/, 'x/y');
}

interface Audit {
  checked: string[];
  fillers: string[];
  violations: string[];
}

async function call(base: string, method: string, url: string, authorization: string | undefined) {
  const res = await request(base + url, {
    method: method as 'GET',
    headers: { ...(authorization !== undefined ? { authorization } : {}), 'content-type': 'application/json' },
    body: ['GET', 'HEAD'].includes(method) ? undefined : '{}',
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const body = method === 'HEAD' ? '' : await res.body.text();
  if (method === 'HEAD') await res.body.dump();
  return { status: res.statusCode, body, wwwAuth: res.headers['www-authenticate'] };
}

async function audit(app: FastifyInstance, base: string): Promise<Audit> {
  const table = (app as unknown as { gatewayRoutes: Array<{ method: string; url: string }> }).gatewayRoutes;
  const out: Audit = { checked: [], fillers: [], violations: [] };
  for (const { method, url } of table) {
    if (isPublic(url)) continue;
    const path = concrete(url);
    const id = `${method} ${url}`;
    const anon = await call(base, method, path, undefined);
    const right = await call(base, method, path, basic(`${creds.user}:${creds.password}`));
    // Method-not-allowed fillers answer an empty 405 to everyone (upstream's
    // router does this before auth) and never reach a handler: nothing to protect.
    if (anon.status === 405 && anon.body === '' && right.status === 405) {
      out.fillers.push(id);
      continue;
    }
    out.checked.push(id);
    if (right.status === 401) out.violations.push(`${id}: 401 with the right credentials`);
    for (const wrong of WRONG) {
      const res = wrong === undefined ? anon : await call(base, method, path, wrong);
      if (res.status !== 401) out.violations.push(`${id}: ${res.status} with authorization=${JSON.stringify(wrong)}`);
      else if (res.wwwAuth !== 'Basic realm="Restricted"') out.violations.push(`${id}: 401 without the Basic challenge`);
    }
  }
  return out;
}

async function setup(t: Test) {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-routes-'));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  const queue = await createFileQueue({ dir: join(dataDir, 'queue') });
  const app = await buildGateway(loadGatewayConfig({ port: '0', metrics_port: '0', basic_auth: 'true' }), {
    provider,
    queue,
    credentials: creds,
  });
  t.teardown(async () => {
    await app.close();
    await queue.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { app, provider };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

t.test('every non-public route requires basic auth', async (t) => {
  const { app } = await setup(t);
  const base = await listen(app);
  const result = await audit(app, base);
  t.same(result.violations, [], 'no route outside the allow-list answers without valid credentials');
  const table = (app as unknown as { gatewayRoutes: Array<{ url: string }> }).gatewayRoutes;
  // The table really is the full one: the known groups are all in it.
  for (const url of ['/system/functions', '/system/function/:name', '/system/secrets', '/system/logs', '/system/alert', '/ui/*', '/function/:name', '/async-function/:name']) {
    t.ok(table.some((r) => r.url === url), `route table lists ${url}`);
  }
  for (const id of ['GET /system/functions', 'POST /system/functions', 'DELETE /system/secrets', 'GET /ui/*', 'POST /system/alert', 'POST /system/scale-function/:name']) {
    t.ok(result.checked.includes(id), `${id} was audited`);
  }
  t.ok(result.checked.length >= 20, `${result.checked.length} protected routes audited, ${result.fillers.length} 405 fillers`);
  // Non-public paths outside the table: unknown /system paths are 404 with nothing about the API.
  const unknown = await call(base, 'GET', '/system/nope', undefined);
  t.equal(unknown.status, 404);
  t.equal(unknown.body, '404 page not found\n');
  // The UI's index itself, not only the wildcard.
  t.equal((await call(base, 'GET', '/ui/', undefined)).status, 401);
  t.equal((await call(base, 'GET', '/ui/index.html', undefined)).status, 401);
  t.equal((await call(base, 'GET', '/ui/', basic(`${creds.user}:${creds.password}`))).status, 200);
  const ui = await request(`${base}/ui/`, { headers: { authorization: basic(`${creds.user}:${creds.password}`) } });
  await ui.body.dump();
  t.equal(ui.headers['x-frame-options'], 'DENY', 'the UI cannot be framed by another site');
  t.equal(ui.headers['content-security-policy'], "frame-ancestors 'none'");
});

t.test('the audit catches a /system route added without auth', async (t) => {
  const { app } = await setup(t);
  app.get('/system/leak', async () => 'secret stuff');
  const base = await listen(app);
  const result = await audit(app, base);
  t.ok(result.violations.some((v) => v.startsWith('GET /system/leak: 200')), 'reported');
});

t.test('the hot path that bypasses Fastify only takes canonical /function/ URLs', async (t) => {
  let taken = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.constantFrom('/function/', '/system/', '/ui/', '/async-function/', '//function/', '/Function/').chain((p) =>
          fc.string().map((s) => p + s),
        ),
        fc.array(fc.constantFrom('function', 'system', '..', '.', '', '%2e%2e', 'x', 'functions'), { maxLength: 6 }).map((a) => `/${a.join('/')}`),
      ),
      (url) => {
        if (!isInvocationUrl(url)) return true;
        taken++;
        const path = url.split('?')[0]!;
        return url.startsWith('/function/') && !path.includes('/../') && !path.includes('/./') && !path.endsWith('/..') && !path.includes('//');
      },
    ),
    { numRuns: 3000 },
  );
  t.ok(taken > 0, `${taken} generated URLs took the hot path, all under /function/`);

  const { app } = await setup(t);
  const base = await listen(app);
  // Traversal out of /function/ is redirected (301), never proxied or routed to /system unauthenticated.
  // node:http sends the path verbatim (undici would normalise it client-side).
  const raw = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    const req = httpGet(`${base}/x`, { path: '/function/../system/functions' }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on('error', reject);
  });
  t.same(raw, { status: 301, location: '/system/functions' });
  t.equal((await call(base, 'GET', raw.location!, undefined)).status, 401, 'and the target still wants credentials');
  const enc = await call(base, 'GET', '/function/%2e%2e/system/functions', undefined);
  t.not(enc.status, 200, 'an encoded dot-dot is a (bad) function name, not a path');
  t.notMatch(enc.body, /\[/, 'no function list in the answer');
});

t.test('the metrics port serves only /metrics and /healthz', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sec-metrics-'));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: String(await freePort()), basic_auth: 'true' }), {
    provider,
    credentials: creds,
  });
  t.teardown(async () => {
    await gw.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  for (const path of ['/system/functions', '/system/secrets', '/ui/', '/function/x']) {
    const res = await call(gw.metricsUrl!, 'GET', path, undefined);
    t.equal(res.status, 404, `metrics port ${path}`);
  }
});

t.test('state-changing /system requests a browser makes for another site are refused (CSRF)', async (t) => {
  const { app, provider } = await setup(t);
  const base = await listen(app);
  const host = new URL(base).host;
  const right = basic(`${creds.user}:${creds.password}`);
  // What a hostile page can make a browser send: a text/plain form post whose body parses as JSON.
  const formBody = '{"service":"csrf-fn","image":"functions/alpine:latest","envProcess":"id","x":"="}';
  const send = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const res = await request(base + path, { method: method as 'GET', headers: { authorization: right, 'content-type': 'text/plain', ...headers }, body });
    await res.body.dump();
    return res.statusCode;
  };
  const browsers: Array<Record<string, string>> = [
    { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' },
    { 'sec-fetch-site': 'same-site', origin: `http://other.${host}` },
    { origin: 'http://evil.example' },
    { origin: 'null' },
  ];
  for (const headers of browsers) {
    t.equal(await send('POST', '/system/functions', headers, formBody), 403, `POST with ${JSON.stringify(headers)}`);
    t.equal(await send('DELETE', '/system/secrets', headers, '{"name":"x"}'), 403, `DELETE with ${JSON.stringify(headers)}`);
    t.equal(await send('GET', '/system/functions', headers), 200, `GET with ${JSON.stringify(headers)} (the browser keeps the answer from the page)`);
  }
  t.equal(await provider.get('csrf-fn'), undefined, 'nothing was deployed');
  // The UI (same origin) and CLI clients (no browser headers) are unaffected.
  t.equal(await send('POST', '/system/secrets', { 'sec-fetch-site': 'same-origin', origin: base }, '{"name":"ui-secret","value":"v"}'), 201);
  t.equal(await send('POST', '/system/secrets', { origin: base }, '{"name":"old-browser","value":"v"}'), 201);
  t.equal(await send('POST', '/system/secrets', {}, '{"name":"cli-secret","value":"v"}'), 201);
  // Without credentials the answer stays 401: the check never replaces auth.
  const anon = await request(`${base}/system/functions`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' }, body: formBody });
  await anon.body.dump();
  t.equal(anon.statusCode, 401);
});
