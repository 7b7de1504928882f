/** FunctionDeployment ⇄ ServiceSpec mapping and the unit parsers, without Docker. */
import t from 'tap';
import type Dockerode from 'dockerode';
import { ProviderError } from '../provider/index.js';
import { defaultEndpointMode, hasIpvs, resolveConfig } from './config.js';
import { assertSecretName, dockerSecretName, groupSecretVersions } from './secrets.js';
import { buildServiceSpec, initialReplicas, isFunctionService, serviceName, statusFromService, type SpecOptions } from './spec.js';
import { parseMemoryBytes, parseNanoCpus } from './units.js';

const opts: SpecOptions = { network: 'func_functions', endpointMode: 'dnsrr-hostport', defaultNamespace: 'openfaas-fn', restartDelayMs: 5000 };

t.test('memory and cpu quantities', async (t) => {
  t.equal(parseMemoryBytes('m', '128m'), 134217728, 'docker binary m');
  t.equal(parseMemoryBytes('m', '128MB'), 134217728, 'docker mb, case-insensitive');
  t.equal(parseMemoryBytes('m', '1g'), 2 ** 30);
  t.equal(parseMemoryBytes('m', '128Mi'), 134217728, 'kubernetes Mi');
  t.equal(parseMemoryBytes('m', '1Gi'), 2 ** 30);
  t.equal(parseMemoryBytes('m', '500M'), 500e6, 'kubernetes decimal M');
  t.equal(parseMemoryBytes('m', '1048576'), 1048576, 'plain bytes');
  t.throws(() => parseMemoryBytes('limits.memory', 'lots'), { code: 'INVALID', message: /limits\.memory "lots"/ });
  t.equal(parseNanoCpus('c', '100m'), 1e8, 'millicores');
  t.equal(parseNanoCpus('c', '0.5'), 5e8, 'cores');
  t.equal(parseNanoCpus('c', '2'), 2e9);
  t.equal(parseNanoCpus('c', '100000000'), 1e8, 'upstream: large integers are NanoCPUs');
  t.throws(() => parseNanoCpus('requests.cpu', 'fast'), { code: 'INVALID' });
});

t.test('deploy spec', async (t) => {
  const spec = buildServiceSpec(
    {
      service: 'fn1',
      image: 'local/fn:1',
      envProcess: 'node index.js',
      envVars: { A: '1', B: 'x=y' },
      labels: { team: 'a' },
      annotations: { note: 'n' },
      constraints: ['node.role == manager'],
      limits: { memory: '128m' },
      readOnlyRootFilesystem: true,
    },
    [{ name: 'key', id: 'sid', dockerName: 'key' }],
    opts,
    1,
  );
  t.equal(spec.Name, 'fn1');
  t.same(spec.Labels, {
    'com.openfaas.function': 'fn1',
    function: 'true',
    team: 'a',
    'com.openfaas.annotations.note': 'n',
    'com.faas-ts.resources': JSON.stringify({ limits: { memory: '128m' } }),
  });
  const task = spec.TaskTemplate as Dockerode.ContainerTaskSpec;
  const c = task.ContainerSpec!;
  t.same(c.Env, ['fprocess=node index.js', 'A=1', 'B=x=y'], 'fprocess first');
  t.same(c.Secrets, [{ SecretID: 'sid', SecretName: 'key', File: { Name: '/var/openfaas/secrets/key', UID: '0', GID: '0', Mode: 0o444 } }]);
  t.equal(c.ReadOnly, true);
  t.match(c.Mounts, [{ Type: 'tmpfs', Target: '/tmp' }]);
  t.same(task.Resources, { Limits: { MemoryBytes: 134217728 } }, 'only the side that was given');
  t.same(task.Placement, { Constraints: ['node.role == manager'] });
  t.same(task.Networks, [{ Target: 'func_functions' }]);
  t.same(task.RestartPolicy, { Condition: 'any', MaxAttempts: 5, Delay: 5e9 });
  t.same(spec.Mode, { Replicated: { Replicas: 1 } });
  t.match(spec.UpdateConfig, { Order: 'start-first', Parallelism: 1 });
  t.same(spec.EndpointSpec, { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }] });
  t.notOk(c.Labels!['com.openfaas.uid'], 'no uid on create');

  const minimal = buildServiceSpec({ service: 'fn2', image: 'i' }, [], { ...opts, endpointMode: 'tasks-dns' }, 1, '42');
  const mc = (minimal.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec!;
  t.notOk('Env' in mc, 'no Env when empty');
  t.notOk('Resources' in minimal.TaskTemplate!, 'no Resources without limits/requests');
  t.same((minimal.TaskTemplate as Dockerode.ContainerTaskSpec).Placement, { Constraints: ['node.platform.os == linux'] });
  t.same(minimal.EndpointSpec, { Mode: 'dnsrr' });
  t.equal(mc.Labels!['com.openfaas.uid'], '42');
  t.same(buildServiceSpec({ service: 'fn3', image: 'i' }, [], { ...opts, endpointMode: 'vip' }, 1).EndpointSpec, { Mode: 'vip' });

  t.throws(
    () => buildServiceSpec({ service: 'f', image: 'i', labels: { 'com.openfaas.annotations.x': '1' }, annotations: { x: '2' } }, [], opts, 1),
    { code: 'INVALID', message: /collides/ },
  );
  t.throws(() => buildServiceSpec({ service: 'f', image: 'i', envVars: { 'A=B': '1' } }, [], opts, 1), { code: 'INVALID' });
});

t.test('replicas, names, namespaces', async (t) => {
  t.equal(initialReplicas({ service: 'f', image: 'i' }), 1);
  t.equal(initialReplicas({ service: 'f', image: 'i', labels: { 'com.openfaas.scale.min': '3' } }), 3);
  t.equal(initialReplicas({ service: 'f', image: 'i', labels: { 'com.openfaas.scale.min': '0' } }), 0);
  t.throws(() => initialReplicas({ service: 'f', image: 'i', labels: { 'com.openfaas.scale.min': 'x' } }), { code: 'INVALID' });
  t.equal(serviceName('fn', 'openfaas-fn', 'openfaas-fn'), 'fn');
  t.equal(serviceName('fn', 'dev', 'openfaas-fn'), 'fn_dev');
  t.throws(() => serviceName('a'.repeat(40), 'b'.repeat(30), 'openfaas-fn'), ProviderError);
  const spec = buildServiceSpec({ service: 'fn', image: 'i', namespace: 'dev' }, [], opts, 1);
  t.equal(spec.Name, 'fn_dev');
  t.equal(spec.Labels!['com.openfaas.namespace'], 'dev');
});

t.test('status read back from a service', async (t) => {
  const spec = buildServiceSpec(
    {
      service: 'fn1',
      image: 'local/fn:1',
      namespace: 'dev',
      envProcess: 'cat',
      envVars: { A: '1' },
      labels: { team: 'a' },
      annotations: { note: 'n' },
      secrets: ['key'],
      limits: { memory: '128Mi', cpu: '100m' },
      requests: { cpu: '50m' },
      readOnlyRootFilesystem: true,
    },
    [{ name: 'key', id: 'sid', dockerName: 'key_dev' }],
    opts,
    2,
    '7',
  );
  const status = statusFromService({ ID: 'x', CreatedAt: '2026-01-01T00:00:00.1Z', Spec: spec } as Dockerode.Service, 'openfaas-fn');
  t.same(status, {
    name: 'fn1',
    image: 'local/fn:1',
    namespace: 'dev',
    labels: { 'com.openfaas.function': 'fn1', function: 'true', team: 'a', faas_function: 'fn1' },
    annotations: { note: 'n' },
    replicas: 2,
    availableReplicas: 0,
    createdAt: '2026-01-01T00:00:00.1Z',
    envProcess: 'cat',
    envVars: { A: '1' },
    secrets: ['key'],
    limits: { memory: '128Mi', cpu: '100m' },
    requests: { cpu: '50m' },
    readOnlyRootFilesystem: true,
  });
  t.ok(isFunctionService(spec));
  t.notOk(isFunctionService({ Name: 'plain', TaskTemplate: { ContainerSpec: { Image: 'x' } } }));
  // a service created by upstream faas-swarm: no namespace label, default namespace
  const upstream = statusFromService(
    { ID: 'y', Spec: { Name: 'old', Labels: { function: 'true', 'com.openfaas.function': 'old' }, TaskTemplate: { ContainerSpec: { Image: 'img', Env: ['fprocess=cat'] } }, Mode: { Replicated: { Replicas: 1 } } } } as unknown as Dockerode.Service,
    'openfaas-fn',
  );
  t.match(upstream, { name: 'old', namespace: 'openfaas-fn', envProcess: 'cat', annotations: {} });
  t.notOk(upstream.envVars);
});

t.test('secret versions', async (t) => {
  t.equal(dockerSecretName('k', 'openfaas-fn', 'openfaas-fn', 1), 'k');
  t.equal(dockerSecretName('k', 'openfaas-fn', 'openfaas-fn', 3), 'k.v3');
  t.equal(dockerSecretName('k', 'dev', 'openfaas-fn', 2), 'k_dev.v2');
  assertSecretName('api-key.v1_x');
  t.throws(() => assertSecretName('-bad'), { code: 'INVALID' });
  t.throws(() => assertSecretName('a/b'), { code: 'INVALID' });
  const groups = groupSecretVersions(
    [
      { ID: '2', Spec: { Name: 'k.v2', Labels: { 'com.openfaas.owner': 'openfaas', 'com.openfaas.secret.name': 'k', 'com.openfaas.secret.version': '2' } } },
      { ID: '1', Spec: { Name: 'k', Labels: { 'com.openfaas.owner': 'openfaas', 'com.openfaas.secret.name': 'k', 'com.openfaas.secret.version': '1' } } },
      { ID: '3', Spec: { Name: 'legacy', Labels: { 'com.openfaas.owner': 'openfaas' } } },
      { ID: '4', Spec: { Name: 'foreign', Labels: {} } },
      { ID: '5', Spec: { Name: 'k_dev', Labels: { 'com.openfaas.owner': 'openfaas', 'com.openfaas.secret.name': 'k', 'com.openfaas.namespace': 'dev' } } },
    ],
    'openfaas-fn',
  );
  t.same([...groups.keys()].sort(), ['dev/k', 'openfaas-fn/k', 'openfaas-fn/legacy']);
  t.same(groups.get('openfaas-fn/k')!.map((v) => v.id), ['1', '2'], 'oldest first');
});

t.test('config and endpoint mode detection', async (t) => {
  t.equal(defaultEndpointMode(false, true), 'dnsrr-hostport', 'a gateway on the host always needs host-mode ports');
  t.equal(defaultEndpointMode(false, false), 'dnsrr-hostport');
  t.equal(defaultEndpointMode(true, true), 'vip', 'inside the swarm with IPVS: upstream VIPs');
  t.equal(defaultEndpointMode(true, false), 'tasks-dns', 'inside the swarm without IPVS: task addresses');
  t.equal(hasIpvs('/nonexistent-proc'), false);
  const c = resolveConfig({});
  t.match(c, { network: 'func_functions', endpointMode: 'dnsrr-hostport', publishHost: '127.0.0.1', defaultNamespace: 'openfaas-fn', restartDelayMs: 5000, probeHealth: true });
  t.ok(Object.isFrozen(c));
  t.equal(resolveConfig({ endpointMode: 'vip' }).probeHealth, false);
  t.throws(() => resolveConfig({ endpointMode: 'mesh' as never, restartDelayMs: -1 }), { code: 'INVALID', message: /endpointMode.*restartDelayMs/ });
});
