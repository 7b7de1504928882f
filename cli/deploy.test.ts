import t from 'tap';
import type { FunctionStatus } from '../provider/index.js';
import { matchesSpec, toDeployment } from './deploy.js';
import { parseStack } from './stack.js';

async function fn(yaml: string) {
  const stack = await parseStack(`functions:\n  fn:\n${yaml}`, '/w/stack.yml', {});
  return stack.functions[0]!;
}

t.test('toDeployment builds the body faas-cli would send', async (t) => {
  const minimal = await fn('    lang: node20\n    handler: ./fn\n    image: fn\n');
  t.same(toDeployment(minimal, 'node index.js'), {
    service: 'fn',
    image: 'fn:latest',
    labels: {},
    annotations: {},
    envProcess: 'node index.js',
  }, 'fprocess from the template when the stack sets none; labels/annotations always present');

  const full = await fn(`    lang: node20
    handler: ./fn
    image: fn:2
    fprocess: node other.js
    namespace: team
    environment: { A: "1" }
    secrets: [s]
    constraints: [c]
    labels: { l: v }
    annotations: { a: v }
    limits: { memory: 1Mi }
    requests: { cpu: 10m }
    readonly_root_filesystem: true
`);
  t.same(toDeployment(full, 'node index.js'), {
    service: 'fn',
    image: 'fn:2',
    namespace: 'team',
    envProcess: 'node other.js',
    envVars: { A: '1' },
    secrets: ['s'],
    constraints: ['c'],
    labels: { l: 'v' },
    annotations: { a: 'v' },
    limits: { memory: '1Mi' },
    requests: { cpu: '10m' },
    readOnlyRootFilesystem: true,
  });
});

t.test('matchesSpec: same spec is unchanged, any field difference is a change', async (t) => {
  const spec = toDeployment(
    await fn('    lang: node20\n    handler: ./fn\n    image: fn\n    environment: { A: "1" }\n    labels: { x: y }\n    secrets: [a, b]\n'),
    'node index.js',
  );
  const status: FunctionStatus = {
    name: 'fn',
    image: 'fn:latest',
    namespace: 'openfaas-fn',
    envProcess: 'node index.js',
    envVars: { A: '1' },
    labels: { x: 'y' },
    annotations: {},
    secrets: ['b', 'a'],
    replicas: 1,
    availableReplicas: 1,
    createdAt: '2026-01-01T00:00:00Z',
  };
  t.ok(matchesSpec(status, spec), 'order of secrets and status-only fields do not matter');
  t.ok(matchesSpec({ ...status, image: 'fn', annotations: null }, spec), 'implicit :latest and null maps are equal');
  t.ok(matchesSpec({ ...status, labels: { x: 'y', faas_function: 'fn' } }, spec), 'labels the provider adds are ignored');
  t.notOk(matchesSpec({ ...status, labels: { x: 'y', other: 'z' } }, spec), 'any other extra label is a change');
  t.notOk(matchesSpec({ ...status, image: 'fn:2' }, spec));
  t.notOk(matchesSpec({ ...status, envVars: { A: '2' } }, spec));
  t.notOk(matchesSpec({ ...status, envVars: { A: '1', B: '2' } }, spec));
  t.notOk(matchesSpec({ ...status, labels: {} }, spec));
  t.notOk(matchesSpec({ ...status, secrets: ['a'] }, spec));
  t.notOk(matchesSpec({ ...status, envProcess: 'x' }, spec));
  t.notOk(matchesSpec({ ...status, limits: { memory: '1Mi' } }, spec));
  t.notOk(matchesSpec({ ...status, readOnlyRootFilesystem: true }, spec));
});
