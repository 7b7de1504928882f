/** Test bundles and a provider factory shared by this folder's tests. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { LogMessage } from '../provider/index.js';
import { until, watchdogCommand } from '../test/helpers.js';
import { createLocalProvider, type LocalProvider } from './provider.js';
import type { LocalProviderConfig } from './config.js';

/**
 * A tiny http-mode function: answers JSON with its pid, env `greeting`, cwd and
 * path; `/secret?name=N` returns the secret's bytes read via secret_mount_path;
 * `/slow?ms=N` answers after N ms.
 */
const HTTP_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/secret') {
    try { res.end(fs.readFileSync(path.join(process.env.secret_mount_path, u.searchParams.get('name')))); }
    catch (e) { res.statusCode = 500; res.end(String(e)); }
    return;
  }
  if (u.pathname === '/slow') {
    setTimeout(() => res.end('slow done'), Number(u.searchParams.get('ms') || 1000));
    return;
  }
  console.log('handled ' + req.method + ' ' + u.pathname);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, greeting: process.env.greeting || '', cwd: process.cwd(), path: u.pathname }));
}).listen(Number(process.env.http_port), '127.0.0.1', () => console.log('hello server listening'));
`;

export async function writeHttpBundleSource(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.js'), HTTP_SERVER);
}

export const HTTP_BUNDLE_ENV = {
  mode: 'http',
  fprocess: 'node index.js',
  upstream_url: 'http://127.0.0.1:${PORT}',
};

export interface TestProvider {
  provider: LocalProvider;
  dataDir: string;
  /** Start another provider on the same data dir (after closing this one). */
  reopen(extra?: Partial<LocalProviderConfig>): Promise<LocalProvider>;
  cleanup(): Promise<void>;
}

/**
 * A provider on a fresh temp data dir with two bundles installed:
 * `hello-http` (the server above, http mode) and `echo-cat` (streaming `cat`).
 */
export async function makeTestProvider(extra: Partial<LocalProviderConfig> = {}): Promise<TestProvider> {
  const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-local-'));
  const src = join(dataDir, 'src');
  await writeHttpBundleSource(join(src, 'hello'));
  await mkdir(join(src, 'cat'), { recursive: true });
  const open = (more: Partial<LocalProviderConfig> = {}) =>
    createLocalProvider({
      dataDir,
      watchdogCommand: watchdogCommand(),
      timings: { stopGraceMs: 5000, backoffInitialMs: 100 },
      ...extra,
      ...more,
    });
  const provider = await open();
  await provider.bundles.add('hello-http', join(src, 'hello'), HTTP_BUNDLE_ENV);
  await provider.bundles.add('echo-cat:latest', join(src, 'cat'), { mode: 'streaming', fprocess: 'cat' });
  const opened: LocalProvider[] = [provider];
  return {
    provider,
    dataDir,
    async reopen(more) {
      const p = await open(more);
      opened.push(p);
      return p;
    },
    async cleanup() {
      await Promise.allSettled(opened.map((p) => p.close()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** How long tests wait for a replica to become ready (ms). */
export const READY_MS = 20_000;

/** Invoke a function's first ready replica directly (no gateway). */
export async function invoke(provider: LocalProvider, name: string, path = '/', init: { method?: string; body?: string } = {}, ns?: string) {
  const [ep] = await provider.endpoints(name, ns);
  if (!ep) throw new Error(`no endpoint for ${name}`);
  const res = await request(`${ep.baseUrl}${ep.pathPrefix}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body });
  return { status: res.statusCode, body: await res.body.text(), endpoint: ep };
}

/** Wait until exactly `n` replicas are ready. */
export async function ready(provider: LocalProvider, name: string, n = 1, ns?: string): Promise<void> {
  await until(async () => (await provider.get(name, ns))?.availableReplicas === n, READY_MS, `${name} has ${n} ready replicas`);
}

export async function collect(iter: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const m of iter) out.push(m);
  return out;
}
