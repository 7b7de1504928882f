/** Fuzz campaign (issue #12): mode=inproc with a node-template handler, small body limits. */
import t from 'tap';

import { CANARY_ENV, fuzzRuns, isInternalPath, runCampaign, type FuzzRequest } from './fixtures/fuzz.js';
import { FIXTURES, startWatchdog } from './fixtures/harness.js';

const HANDLER_PATHS = /^\/(slow|big|throw|fail|status)/;

/** fuzz-handler.cjs describes the event: method and decoded path must arrive intact. */
function describes(r: FuzzRequest, status: number | undefined, body: Buffer): string | undefined {
  if (isInternalPath(r.target) || HANDLER_PATHS.test(r.target)) return undefined;
  // 400 malformed JSON, 413 over a body limit: the template's own answers.
  if (status === 400 || status === 413 || status === 417 || status === 429) return undefined;
  if (status !== 200) return `status ${status} for a well-formed request`;
  if (r.method === 'HEAD') return undefined;
  const event = JSON.parse(body.toString('utf8')) as { method: string; path: string };
  if (event.method !== r.method) return `method ${event.method}`;
  let path = r.target;
  try {
    path = decodeURIComponent(r.target);
  } catch {
    // the handler sees the raw path
  }
  return event.path === path ? undefined : `path ${JSON.stringify(event.path.slice(0, 60))}`;
}

t.test('inproc survives random and hostile requests', async (t) => {
  const w = await startWatchdog(t, {
    ...CANARY_ENV,
    mode: 'inproc',
    inproc_handler: `${FIXTURES}fuzz-handler.cjs`,
    read_timeout: '1500ms',
    write_timeout: '2s',
    exec_timeout: '2s',
    max_inflight: '4',
    MAX_JSON_SIZE: '64kb',
  });
  await runCampaign(t, w, {
    mode: 'inproc',
    // 400 bad JSON, 413 over MAX_JSON_SIZE / text limit, 500 handler failure, 504 exec_timeout.
    allowed: [200, 202, 400, 405, 408, 413, 417, 429, 431, 500, 504, 505],
    readTimeoutMs: 1500,
    writeTimeoutMs: 2000,
    execTimeoutMs: 2000,
    maxInflight: 4,
    numRuns: fuzzRuns(300),
    slowRequest: { method: 'GET', path: '/slow' },
    bigResponse: { method: 'GET', path: '/big' },
    oracle: describes,
    rssBound: 160 * 1024 * 1024,
  });
});
