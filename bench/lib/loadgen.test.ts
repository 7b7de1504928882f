import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closedLoop, openLoop } from './loadgen.js';

/**
 * A real server on 127.0.0.1:0. `?status=N` answers N; between stallFrom and
 * stallUntil (ms since the first request) every answer is held until
 * stallUntil, as a server paused by GC or a busy CPU would.
 */
async function server(t: Test, stall?: { from: number; until: number }): Promise<{ url: string; hits: () => number }> {
  let first = 0;
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    const now = Date.now();
    if (first === 0) first = now;
    const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 200);
    const answer = (): void => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    };
    const since = now - first;
    if (stall && since >= stall.from && since < stall.until) setTimeout(answer, stall.until - since);
    else answer();
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits: () => hits };
}

t.test('closed loop: bounded by count, every request answered and recorded', async (t) => {
  const s = await server(t);
  const r = await closedLoop({ request: { url: `${s.url}/` }, clients: 4, warmupMs: 0, durationMs: 20_000, maxRequests: 200 });
  t.equal(r.mode, 'closed');
  t.equal(r.sent, 200);
  t.equal(r.answered, 200);
  t.equal(r.ok, 200);
  t.equal(r.successRate, 100);
  t.same(r.statusCodes, { 200: 200 });
  t.same(r.errors, {});
  t.equal(r.latency.count, 200);
  t.ok(r.throughput > 0);
  t.equal(s.hits(), 200, 'the server saw exactly the measured requests (no warm-up)');
});

t.test('closed loop: warm-up requests are sent but not recorded', async (t) => {
  const s = await server(t);
  const r = await closedLoop({ request: { url: `${s.url}/` }, clients: 2, warmupMs: 150, durationMs: 20_000, maxRequests: 50 });
  t.equal(r.sent, 50);
  t.ok(s.hits() > 50, `server saw ${s.hits()} requests, warm-up included`);
});

t.test('status codes, transport errors and success rate', async (t) => {
  const s = await server(t);
  const bad = await closedLoop({ request: { url: `${s.url}/?status=503` }, clients: 2, durationMs: 10_000, maxRequests: 20 });
  t.same(bad.statusCodes, { 503: 20 });
  t.equal(bad.ok, 0);
  t.equal(bad.successRate, 0);
  // A port nobody listens on: every request fails with a connection error, none hang.
  const gone = await closedLoop({ request: { url: 'http://127.0.0.1:9/' }, clients: 2, durationMs: 10_000, maxRequests: 10 });
  t.equal(gone.sent, 10);
  t.equal(gone.answered, 0);
  t.equal(Object.values(gone.errors).reduce((a, b) => a + b, 0), 10);
  t.ok(gone.errors.ECONNREFUSED, `errors by code: ${JSON.stringify(gone.errors)}`);
});

t.test('slowMs turns slow 200s into failures (the tinyFaaS 1 s rule)', async (t) => {
  const s = await server(t, { from: 0, until: 200 });
  const r = await closedLoop({ request: { url: `${s.url}/` }, clients: 1, durationMs: 10_000, maxRequests: 5, slowMs: 100 });
  t.equal(r.answered, 5);
  t.ok(r.ok < 5, `first request waited out the stall: ${r.ok} ok of 5`);
});

t.test('open loop: a stall shows in the latency of every request due during it (no coordinated omission)', async (t) => {
  const stallMs = 300;
  const rate = 200;
  const s = await server(t, { from: 300, until: 300 + stallMs });
  const open = await openLoop({ request: { url: `${s.url}/` }, rate, connections: 8, warmupMs: 0, durationMs: 1000 });
  t.equal(open.mode, 'open');
  t.equal(open.rate, rate);
  t.ok(open.sent >= 190 && open.sent <= 200, `sent ${open.sent} on a 200/s schedule for 1 s`);
  t.equal(open.answered, open.sent);
  // ~60 requests were due during the stall; half of them waited >= 150 ms measured from their due time.
  const slow = open.latency.count - Math.round(open.latency.count * fractionBelow(open.latency, 150));
  t.ok(slow >= 20, `${slow} open-loop requests >= 150 ms`);

  const s2 = await server(t, { from: 300, until: 300 + stallMs });
  const closed = await closedLoop({ request: { url: `${s2.url}/` }, clients: 1, durationMs: 1000 });
  const slowClosed = closed.latency.count - Math.round(closed.latency.count * fractionBelow(closed.latency, 150));
  t.ok(slowClosed <= 3, `closed loop, 1 client: only ${slowClosed} request(s) saw the stall`);
});

t.test('open loop: bounded by count; bad options are refused', async (t) => {
  const s = await server(t);
  const r = await openLoop({ request: { url: `${s.url}/` }, rate: 500, durationMs: 10_000, maxRequests: 100 });
  t.equal(r.sent, 100);
  t.equal(r.ok, 100);
  await t.rejects(openLoop({ request: { url: `${s.url}/` }, rate: 0, durationMs: 10 }), RangeError);
  await t.rejects(closedLoop({ request: { url: `${s.url}/` }, clients: 0, durationMs: 10 }), RangeError);
  await t.rejects(closedLoop({ request: { url: `${s.url}/` }, clients: 1, durationMs: 0 }), RangeError);
});

/** Fraction of recorded values below `ms`, by bisection on the quantile function. */
function fractionBelow(h: { quantile(q: number): number }, ms: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (h.quantile(mid) < ms) lo = mid;
    else hi = mid;
  }
  return lo;
}

t.test('open loop: an overloaded target cannot stretch a run past warm-up + duration + timeout', async (t) => {
  // Every answer is held for 5 s; the run has 300 ms of schedule and a 400 ms timeout.
  const s = await server(t, { from: 0, until: 5000 });
  const r = await openLoop({ request: { url: `${s.url}/` }, rate: 100, connections: 4, durationMs: 300, timeoutMs: 400 });
  t.equal(r.answered, 0, 'the run ended before the held answers came');
  t.equal(r.ok, 0);
  t.equal(Object.values(r.errors).reduce((a, b) => a + b, 0), r.sent, `every request failed: ${JSON.stringify(r.errors)}`);
});
