// The templates' runtime servers (templates/node20/index.js, templates/python3-http/index.py)
// run as real processes against real handlers and are checked against the handler contracts.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, until } from '../test/helpers.js';
import { findTemplate, readTemplate } from './templates.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

async function startServer(
  t: Test,
  template: string,
  files: Record<string, string>,
  command: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), `faas-ts-tpl-${template}-`));
  await cp(join(repo, 'templates', template), dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'function', name), text);
  const port = await freePort();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', http_port: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/`, { method: 'OPTIONS' })).status > 0, 10_000, `${template} server up`);
  return { url, child, stderr: () => err };
}

t.test('node20 index.js implements the upstream node handler contract', async (t) => {
  const handler = `'use strict';
module.exports = async (event, context) => {
  const q = event.query;
  switch (event.path) {
    case '/echo':
      return { body: event.body, method: event.method, query: q, path: event.path, ct: event.headers['content-type'] };
    case '/status':
      return context.status(201).headers({ 'X-Test': 'yes', 'Content-Type': 'text/plain' }).succeed('created');
    case '/fail':
      return context.fail(new Error('boom'));
    case '/throw':
      throw new Error('thrown');
    case '/teapot-throw':
      context.status(418);
      throw new Error('short and stout');
    case '/buffer':
      return Buffer.isBuffer(event.body) ? 'buffer:' + event.body.length : 'not a buffer';
    case '/array':
      return [1, 2, 3];
    case '/callback':
      setTimeout(() => context.succeed('later'), 10);
      return new Promise(() => {});
    default:
      return 'plain ' + event.method;
  }
};`;
  const { url, stderr } = await startServer(t, 'node20', { 'handler.js': handler }, [process.execPath, 'index.js']);

  let res = await fetch(`${url}/echo?a=1&a=2&b=x`, {
    method: 'POST',
    body: JSON.stringify({ hello: 'world' }),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/, 'JSON text with Express\'s default type');
  t.same(await res.json(), {
    body: { hello: 'world' },
    method: 'POST',
    query: { a: ['1', '2'], b: 'x' },
    path: '/echo',
    ct: 'application/json',
  });

  res = await fetch(`${url}/echo`, { method: 'PUT', body: 'some text' });
  t.match(await res.json(), { body: 'some text', method: 'PUT' }, 'text/plain body is a string');

  // No Content-Type at all counts as text/plain.
  res = await fetch(`${url}/echo`, { method: 'POST', body: new Uint8Array(Buffer.from('raw words')) });
  t.match(await res.json(), { body: 'raw words', ct: 'text/plain' });

  res = await fetch(`${url}/echo`, {
    method: 'POST',
    body: 'x=1&y=2',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.match(await res.json(), { body: { x: '1', y: '2' } }, 'urlencoded body is an object');

  res = await fetch(`${url}/buffer`, {
    method: 'POST',
    body: new Uint8Array([1, 2, 3]),
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.equal(await res.text(), 'not a buffer', 'other content types give {} (body-parser)');

  res = await fetch(`${url}/status`);
  t.equal(res.status, 201);
  t.equal(res.headers.get('x-test'), 'yes');
  t.equal(res.headers.get('content-type'), 'text/plain');
  t.equal(await res.text(), 'created');

  res = await fetch(`${url}/fail`);
  t.equal(res.status, 500, 'fail() turns 200 into 500');
  t.equal(await res.text(), 'Error: boom');

  res = await fetch(`${url}/throw`);
  t.equal(res.status, 500, 'a thrown error is a 500');
  t.equal(await res.text(), 'Error: thrown');

  res = await fetch(`${url}/teapot-throw`);
  t.equal(res.status, 418, 'a status set before throwing is kept');

  res = await fetch(`${url}/array`);
  t.same(await res.json(), [1, 2, 3]);

  res = await fetch(`${url}/callback`);
  t.equal(await res.text(), 'later', 'succeed() after the handler returned');

  res = await fetch(`${url}/anything`, { method: 'DELETE' });
  t.equal(await res.text(), 'plain DELETE');

  res = await fetch(`${url}/echo`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
  t.equal(res.status, 400, 'malformed JSON is a 400');

  t.match(stderr(), /boom/, 'errors are logged to stderr');
});

t.test('node20 index.js: RAW_BODY=true gives a Buffer for every content type', async (t) => {
  const handler = `module.exports = async (event) => (Buffer.isBuffer(event.body) ? 'buffer ' + event.body.toString() : typeof event.body);`;
  const { url } = await startServer(t, 'node20', { 'handler.js': handler }, [process.execPath, 'index.js'], { RAW_BODY: 'true' });
  let res = await fetch(`${url}/`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  t.equal(await res.text(), 'buffer {"a":1}');
  res = await fetch(`${url}/`, { method: 'POST', body: new Uint8Array([65, 66]), headers: { 'content-type': 'application/octet-stream' } });
  t.equal(await res.text(), 'buffer AB');
});

t.test('python3-http index.py implements the python3-http handler contract', async (t) => {
  const handler = `
import json

def handle(event, context):
    if event.path == "/none":
        return None
    if event.path == "/boom":
        raise RuntimeError("boom")
    if event.path == "/text":
        return {"statusCode": 202, "body": "accepted", "headers": {"X-Mode": "text"}}
    if event.path == "/binary":
        return {"body": b"\\x00\\x01", "headers": {"Content-type": "application/octet-stream"}}
    return {
        "statusCode": 200,
        "body": {
            "body": event.body.decode(),
            "method": event.method,
            "path": event.path,
            "query": dict(event.query),
            "all_a": event.query.getlist("a"),
            "ct": event.headers.get("content-type"),
            "hostname": context.hostname,
        },
    }
`;
  const { url, stderr } = await startServer(t, 'python3-http', { 'handler.py': handler }, ['python3', 'index.py']);

  let res = await fetch(`${url}/some/path?a=1&a=2&b=`, {
    method: 'PATCH',
    body: 'payload',
    headers: { 'content-type': 'text/plain' },
  });
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.same(await res.json(), {
    body: 'payload',
    method: 'PATCH',
    path: '/some/path',
    query: { a: '1', b: '' },
    all_a: ['1', '2'],
    ct: 'text/plain',
    hostname: 'localhost',
  });

  res = await fetch(`${url}/text`);
  t.equal(res.status, 202);
  t.equal(res.headers.get('x-mode'), 'text');
  t.match(res.headers.get('content-type'), /^text\/html/);
  t.equal(await res.text(), 'accepted');

  res = await fetch(`${url}/none`, { method: 'DELETE' });
  t.equal(res.status, 200);
  t.equal(await res.text(), '');

  res = await fetch(`${url}/binary`);
  t.same([...new Uint8Array(await res.arrayBuffer())], [0, 1]);

  res = await fetch(`${url}/boom`, { method: 'POST', body: 'x' });
  t.equal(res.status, 500);
  await until(() => stderr().includes('RuntimeError: boom'), 5000, 'traceback on stderr');

  // A chunked request body (what a streaming proxy sends) is read completely.
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('chunk-1 '));
      c.enqueue(new TextEncoder().encode('chunk-2'));
      c.close();
    },
  });
  res = await fetch(`${url}/chunked`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  t.match(await res.json(), { body: 'chunk-1 chunk-2' });
});

t.test('template manifests are readable and complete', async (t) => {
  const node = await findTemplate('node20', [join(repo, 'templates')]);
  t.equal(node.language, 'node20');
  t.equal(node.fprocess, 'node index.js');
  t.equal(node.handlerFolder, 'function');
  t.match(node.env, { mode: 'inproc', inproc_handler: 'function/handler.js', upstream_url: 'http://127.0.0.1:${PORT}' });

  const py = await readTemplate(join(repo, 'templates', 'python3-http'));
  t.equal(py.language, 'python3-http');
  t.match(py.env, { mode: 'http', fprocess: 'python3 index.py', upstream_url: 'http://127.0.0.1:${PORT}' });

  await t.rejects(findTemplate('no-such-lang', [join(repo, 'templates')]), { code: 'CLI_ERR_TEMPLATE' });
  await t.rejects(findTemplate('../etc', [join(repo, 'templates')]), { code: 'CLI_ERR_TEMPLATE' });

  const broken = await mkdtemp(join(tmpdir(), 'faas-ts-tpl-broken-'));
  t.teardown(() => rm(broken, { recursive: true, force: true }));
  await writeFile(join(broken, 'template.yml'), 'fprocess: x\n');
  await writeFile(join(broken, 'faas-ts.env.json'), '{"mode": 1}');
  const err = await readTemplate(broken).catch((e: unknown) => e);
  t.match(err, { code: 'CLI_ERR_TEMPLATE' });
  t.equal((err as { problems: string[] }).problems.length, 2, 'both problems reported');
});
