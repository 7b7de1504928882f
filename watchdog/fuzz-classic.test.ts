/** Fuzz campaign (issue #12): mode=classic, the function a shell script around `cat`. */
import t from 'tap';

import { CANARY_ENV, echoOracle, fuzzRuns, isInternalPath, runCampaign } from './fixtures/fuzz.js';
import { FIXTURES, startWatchdog } from './fixtures/harness.js';

t.test('classic survives random and hostile requests', async (t) => {
  const w = await startWatchdog(t, {
    ...CANARY_ENV,
    mode: 'classic',
    fprocess: `sh ${FIXTURES}fuzz-fn.sh`,
    read_timeout: '1500ms',
    write_timeout: '2s',
    exec_timeout: '2s',
    max_inflight: '4',
  });
  await runCampaign(t, w, {
    mode: 'classic',
    // 405 = method filter, 408 = exec_timeout, 500 = function failed (spec §1.6).
    allowed: [200, 400, 405, 408, 413, 417, 429, 431, 500, 505],
    readTimeoutMs: 1500,
    writeTimeoutMs: 2000,
    execTimeoutMs: 2000,
    maxInflight: 4,
    numRuns: fuzzRuns(200),
    slowRequest: { method: 'POST', path: '/slow', body: Buffer.alloc(10) },
    bigResponse: { method: 'POST', path: '/big' },
    // HEAD and OPTIONS are not among classic's methods.
    oracle: (r, status, body) =>
      ['HEAD', 'OPTIONS'].includes(r.method) && !isInternalPath(r.target) && status !== 417
        ? status === 405 ? undefined : `status ${status}`
        : echoOracle()(r, status, body),
  });
});
