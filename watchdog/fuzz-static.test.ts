/** Fuzz campaign (issue #12): mode=static over a small tree with a large file. */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import t from 'tap';

import { CANARY_ENV, fuzzRuns, isInternalPath, runCampaign, type FuzzRequest } from './fixtures/fuzz.js';
import { startWatchdog, tempDir } from './fixtures/harness.js';

/** 400 for a malformed path, 405 for methods other than GET/HEAD; a 200 GET of a file under the root returns exactly that file. */
function servesFiles(pub: string) {
  return (r: FuzzRequest, status: number | undefined, body: Buffer): string | undefined => {
    if (isInternalPath(r.target) || status === 417 || status === 429) return undefined;
    let path: string;
    try {
      path = decodeURIComponent(r.target);
    } catch {
      return status === 400 ? undefined : `status ${status} for a path that is not valid percent-encoding`;
    }
    if (r.method !== 'GET' && r.method !== 'HEAD') return status === 405 ? undefined : `status ${status} for ${r.method}`;
    if (status !== 200 || r.method !== 'GET' || r.headers.some(([k]) => /^(range|if-modified-since)$/i.test(k))) return undefined;
    const file = resolve(join(pub, path));
    if (!file.startsWith(pub + sep)) return undefined;
    try {
      if (!statSync(file).isFile()) return undefined;
    } catch {
      return `200 for a missing file ${JSON.stringify(path.slice(0, 60))}`;
    }
    return body.equals(readFileSync(file)) ? undefined : `wrong content for ${JSON.stringify(path.slice(0, 60))}`;
  };
}

t.test('static survives random and hostile requests', async (t) => {
  const root = tempDir(t);
  const pub = join(root, 'public');
  mkdirSync(join(pub, 'sub'), { recursive: true });
  writeFileSync(join(pub, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(pub, 'a.txt'), 'alpha');
  writeFileSync(join(pub, 'sub', 'b.json'), '{"b":1}');
  writeFileSync(join(pub, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 0x64));
  // Outside static_path: must never be served.
  writeFileSync(join(root, 'secret.txt'), CANARY_ENV.FUZZ_CANARY);
  const w = await startWatchdog(t, {
    ...CANARY_ENV,
    mode: 'static',
    static_path: pub,
    read_timeout: '1500ms',
    write_timeout: '2s',
    max_inflight: '4',
  });
  await runCampaign(t, w, {
    mode: 'static',
    allowed: [200, 206, 301, 304, 400, 404, 405, 408, 413, 416, 417, 429, 431, 505],
    readTimeoutMs: 1500,
    writeTimeoutMs: 2000,
    execTimeoutMs: 0,
    maxInflight: 4,
    numRuns: fuzzRuns(400),
    slowRequest: { method: 'GET', path: '/big.bin' },
    bigResponse: { method: 'GET', path: '/big.bin' },
    oracle: servesFiles(pub),
  });
});
