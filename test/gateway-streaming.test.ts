/**
 * Full-duplex streaming through the gateway: a streaming-mode function
 * (fork per request, stdin → stdout) that prints a line before reading its
 * body. The client must receive that line while its upload is still open,
 * both directly on the replica and through /function/NAME; only then does
 * it send the rest of the body, whose echo must arrive too.
 * Real processes: gateway + provider-local + fwatchdog (dist/fwatchdog.cjs,
 * `npm run build:watchdog`).
 */
import t from 'tap';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { createRestProvider, serveProvider } from '../provider/rest.js';
import { until, watchdogCommand } from './helpers.js';

const HANDLER = `#!/usr/bin/env bash
echo first
while IFS= read -r line; do echo "then $line"; done
`;

interface DuplexOutcome {
  firstBeforeUploadEnd: boolean;
  status: number;
  text: string;
}

/**
 * POST with a chunked body: part one, then wait (polling, with a deadline) for
 * `first` in the response, then part two and the end of the upload.
 */
async function duplexCall(
  url: string,
  timeoutMs: number,
  extra: Record<string, string> = {},
  firstPart = 'one\n',
): Promise<DuplexOutcome> {
  const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...extra } });
  let text = '';
  let res: IncomingMessage | undefined;
  let ended = false;
  let failure: Error | undefined;
  req.on('error', (err) => (failure = err));
  req.on('response', (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (c: string) => (text += c));
    r.on('end', () => (ended = true));
    r.on('error', (err) => (failure = err));
  });
  req.flushHeaders();
  if (firstPart !== '') req.write(firstPart);
  let firstBeforeUploadEnd = true;
  try {
    await until(() => {
      if (failure) throw failure;
      return text.includes('first\n');
    }, timeoutMs, 'first chunk before the upload ends');
  } catch {
    firstBeforeUploadEnd = false;
  }
  req.end('two\n');
  try {
    await until(() => ended || failure !== undefined, timeoutMs, 'response end');
  } finally {
    if (!ended) req.destroy();
  }
  return { firstBeforeUploadEnd, status: res?.statusCode ?? 0, text };
}

t.test('streaming mode is full duplex through the gateway', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gw-stream-'));
  const provider = await createLocalProvider({
    dataDir,
    watchdogCommand: watchdogCommand(),
    timings: { stopGraceMs: 2000 },
  });
  const gw = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), { provider });
  t.teardown(async () => {
    await gw.close();
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const src = join(dataDir, 'src', 'function');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'handler.sh'), HANDLER);
  await provider.bundles.add('duplex:latest', join(dataDir, 'src'), {
    mode: 'streaming',
    fprocess: 'bash function/handler.sh',
    exec_timeout: '20s',
    prefix_logs: 'false',
  });
  await provider.deploy({ service: 'duplex', image: 'duplex:latest' });
  await until(async () => (await provider.endpoints('duplex')).length > 0, 20_000, 'duplex ready');
  const [endpoint] = await provider.endpoints('duplex');

  await t.test('directly on the replica', async (t) => {
    const out = await duplexCall(`${endpoint!.baseUrl}${endpoint!.pathPrefix}/`, 10_000);
    t.ok(out.firstBeforeUploadEnd, 'first line arrived while the upload was open');
    t.equal(out.status, 200);
    t.equal(out.text, 'first\nthen one\nthen two\n');
  });

  await t.test('through /function/NAME', async (t) => {
    const out = await duplexCall(`${gw.url}/function/duplex`, 10_000);
    t.ok(out.firstBeforeUploadEnd, 'first line arrived while the upload was open');
    t.equal(out.status, 200);
    t.equal(out.text, 'first\nthen one\nthen two\n');
  });

  await t.test('through /function/NAME: headers sent, no body byte until the first line', async (t) => {
    const direct = await duplexCall(`${endpoint!.baseUrl}${endpoint!.pathPrefix}/`, 10_000, {}, '');
    t.ok(direct.firstBeforeUploadEnd, 'direct: first line arrived before any body byte was sent');
    const out = await duplexCall(`${gw.url}/function/duplex`, 10_000, {}, '');
    t.ok(out.firstBeforeUploadEnd, 'gateway: first line arrived before any body byte was sent');
    t.equal(out.status, 200);
    t.equal(out.text, 'first\nthen two\n');
  });

  await t.test('through /function/NAME: content-length body, none of it sent before the first line', async (t) => {
    const out = await duplexCall(`${gw.url}/function/duplex`, 10_000, { 'content-length': '4' }, '');
    t.ok(out.firstBeforeUploadEnd, 'first line arrived before any body byte was sent');
    t.equal(out.text, 'first\nthen two\n');
  });

  await t.test('through /function/NAME with a content-length body', async (t) => {
    const out = await duplexCall(`${gw.url}/function/duplex`, 10_000, { 'content-length': '8' });
    t.ok(out.firstBeforeUploadEnd, 'first line arrived while the upload was open');
    t.equal(out.text, 'first\nthen one\nthen two\n');
  });

  await t.test('through /function/NAME with expect: 100-continue', async (t) => {
    const out = await duplexCall(`${gw.url}/function/duplex`, 10_000, { expect: '100-continue' });
    t.ok(out.firstBeforeUploadEnd, 'first line arrived while the upload was open');
    t.equal(out.text, 'first\nthen one\nthen two\n');
  });

  await t.test('through /function/NAME/sub/path?q=1', async (t) => {
    const out = await duplexCall(`${gw.url}/function/duplex/sub/path?q=1`, 10_000);
    t.ok(out.firstBeforeUploadEnd, 'first line arrived while the upload was open');
    t.equal(out.text, 'first\nthen one\nthen two\n');
  });

  await t.test('gateway → provider REST server (serveProvider) → replica', async (t) => {
    const remote = await serveProvider(provider);
    const gw2 = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0' }), {
      provider: createRestProvider({ baseUrl: remote.url }),
    });
    t.teardown(async () => {
      await gw2.close();
      await remote.close();
    });
    const viaServer = await duplexCall(`${remote.url}/function/duplex`, 10_000);
    t.ok(viaServer.firstBeforeUploadEnd, 'provider server: first line arrived while the upload was open');
    t.equal(viaServer.text, 'first\nthen one\nthen two\n');
    const out = await duplexCall(`${gw2.url}/function/duplex`, 10_000);
    t.ok(out.firstBeforeUploadEnd, 'gateway: first line arrived while the upload was open');
    t.equal(out.text, 'first\nthen one\nthen two\n');
    const silent = await duplexCall(`${gw2.url}/function/duplex`, 10_000, {}, '');
    t.ok(silent.firstBeforeUploadEnd, 'gateway, two hops: first line arrived before any body byte was sent');
    t.equal(silent.text, 'first\nthen two\n');
  });
});
