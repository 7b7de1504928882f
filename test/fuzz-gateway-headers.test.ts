/**
 * Header memory under attack, against `faas-ts up` as a real child process:
 * waves of 200 connections, each sending 900 KiB of a header (just under the
 * 1 MiB limit) and then nothing. Every connection must be cut off by
 * read_timeout with a plain-text 408, other clients must still be served
 * meanwhile, and the memory must be reused from wave to wave (RSS after the
 * last wave within 32 MiB of RSS after the first): bounded by concurrent
 * connections × header limit, never growing per attack.
 */
import t from 'tap';
import {
  READ_TIMEOUT_MS,
  Tally,
  call,
  checkUnharmed,
  raw,
  settledRssKiB,
  startFuzzGateway,
} from './fuzz-gateway-support.js';

const CONNECTIONS = 200;
const HEADER_BYTES = 900 * 1024;
const WAVES = 3;
/** read_timeout, node's check interval (read_timeout / 4) and slack for 180 MB arriving on 2 cores. */
const CUT_BY_MS = READ_TIMEOUT_MS + 3_000;

t.test('incomplete 900 KiB headers from 200 connections, three waves', async (t) => {
  const gw = await startFuzzGateway(t);
  const tally = new Tally();
  const rss: number[] = [await settledRssKiB(gw)];
  let peak = 0;
  for (let wave = 1; wave <= WAVES; wave++) {
    const sampler = setInterval(() => (peak = Math.max(peak, gw.rssKiB())), 50);
    const attack = Array.from({ length: CONNECTIONS }, (_, i) =>
      raw(gw, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Wave: ${wave}-${i}\r\nX-Big: ${'a'.repeat(HEADER_BYTES)}`], { deadlineMs: CUT_BY_MS + 5_000 }),
    );
    const health = await call(gw, 'GET', '/healthz', { auth: false });
    const results = await Promise.all(attack);
    clearInterval(sampler);
    for (const r of results) tally.add('incomplete huge headers', r.statuses[0] ?? (r.closed ? 'closed' : 'hang'));
    t.equal(health.status, 200, `wave ${wave}: /healthz answered during the attack`);
    t.ok(results.every((r) => r.closed), `wave ${wave}: all ${CONNECTIONS} connections closed by the gateway`);
    const slowest = Math.max(...results.map((r) => r.ms));
    t.ok(slowest <= CUT_BY_MS, `wave ${wave}: cut off within ${slowest} ms (read_timeout ${READ_TIMEOUT_MS} ms, limit ${CUT_BY_MS} ms)`);
    t.ok(
      results.every((r) => r.statuses.length === 1 && r.statuses[0] === 408 && /Content-Type: text\/plain/.test(r.data)),
      `wave ${wave}: every connection got a plain-text 408`,
    );
    rss.push(await settledRssKiB(gw));
  }
  t.ok(rss[WAVES]! <= rss[1]! + 32 * 1024, `RSS reused across waves: ${rss.join(' → ')} KiB (peak ${peak} KiB)`);
  await checkUnharmed(t, gw);
  for (const line of tally.lines()) t.comment(line);
  t.comment(`crashes=0 RSS before=${rss[0]} KiB peak=${peak} KiB after waves=${rss.slice(1).join(', ')} KiB`);
});
