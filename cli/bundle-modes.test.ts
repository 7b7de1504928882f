// Bundles built from the templates run under provider-local and the real
// watchdog: node20 in its default inproc mode and, with `mode: http` in the
// stack's environment, through templates/node20/index.js; python3-http through
// index.py.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalProvider, type LocalProvider } from '../provider-local/index.js';
import { until, watchdogCommand } from '../test/helpers.js';
import { buildFunction } from './build.js';
import { toDeployment } from './deploy.js';
import { parseStack } from './stack.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

async function invoke(provider: LocalProvider, name: string, init?: RequestInit & { path?: string }) {
  let out = { status: 0, text: '' };
  await until(
    async () => {
      const [ep] = await provider.endpoints(name);
      if (!ep) return false;
      const res = await fetch(`${ep.baseUrl}${ep.pathPrefix}${init?.path ?? '/'}`, init);
      out = { status: res.status, text: await res.text() };
      return true;
    },
    30_000,
    `${name} ready`,
  );
  return out;
}

t.test('node20 bundles run inproc by default and through index.js with mode=http', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'faas-ts-modes-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const provider = await createLocalProvider({ dataDir, watchdogCommand: watchdogCommand() });
  t.teardown(() => provider.close());

  const stack = await parseStack(
    `functions:
  sieve-inproc:
    lang: node20
    handler: ${join(repo, 'functions', 'sieve')}
    image: sieve:latest
  sieve-http:
    lang: node20
    handler: ${join(repo, 'functions', 'sieve')}
    image: sieve:latest
    environment:
      mode: http
  echo:
    lang: python3-http
    handler: ${join(repo, 'functions', 'echo-python')}
    image: echo:latest
`,
    join(repo, 'stack.yml'),
    {},
  );
  for (const fn of stack.functions) {
    const built = await buildFunction(fn, { templateDirs: [join(repo, 'templates')], store: provider.bundles });
    await provider.deploy(toDeployment(fn, built.template.fprocess));
  }

  const inproc = await invoke(provider, 'sieve-inproc', { path: '/?n=20' });
  t.equal(inproc.status, 200);
  t.same(JSON.parse(inproc.text), { n: 20, count: 8, largest: 19 });

  const http = await invoke(provider, 'sieve-http', { path: '/?n=20' });
  t.equal(http.status, 200);
  t.same(JSON.parse(http.text), { n: 20, count: 8, largest: 19 }, 'same answer through index.js');

  const logs: string[] = [];
  const ac = new AbortController();
  for await (const m of provider.logs!({ name: 'sieve-http', follow: false }, ac.signal)) logs.push(m.text);
  t.match(logs.join('\n'), /node20 listening on port: \d+/, 'http mode ran the template server');
  t.notMatch(logs.join('\n'), /Loaded inproc handler/);

  const echo = await invoke(provider, 'echo', { path: '/p?q=1', method: 'POST', body: 'hi' });
  t.match(JSON.parse(echo.text), { body: 'hi', path: '/p', query: { q: '1' } });
});
