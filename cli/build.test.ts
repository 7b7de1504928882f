import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BundleStore } from '../provider-local/index.js';
import { buildFunction, buildStack, DIGEST_FILE } from './build.js';
import { parseStack } from './stack.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const templates = join(repo, 'templates');
const run = promisify(execFile);

async function tempDir(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a node20 function becomes a bundle: template runtime + handler under function/, bundle.json env', async (t) => {
  const dir = await tempDir(t, 'faas-ts-build-');
  const handler = join(dir, 'hello');
  await mkdir(join(handler, 'build'), { recursive: true });
  await mkdir(join(handler, 'lib'), { recursive: true });
  await writeFile(join(handler, 'handler.js'), 'module.exports = async () => "hi";\n');
  await writeFile(join(handler, 'lib', 'util.js'), 'module.exports = 1;\n');
  await writeFile(join(handler, 'build', 'junk.txt'), 'skipped like faas-cli does\n');
  const stack = await parseStack(
    `functions:\n  hello:\n    lang: node20\n    handler: ./hello\n    image: hello\n`,
    join(dir, 'stack.yml'),
    {},
  );
  const store = new BundleStore(join(dir, 'data', 'bundles'));
  const [result] = await buildStack(stack.functions, { templateDirs: [templates], store });
  t.ok(result);
  t.equal(result!.image, 'hello:latest');
  t.equal(result!.changed, true);
  t.equal(result!.dir, join(dir, 'data', 'bundles', 'hello_latest'));

  const manifest = JSON.parse(await readFile(join(result!.dir, 'bundle.json'), 'utf8'));
  t.same(manifest, {
    image: 'hello:latest',
    env: JSON.parse(await readFile(join(templates, 'node20', 'faas-ts.env.json'), 'utf8')),
  });
  t.equal(manifest.env.mode, 'inproc');
  t.equal(manifest.env.inproc_handler, 'function/handler.js');

  t.equal(await readFile(join(result!.dir, 'function', 'handler.js'), 'utf8'), 'module.exports = async () => "hi";\n');
  t.ok((await stat(join(result!.dir, 'function', 'lib', 'util.js'))).isFile(), 'sub-folders are copied');
  t.ok((await stat(join(result!.dir, 'index.js'))).isFile(), 'the template runtime is there');
  t.ok((await stat(join(result!.dir, 'function', 'package.json'))).isFile(), 'template skeleton files stay when the handler has none');
  await t.rejects(stat(join(result!.dir, 'function', 'build')), 'top-level build/ is skipped');

  const again = await buildFunction(stack.functions[0]!, { templateDirs: [templates], store });
  t.equal(again.changed, false, 'an identical rebuild is a no-op');
  t.equal(again.digest, result!.digest);

  // Files a runtime writes into the bundle (python caches) do not count as changes.
  await mkdir(join(result!.dir, 'function', '__pycache__'), { recursive: true });
  await writeFile(join(result!.dir, 'function', '__pycache__', 'x.pyc'), 'cache');
  t.equal((await buildFunction(stack.functions[0]!, { templateDirs: [templates], store })).changed, false);

  await writeFile(join(handler, 'handler.js'), 'module.exports = async () => "changed";\n');
  const changed = await buildFunction(stack.functions[0]!, { templateDirs: [templates], store });
  t.equal(changed.changed, true, 'an edited handler is rebuilt');
  t.not(changed.digest, result!.digest);
  t.equal(await readFile(join(changed.dir, 'function', 'handler.js'), 'utf8'), 'module.exports = async () => "changed";\n');
  t.equal((await readFile(join(changed.dir, DIGEST_FILE), 'utf8')).trim(), changed.digest);
});

t.test('python3-http bundle and build errors', async (t) => {
  const dir = await tempDir(t, 'faas-ts-build-');
  const stack = await parseStack(
    `functions:
  echo:
    lang: python3-http
    handler: ${join(repo, 'functions', 'echo-python')}
    image: echo:1.0
  missing-template:
    lang: cobol
    handler: ./x
    image: x
  missing-handler:
    lang: node20
    handler: ./does-not-exist
    image: y
  docker:
    lang: dockerfile
    handler: ./x
    image: z
  skipped:
    image: functions/alpine
    skip_build: true
`,
    join(dir, 'stack.yml'),
    {},
  );
  const store = new BundleStore(join(dir, 'bundles'));
  const [echo, cobol, missing, docker, skipped] = stack.functions;
  const built = await buildFunction(echo!, { templateDirs: [templates], store });
  const bundle = await store.get('echo:1.0');
  t.equal(bundle?.dir, built.dir);
  t.same(bundle?.env, { mode: 'http', fprocess: 'python3 index.py', upstream_url: 'http://127.0.0.1:${PORT}' });
  t.ok((await stat(join(built.dir, 'function', '__init__.py'))).isFile());
  t.ok((await stat(join(built.dir, 'function', 'handler.py'))).isFile());

  await t.rejects(buildFunction(cobol!, { templateDirs: [templates], store }), { code: 'CLI_ERR_TEMPLATE' });
  await t.rejects(buildFunction(missing!, { templateDirs: [templates], store }), { code: 'CLI_ERR_BUILD', message: /is not a folder/ });
  await t.rejects(buildFunction(docker!, { templateDirs: [templates], store }), { code: 'CLI_ERR_BUILD', message: /is not a folder/ }, 'dockerfile functions build as bundles too');
  t.same(await buildStack([skipped!], { templateDirs: [templates], store }), [], 'skip_build functions are not built');
});

t.test('`faas-ts build -f stack.yml` builds the stack into the data dir', async (t) => {
  const dir = await tempDir(t, 'faas-ts-build-cli-');
  const data = join(dir, 'data');
  const args = ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts'), 'build', '-f', join(repo, 'stack.yml'), '--data-dir', data];
  const { stdout } = await run(process.execPath, args, { cwd: dir });
  t.match(stdout, /\[\d\/7\] hello-node: building bundle \(node20\) \.\.\.\n/, 'progress before each build');
  t.match(stdout, /\[\d\/7\] hello-node: hello-node:latest → .*hello-node_latest in \d+ ms\n/);
  t.match(stdout, /echo-python: echo-python:latest → /);
  t.match(stdout, /sieve: sieve:latest → /);
  const store = new BundleStore(join(data, 'bundles'));
  t.same((await store.list()).map((b) => b.image).sort(), ['echo-python:latest', 'env-probe:latest', 'har-cnn:latest', 'hello-node:latest', 'iot-predict:latest', 'json-transform:latest', 'sieve:latest']);

  const second = await run(process.execPath, [...args, 'sieve'], { cwd: dir });
  t.equal(second.stdout.trim().split('\n').length, 2, 'positional names select functions');
  t.match(second.stdout, /^\[1\/1\] sieve: building bundle/);
  t.match(second.stdout, /sieve: .*\(unchanged\)/);

  const bad = await run(process.execPath, [...args, 'nope'], { cwd: dir }).catch((e: { code: number; stderr: string }) => e);
  t.match(bad, { code: 2, stderr: /no such function.*nope.*CLI_ERR_USAGE/ });
});
