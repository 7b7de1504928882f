import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envsubst } from './envsubst.js';
import { CliError } from './errors.js';
import { buildImageName, loadStack, parseStack } from './stack.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

t.test('the repository stack.yml parses', async (t) => {
  const stack = await loadStack(join(repo, 'stack.yml'), {});
  t.equal(stack.gateway, 'http://127.0.0.1:8080');
  const names = stack.functions.map((f) => f.name);
  t.same(names, ['hello-node', 'echo-python', 'sieve', 'har-cnn', 'iot-predict', 'json-transform', 'env-probe']);
  const hello = stack.functions[0]!;
  t.equal(hello.lang, 'node20');
  t.equal(hello.handler, join(repo, 'functions', 'hello-node'));
  t.equal(hello.image, 'hello-node:latest');
});

t.test('all function keys are read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'faas-ts-stack-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'env1.yml'), 'environment:\n  A: from-file\n  B: "2"\n');
  await writeFile(join(dir, 'env2.yml'), 'environment:\n  B: 3\n');
  const text = `
version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
functions:
  fn:
    lang: Dockerfile
    handler: ./fn
    image: registry:5000/team/fn
    fprocess: cat
    environment:
      A: inline
      C: 1
      D: true
    environment_file:
      - env1.yml
      - env2.yml
    secrets: [s1, s2, s1]
    labels: { com.openfaas.scale.min: 2 }
    annotations: { topic: x }
    limits: { memory: 128Mi, cpu: 100m }
    requests: { memory: 64Mi }
    constraints: ["node.platform.os == linux"]
    readonly_root_filesystem: true
    namespace: team-a
    skip_build: true
`;
  const stack = await parseStack(text, join(dir, 'stack.yml'), {});
  t.same(stack.functions[0], {
    name: 'fn',
    lang: 'dockerfile',
    handler: join(dir, 'fn'),
    image: 'registry:5000/team/fn:latest',
    fprocess: 'cat',
    environment: { A: 'from-file', B: '3', C: '1', D: 'true' },
    secrets: ['s1', 's2'],
    labels: { 'com.openfaas.scale.min': '2' },
    annotations: { topic: 'x' },
    limits: { memory: '128Mi', cpu: '100m' },
    requests: { memory: '64Mi' },
    constraints: ['node.platform.os == linux'],
    readOnlyRootFilesystem: true,
    namespace: 'team-a',
    skipBuild: true,
  });
});

t.test('every problem is reported in one error', async (t) => {
  const text = `
version: 2.0
provider:
  name: faasd
functions:
  Bad_Name:
    lang: node20
    handler: ./x
    image: x
  no-image:
    lang: node20
    handler: ./y
  no-lang:
    image: z
    environment: [a, b]
    readonly_root_filesystem: "yes"
`;
  const err = await parseStack(text, '/tmp/stack.yml', {}).catch((e: unknown) => e);
  t.ok(CliError.is(err, 'CLI_ERR_STACK'));
  const problems = (err as CliError).problems;
  t.match(problems, [
    /^line 2: version must be 1\.0/,
    /^line 4: provider\.name must be "openfaas"/,
    /^line 6: functions\.Bad_Name: the name must be a DNS-1123 label/,
    /^line 10: functions\.no-image\.image is required/,
    /^line 13: functions\.no-lang\.lang is required/,
    /^line 13: functions\.no-lang\.handler is required/,
    /^line 15: functions\.no-lang\.environment must be a map/,
    /^line 16: functions\.no-lang\.readonly_root_filesystem must be true or false/,
  ]);
  t.match((err as Error).message, /^invalid stack file \/tmp\/stack\.yml:\n  - line 2: /, 'file, line and field in the message');
  t.equal(problems.length, 8);
});

t.test('problems inside lists and dotted label keys get their own line', async (t) => {
  const text = `functions:
  fn:
    lang: node20
    handler: ./fn
    image: fn
    labels:
      com.openfaas.scale.min: [1]
    secrets:
      - ok
      - {a: 1}
`;
  const err = await parseStack(text, '/tmp/s.yml', {}).catch((e: unknown) => e);
  t.same((err as CliError).problems, [
    'line 10: functions.fn.secrets[1] must be a string',
    'line 7: functions.fn.labels.com.openfaas.scale.min must be a string',
  ]);
});

t.test('invalid YAML and missing files are stack errors', async (t) => {
  await t.rejects(parseStack('functions: [unclosed', '/x.yml', {}), { code: 'CLI_ERR_STACK' });
  await t.rejects(parseStack('- a list', '/x.yml', {}), { code: 'CLI_ERR_STACK' });
  await t.rejects(loadStack('/nonexistent/stack.yml', {}), { code: 'CLI_ERR_STACK' });
});

t.test('variables are substituted before parsing, as faas-cli does', async (t) => {
  const text = `
functions:
  fn:
    lang: node20
    handler: ./fn
    image: \${REGISTRY:-docker.io}/$OWNER/fn:\${TAG}
    environment:
      unset: "\${NOT_SET}"
      eq: "\${EMPTY=fallback}"
`;
  const stack = await parseStack(text, '/w/stack.yml', { OWNER: 'me', TAG: '1.2', EMPTY: '' });
  t.equal(stack.functions[0]!.image, 'docker.io/me/fn:1.2');
  t.same(stack.functions[0]!.environment, { unset: '', eq: '' }, '${VAR=d} keeps a set-but-empty value');

  const problems: string[] = [];
  t.equal(envsubst('${A:-x} ${B:=y} ${C^^}', { A: '', B: 'b' }, problems), 'x b ${C^^}');
  t.match(problems, [/unsupported variable substitution \$\{C\^\^\}/]);
});

t.test('buildImageName adds :latest like faas-cli', async (t) => {
  t.equal(buildImageName('fn'), 'fn:latest');
  t.equal(buildImageName('fn:1'), 'fn:1');
  t.equal(buildImageName('localhost:5000/fn'), 'localhost:5000/fn:latest');
  t.equal(buildImageName('ghcr.io/o/fn@sha256:abc'), 'ghcr.io/o/fn@sha256:abc');
});
