/** Fuzz campaign (issue #12): mode=serializing, the function a shell script around `cat`. */
import t from 'tap';

import { CANARY_ENV, echoOracle, fuzzRuns, runCampaign } from './fixtures/fuzz.js';
import { FIXTURES, startWatchdog } from './fixtures/harness.js';

t.test('serializing survives random and hostile requests', async (t) => {
  const w = await startWatchdog(t, {
    ...CANARY_ENV,
    mode: 'serializing',
    fprocess: `sh ${FIXTURES}fuzz-fn.sh`,
    read_timeout: '1500ms',
    write_timeout: '2s',
    exec_timeout: '2s',
    max_inflight: '4',
    // Bodies up to 400 KB are generated: some are over this limit.
    max_body_bytes: '262144',
  });
  await runCampaign(t, w, {
    mode: 'serializing',
    // 500 = the function failed (spec §1.3); 413 = over max_body_bytes; the rest from the HTTP layer or the limiter.
    allowed: [200, 400, 405, 408, 413, 417, 429, 431, 500, 505],
    readTimeoutMs: 1500,
    writeTimeoutMs: 2000,
    execTimeoutMs: 2000,
    maxInflight: 4,
    numRuns: fuzzRuns(200),
    slowRequest: { method: 'POST', path: '/slow', body: Buffer.alloc(10) },
    bigResponse: { method: 'POST', path: '/big' },
    oracle: (r, status, body) =>
      r.framing !== 'none' && r.body.length > 262_144 ? (status === 413 ? undefined : `status ${status} over max_body_bytes`) : echoOracle()(r, status, body),
  });
});
