/** The watchdog ships alone: its sources import only each other, node: builtins and prom-client. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const here = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

t.test('no imports outside watchdog/ except node: builtins and prom-client', async (t) => {
  const files = sources(here);
  t.ok(files.length > 10);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || spec === 'prom-client') continue;
      t.ok(spec.startsWith('.'), `${relative(here, file)}: ${spec} is relative`);
      const target = resolve(dirname(file), spec);
      t.ok(target.startsWith(here + '/'), `${relative(here, file)}: ${spec} stays inside watchdog/`);
    }
  }
});

t.test('only main.ts touches process.env and process.argv', async (t) => {
  for (const file of sources(here)) {
    if (file.endsWith('/main.ts')) continue;
    const text = readFileSync(file, 'utf8');
    t.notMatch(text, /process\.(env|argv)\b/, relative(here, file));
  }
});
