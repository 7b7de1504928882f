/**
 * What a child gateway sends to its parent, seen by a recording parent (a
 * plain node HTTP/HTTPS server on loopback): path and query, end-to-end
 * headers, the hop headers, the configured credentials instead of the
 * client's, X-Forwarded-For, the streamed body; and TLS to an `https://`
 * parent trusted through offload_ca_file (refused without it, the call then
 * answered by the child).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig, startGateway } from '../gateway/index.js';
import { createLocalProvider } from '../provider-local/index.js';
import { watchdogCommand } from './helpers.js';
import { call } from './offload-support.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function recorder(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-faas-ts-layer': 'recorder', 'x-parent-says': 'hi' });
      res.end('from the parent');
    });
  };
}

t.test('what goes up to the parent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'offload-parent-'));
  const provider = await createLocalProvider({ dataDir: join(dir, 'data'), watchdogCommand: watchdogCommand() });
  const closers: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const c of closers.reverse()) await c();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  await t.test('path, headers, hops, credentials, body', async (t) => {
    const seen: Seen[] = [];
    const parent = createServer(recorder(seen));
    await new Promise<void>((r) => parent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => parent.close(() => r())));
    writeFileSync(join(dir, 'pw'), 'parent-secret\n');
    const gw = await startGateway(
      loadGatewayConfig({
        port: '0',
        metrics_port: '0',
        offload_layer: 'edge',
        offload_parent_url: `http://127.0.0.1:${(parent.address() as { port: number }).port}`,
        offload_user: 'edge-user',
        offload_password_file: join(dir, 'pw'),
      }),
      { provider },
    );
    closers.push(() => gw.close());

    const out = await call(`${gw.url}/function/fn.team/a/b?q=1&r=2`, {
      method: 'PUT',
      body: 'the body',
      headers: { authorization: 'Bearer client-token', 'x-custom': 'yes', 'x-faas-ts-hops': '1', 'x-faas-ts-path': 'iot' },
    });
    t.equal(out.status, 201, "the parent's status");
    t.equal(out.text, 'from the parent');
    t.equal(out.layer, 'recorder', "the parent's layer header is kept");
    t.equal(out.offload, 'edge=not-deployed');
    t.equal(seen.length, 1);
    const s = seen[0]!;
    t.equal(s.method, 'PUT');
    t.equal(s.url, '/function/fn.team/a/b?q=1&r=2');
    t.equal(s.body, 'the body');
    t.equal(s.headers['x-custom'], 'yes');
    t.equal(s.headers['x-faas-ts-hops'], '2');
    t.equal(s.headers['x-faas-ts-path'], 'iot,edge');
    t.equal(s.headers.authorization, `Basic ${Buffer.from('edge-user:parent-secret').toString('base64')}`, 'configured credentials replace the client token');
    t.match(s.headers['x-forwarded-for'], /127\.0\.0\.1/);
    t.ok(s.headers['x-forwarded-host'], 'the original Host travels as X-Forwarded-Host');
  });

  await t.test('https parent: trusted through offload_ca_file, refused without it', async (t) => {
    const cert = join(dir, 'parent.crt');
    const key = join(dir, 'parent.key');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    const seen: Seen[] = [];
    const parent = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, recorder(seen));
    await new Promise<void>((r) => parent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => parent.close(() => r())));
    const parentUrl = `https://127.0.0.1:${(parent.address() as { port: number }).port}`;

    const trusted = await startGateway(
      loadGatewayConfig({ port: '0', metrics_port: '0', offload_layer: 'edge', offload_parent_url: parentUrl, offload_ca_file: cert }),
      { provider },
    );
    closers.push(() => trusted.close());
    const ok = await call(`${trusted.url}/function/fn`, { body: 'over tls' });
    t.equal(ok.status, 201);
    t.equal(seen.at(-1)?.body, 'over tls');

    const untrusted = await startGateway(loadGatewayConfig({ port: '0', metrics_port: '0', offload_layer: 'edge', offload_parent_url: parentUrl }), {
      provider,
    });
    closers.push(() => untrusted.close());
    const refused = await call(`${untrusted.url}/function/fn`);
    t.equal(refused.status, 404, "unknown CA: the child's own answer");
    t.match(refused.error, /^edge=not-deployed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
  });
});
