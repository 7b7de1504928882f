/** Fuzz campaign (issue #12): mode=streaming, the function a shell script around `cat`. */
import t from 'tap';

import { CANARY_ENV, echoOracle, fuzzRuns, runCampaign } from './fixtures/fuzz.js';
import { FIXTURES, startWatchdog } from './fixtures/harness.js';

t.test('streaming survives random and hostile requests', async (t) => {
  const w = await startWatchdog(t, {
    ...CANARY_ENV,
    mode: 'streaming',
    fprocess: `sh ${FIXTURES}fuzz-fn.sh`,
    read_timeout: '1500ms',
    write_timeout: '2s',
    exec_timeout: '2s',
    max_inflight: '4',
  });
  await runCampaign(t, w, {
    mode: 'streaming',
    // Status is committed to 200 before the child runs (spec §1.2); the rest come from the HTTP layer.
    allowed: [200, 400, 405, 408, 413, 417, 429, 431, 505],
    readTimeoutMs: 1500,
    writeTimeoutMs: 2000,
    execTimeoutMs: 2000,
    maxInflight: 4,
    numRuns: fuzzRuns(300),
    slowRequest: { method: 'POST', path: '/slow', body: Buffer.alloc(10) },
    bigResponse: { method: 'POST', path: '/big' },
    oracle: echoOracle(),
  });
});
