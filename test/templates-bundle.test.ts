/**
 * Every template in templates/ built as a bundle (what `faas-ts build` does,
 * no Docker) from the skeleton handler `faas-ts new` copies, deployed by
 * `faas-ts up` on the local provider and invoked through the gateway.
 * Needs dist/fwatchdog.cjs (`npm run build:watchdog`; `npm test` builds it).
 */
import t from 'tap';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { findRepoRoot, loadUpConfig } from '../cli/config.js';
import { runUp } from '../cli/up.js';
import { until } from './helpers.js';

const repo = findRepoRoot();

/** Request per template and what the skeleton handler must answer. */
const CASES: Record<string, { body: string; expect: (text: string, ct: string) => boolean; method?: string }> = {
  node20: { body: 'hi', expect: (text) => (JSON.parse(text) as { status: string }).status === 'Received input: "hi"' },
  'python3-http': { body: 'hi', expect: (text) => text === 'Hello from OpenFaaS!' },
  python3: { body: 'classic body', expect: (text) => text === 'classic body' },
  'bash-streaming': { body: 'line one\nline two\n', expect: (text) => text === 'line one\nline two\n' },
  dockerfile: { body: 'cat me', expect: (text) => text === 'cat me' },
};

t.test('each template: skeleton → bundle → deploy → invoke', async (t) => {
  const langs = (await readdir(join(repo, 'templates'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  t.same(langs, Object.keys(CASES).sort(), 'every template has a case here');

  const base = await mkdtemp(join(tmpdir(), 'templates-bundle-'));
  let stack = 'version: 1.0\nprovider:\n  name: openfaas\n  gateway: http://127.0.0.1:8080\nfunctions:\n';
  for (const lang of langs) {
    const name = `tpl-${lang}`;
    const manifest = await readFile(join(repo, 'templates', lang, 'template.yml'), 'utf8');
    const folder = /^handler_folder:\s*(\S+)/m.exec(manifest)?.[1] ?? 'function';
    await cp(join(repo, 'templates', lang, folder), join(base, name), { recursive: true });
    stack += `  ${name}:\n    lang: ${lang}\n    handler: ./${name}\n    image: ${name}:latest\n`;
  }
  await writeFile(join(base, 'stack.yml'), stack);
  const config = loadUpConfig(['-f', 'stack.yml', '--port', '0'], {
    env: { FAAS_TS_DATA_DIR: join(base, 'data'), metrics_port: '0' },
    cwd: base,
    repoRoot: repo,
    execPath: process.execPath,
  });
  const up = await runUp(config, { print: () => undefined, logger: pino({ level: 'silent' }), env: {} });
  t.teardown(async () => {
    await up.close();
    await rm(base, { recursive: true, force: true });
  });

  for (const lang of langs) {
    const c = CASES[lang]!;
    let last = { status: 0, text: '', ct: '' };
    await until(async () => {
      const res = await fetch(`${up.url}/function/tpl-${lang}`, { method: c.method ?? 'POST', body: c.body, headers: { 'content-type': 'text/plain' } });
      last = { status: res.status, text: await res.text(), ct: res.headers.get('content-type') ?? '' };
      return res.status === 200;
    }, 30_000, `tpl-${lang} answers`).catch(() => undefined);
    t.equal(last.status, 200, `${lang}: 200`);
    t.ok(c.expect(last.text, last.ct), `${lang}: skeleton answer ${JSON.stringify(last.text)}`);
  }
});
