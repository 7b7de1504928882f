import t from 'tap';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleStore, bundleKey, imageRepository, isGenericImage, withDefaultTag } from './bundles.js';

t.test('bundleKey: missing tag is :latest, unsafe characters become _', async (t) => {
  t.equal(bundleKey('hello'), 'hello_latest');
  t.equal(bundleKey('hello:latest'), bundleKey('hello'));
  t.equal(bundleKey('ghcr.io/me/fn:1.2'), 'ghcr.io_me_fn_1.2');
  t.equal(bundleKey('localhost:5000/fn'), 'localhost_5000_fn_latest', 'a registry port is not a tag');
  t.equal(bundleKey('fn@sha256:abc'), 'fn_sha256_abc', 'digest kept, no tag added');
  t.equal(withDefaultTag('a/b:c'), 'a/b:c');
});

t.test('generic image names ignore registry and tag', async (t) => {
  t.equal(imageRepository('docker.io/functions/alpine:latest'), 'functions/alpine');
  t.equal(imageRepository('functions/alpine'), 'functions/alpine');
  t.equal(imageRepository('docker.io/library/alpine:3'), 'alpine');
  t.ok(isGenericImage('docker.io/functions/alpine:latest'));
  t.ok(isGenericImage('functions/alpine:0.9'));
  t.notOk(isGenericImage('ghcr.io/functions/alpine:latest'), 'other registries are not docker hub');
  t.notOk(isGenericImage('functions/alpine-extra'));
  t.ok(isGenericImage('me/runtime', ['me/runtime']), 'the list is a parameter');
});

t.test('BundleStore add/get/list/remove, and the manual layout', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'faas-ts-bundles-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const src = join(root, 'src');
  await mkdir(join(src, 'lib'), { recursive: true });
  await writeFile(join(src, 'index.js'), 'v1');
  await writeFile(join(src, 'lib', 'x.js'), 'x');
  const store = new BundleStore(join(root, 'bundles'));
  t.equal(await store.get('hello'), undefined);
  const b = await store.add('hello', src, { mode: 'http', fprocess: 'node index.js' });
  t.match(b, { image: 'hello:latest', key: 'hello_latest', env: { mode: 'http', fprocess: 'node index.js' } });
  t.equal(await readFile(join(b.dir, 'lib', 'x.js'), 'utf8'), 'x', 'files copied recursively');
  t.same(JSON.parse(await readFile(join(b.dir, 'bundle.json'), 'utf8')), { image: 'hello:latest', env: { mode: 'http', fprocess: 'node index.js' } });
  t.match(await store.get('hello:latest'), { dir: b.dir }, 'same bundle with explicit tag');
  t.match(await store.get('docker.io/hello'), { dir: b.dir }, 'docker.io/ prefix also finds it');

  await writeFile(join(src, 'index.js'), 'v2');
  await store.add('hello:latest', src, {});
  t.equal(await readFile(join(b.dir, 'index.js'), 'utf8'), 'v2', 'replaced');
  t.same((await store.get('hello'))?.env, {});

  // manual install: a folder plus bundle.json
  const manual = join(root, 'bundles', bundleKey('me/tool:2'));
  await mkdir(manual, { recursive: true });
  await writeFile(join(manual, 'bundle.json'), JSON.stringify({ image: 'me/tool:2', env: { fprocess: 'cat' } }));
  t.match(await store.get('me/tool:2'), { image: 'me/tool:2', env: { fprocess: 'cat' } });
  t.same((await store.list()).map((x) => x.image), ['hello:latest', 'me/tool:2']);

  await writeFile(join(manual, 'bundle.json'), JSON.stringify({ image: 'me/tool:2', env: { n: 1 } }));
  await t.rejects(store.get('me/tool:2'), /env n must be a string/, 'bad manifest is reported');
  t.ok(await store.remove('hello'));
  t.notOk(await store.remove('hello'));
  t.equal(await store.get('hello'), undefined);
});
