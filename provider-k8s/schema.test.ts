/**
 * Generated objects and the deploy/kubernetes manifests against the
 * Kubernetes schema shipped in @kubernetes/client-node (schema.ts), plus
 * checks that the checker itself rejects what it should.
 */
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { buildDeployment, buildNamespace, buildSecret, buildService, createSchemaValidator, resolveConfig } from './index.js';

const MANIFESTS = new URL('../deploy/kubernetes/', import.meta.url);

t.test('generated Deployment, Service, Secret and Namespace are schema-valid', async (t) => {
  const v = await createSchemaValidator();
  const cfg = resolveConfig({ cluster: { server: 'http://x' }, setNonRootUser: true });
  const spec = {
    service: 'full',
    image: 'ghcr.io/acme/full:1',
    envProcess: 'python index.py',
    envVars: { a: '1' },
    labels: { team: 'x' },
    annotations: { topic: 't' },
    secrets: ['s1', 's2'],
    limits: { memory: '128Mi', cpu: '1', 'nvidia.com/gpu': '1' },
    requests: { memory: '64Mi' },
    readOnlyRootFilesystem: true,
    constraints: ['node.role=worker'],
  };
  const secrets = new Map([['s1', ['s1']], ['s2', ['a', 'b']]]);
  for (const probes of ['http', 'exec'] as const) {
    const d = buildDeployment(spec, 'openfaas-fn', resolveConfig({ cluster: { server: 'http://x' }, probes: { type: probes } }), secrets, 2);
    t.same(v.validateObject(d), [], `Deployment (${probes} probes)`);
  }
  t.same(v.validateObject(buildDeployment({ service: 'min', image: 'i:1' }, 'openfaas-fn', cfg, new Map(), 1)), [], 'minimal Deployment');
  t.same(v.validateObject(buildService(spec, 'openfaas-fn')), [], 'Service');
  t.same(v.validateObject(buildSecret('s1', 'openfaas-fn', Buffer.from('x'))), [], 'Secret');
  t.same(v.validateObject(buildNamespace('team', { a: 'b' }, undefined)), [], 'Namespace');
});

t.test('the checker rejects unknown fields, wrong types, missing required fields, unknown kinds', async (t) => {
  const v = await createSchemaValidator();
  const d = buildDeployment({ service: 'x', image: 'i:1' }, 'ns', resolveConfig({ cluster: { server: 'http://x' } }), new Map(), 1) as Record<string, any>;
  const typo = structuredClone(d);
  typo.spec.template.spec.containers[0].readinessprobe = typo.spec.template.spec.containers[0].readinessProbe;
  t.match(v.validateObject(typo), [{ path: 'spec.template.spec.containers[0].readinessprobe', message: /unknown field/ }]);
  const wrongType = structuredClone(d);
  wrongType.spec.replicas = '2';
  t.match(v.validateObject(wrongType), [{ path: 'spec.replicas', message: /expected number/ }]);
  const badMap = structuredClone(d);
  badMap.metadata.labels = { a: 1 };
  t.match(v.validateObject(badMap), [{ path: 'metadata.labels.a', message: /expected string/ }]);
  const noImagePort = structuredClone(d);
  delete noImagePort.spec.template.spec.containers[0].ports[0].containerPort;
  t.match(v.validateObject(noImagePort), [{ path: 'spec.template.spec.containers[0].ports[0].containerPort', message: /required/ }]);
  const badIntOrString = structuredClone(d);
  badIntOrString.spec.template.spec.containers[0].readinessProbe.httpGet.port = 8080.5;
  t.match(v.validateObject(badIntOrString), [{ path: /httpGet\.port$/, message: /integer or string/ }]);
  const arr = structuredClone(d);
  arr.spec.template.spec.containers = { name: 'x' };
  t.match(v.validateObject(arr), [{ path: 'spec.template.spec.containers', message: /expected array/ }]);
  t.match(v.validateObject({ apiVersion: 'v2', kind: 'Deployment' }), [{ message: /unknown apiVersion\/kind/ }]);
});

t.test('every manifest in deploy/kubernetes parses and is schema-valid', async (t) => {
  const v = await createSchemaValidator();
  const files = (await readdir(MANIFESTS)).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).sort();
  t.ok(files.length >= 6, `${files.length} manifest files`);
  const kinds = new Set<string>();
  const objects: Record<string, any>[] = [];
  for (const f of files) {
    const docs = parseAllDocuments(await readFile(new URL(f, MANIFESTS), 'utf8'));
    for (const doc of docs) {
      t.same(doc.errors, [], `${f}: YAML parses`);
      const obj = doc.toJS() as Record<string, any> | null;
      if (!obj) continue;
      objects.push(obj);
      kinds.add(`${obj.kind}/${obj.metadata?.name}`);
      t.same(v.validateObject(obj), [], `${f}: ${obj.kind} ${obj.metadata?.name}`);
    }
  }
  for (const want of ['Namespace/openfaas', 'Namespace/openfaas-fn', 'Deployment/gateway', 'Deployment/queue-worker', 'Deployment/nats', 'Deployment/prometheus', 'Deployment/alertmanager', 'Role/faas-ts-controller', 'RoleBinding/faas-ts-controller']) {
    t.ok(kinds.has(want), `${want} present`);
  }
  // Cross-object consistency a schema cannot see.
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const sel = d.spec.selector.matchLabels as Record<string, string>;
    t.ok(Object.entries(sel).every(([k, val]) => d.spec.template.metadata.labels[k] === val), `${d.metadata.name}: selector matches template labels`);
    const vols = new Set((d.spec.template.spec.volumes ?? []).map((x: { name: string }) => x.name));
    for (const c of d.spec.template.spec.containers) {
      for (const m of c.volumeMounts ?? []) t.ok(vols.has(m.name), `${d.metadata.name}/${c.name}: volume ${m.name} exists`);
      t.ok(c.image && c.resources?.requests, `${d.metadata.name}/${c.name}: image and resource requests set`);
    }
    const sa = d.spec.template.spec.serviceAccountName;
    if (sa) t.ok(objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa && o.metadata.namespace === d.metadata.namespace), `${d.metadata.name}: ServiceAccount ${sa} defined`);
  }
  for (const s of objects.filter((o) => o.kind === 'Service')) {
    t.ok(objects.some((o) => o.kind === 'Deployment' && o.metadata.namespace === s.metadata.namespace && Object.entries(s.spec.selector).every(([k, val]) => o.spec.template.metadata.labels[k] === val)), `Service ${s.metadata.name} selects a Deployment`);
  }
  // Embedded configs are YAML too.
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const [k, text] of Object.entries(cm.data as Record<string, string>)) {
      t.same(parseAllDocuments(text).flatMap((d) => d.errors), [], `${cm.metadata.name}/${k} parses`);
    }
  }
  // The provider container must run under the ServiceAccount the RBAC binds.
  const gw = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway')!;
  const rb = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'faas-ts-controller')!;
  t.equal(rb.subjects[0].name, gw.spec.template.spec.serviceAccountName);
  t.equal(rb.metadata.namespace, 'openfaas-fn');
});
