/**
 * Field validation the real kube-apiserver applies to the objects provider-k8s
 * writes (a subset of k8s.io/kubernetes pkg/apis/.../validation, restated from
 * the documented rules, not ported). Each failure is one `cause` of a 422
 * Invalid Status: { field, message, reason: 'FieldValueInvalid' | 'FieldValueRequired' | ... }.
 */

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

type Obj = Record<string, any>;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const isDns1123Label = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDns1123Subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
export const isDns1035Label = (s: string) => s.length <= 63 && DNS1035_LABEL.test(s);

class Collector {
  readonly causes: Cause[] = [];
  required(field: string): void {
    this.causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field });
  }
  notSupported(field: string, value: unknown, allowed: string[]): void {
    this.causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
      field,
    });
  }
  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field });
  }
}

function qualifiedKey(c: Collector, field: string, key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && !isDns1123Subdomain(prefix)) c.invalid(field, key, 'prefix part must be a DNS-1123 subdomain');
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    c.invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  }
}

function labels(c: Collector, field: string, m: unknown): void {
  if (m === undefined || m === null) return;
  for (const [k, v] of Object.entries(m as Obj)) {
    qualifiedKey(c, field, k);
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      c.invalid(`${field}`, v, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (at most 63 characters)');
    }
  }
}

function annotations(c: Collector, field: string, m: unknown): void {
  if (m === undefined || m === null) return;
  let size = 0;
  for (const [k, v] of Object.entries(m as Obj)) {
    qualifiedKey(c, field, k);
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024) c.invalid(field, '', 'may not be more than 256 kB');
}

export type NameRule = 'subdomain' | 'label' | 'dns1035';

export function validateMeta(c: Collector, meta: Obj | undefined, rule: NameRule, urlNamespace?: string): void {
  if (!meta || !meta.name) {
    c.required('metadata.name');
  } else {
    const ok = rule === 'subdomain' ? isDns1123Subdomain(meta.name) : rule === 'label' ? isDns1123Label(meta.name) : isDns1035Label(meta.name);
    if (!ok) c.invalid('metadata.name', meta.name, `a lowercase RFC ${rule === 'dns1035' ? '1035' : '1123'} ${rule === 'subdomain' ? 'subdomain' : 'label'} must consist of lower case alphanumeric characters or '-'`);
  }
  void urlNamespace;
  labels(c, 'metadata.labels', meta?.labels);
  annotations(c, 'metadata.annotations', meta?.annotations);
}

function resources(c: Collector, field: string, r: Obj | undefined): void {
  for (const kind of ['limits', 'requests'] as const) {
    for (const [k, v] of Object.entries((r?.[kind] ?? {}) as Obj)) {
      if (typeof v !== 'string' && typeof v !== 'number') c.invalid(`${field}.${kind}[${k}]`, v, 'must be a quantity');
      else if (!QUANTITY.test(String(v))) c.invalid(`${field}.${kind}[${k}]`, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    }
  }
}

function probe(c: Collector, field: string, p: Obj | undefined): void {
  if (!p) return;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => p[h]);
  if (handlers.length !== 1) c.invalid(field, handlers, 'must specify exactly one handler type');
  if (p.httpGet) {
    const port = p.httpGet.port;
    if (typeof port === 'number' ? port < 1 || port > 65535 : !isDns1123Label(String(port ?? ''))) c.invalid(`${field}.httpGet.port`, port, 'must be a port number or name');
  }
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (p[k] !== undefined && (!Number.isInteger(p[k]) || p[k] < 0)) c.invalid(`${field}.${k}`, p[k], 'must be greater than or equal to 0');
  }
}

export function validatePodSpec(c: Collector, field: string, spec: Obj | undefined, deployment: boolean): void {
  if (!spec) return c.required(field);
  const volumes = new Set<string>();
  for (const [i, v] of ((spec.volumes ?? []) as Obj[]).entries()) {
    if (!v.name || !isDns1123Label(v.name)) c.invalid(`${field}.volumes[${i}].name`, v.name, 'a lowercase RFC 1123 label');
    if (volumes.has(v.name)) c.duplicate(`${field}.volumes[${i}].name`, v.name);
    volumes.add(v.name);
    const sources = ['emptyDir', 'projected', 'secret', 'configMap', 'hostPath', 'persistentVolumeClaim'].filter((s) => v[s]);
    if (sources.length !== 1) c.invalid(`${field}.volumes[${i}]`, v.name, 'must specify exactly one volume type');
    for (const [j, s] of ((v.projected?.sources ?? []) as Obj[]).entries()) {
      if (s.secret && !s.secret.name) c.required(`${field}.volumes[${i}].projected.sources[${j}].secret.name`);
    }
  }
  const containers = (spec.containers ?? []) as Obj[];
  if (containers.length === 0) c.required(`${field}.containers`);
  const names = new Set<string>();
  for (const [i, ct] of containers.entries()) {
    const f = `${field}.containers[${i}]`;
    if (!ct.name) c.required(`${f}.name`);
    else if (!isDns1123Label(ct.name)) c.invalid(`${f}.name`, ct.name, 'a lowercase RFC 1123 label');
    if (names.has(ct.name)) c.duplicate(`${f}.name`, ct.name);
    names.add(ct.name);
    if (!ct.image || String(ct.image).trim() === '') c.required(`${f}.image`);
    for (const [j, p] of ((ct.ports ?? []) as Obj[]).entries()) {
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) c.invalid(`${f}.ports[${j}].containerPort`, p.containerPort, 'must be between 1 and 65535, inclusive');
      if (p.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) c.notSupported(`${f}.ports[${j}].protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']);
    }
    for (const [j, e] of ((ct.env ?? []) as Obj[]).entries()) {
      if (!e.name || !ENV_NAME.test(e.name)) c.invalid(`${f}.env[${j}].name`, e.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit");
    }
    for (const [j, m] of ((ct.volumeMounts ?? []) as Obj[]).entries()) {
      if (!volumes.has(m.name)) c.invalid(`${f}.volumeMounts[${j}].name`, m.name, 'volume not found');
      if (!m.mountPath) c.required(`${f}.volumeMounts[${j}].mountPath`);
    }
    resources(c, `${f}.resources`, ct.resources);
    probe(c, `${f}.readinessProbe`, ct.readinessProbe);
    probe(c, `${f}.livenessProbe`, ct.livenessProbe);
    if (ct.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(ct.imagePullPolicy)) {
      c.notSupported(`${f}.imagePullPolicy`, ct.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
    }
  }
  if (deployment && spec.restartPolicy && spec.restartPolicy !== 'Always') c.notSupported(`${field}.restartPolicy`, spec.restartPolicy, ['Always']);
  labels(c, `${field}.nodeSelector`, spec.nodeSelector);
}

export function validateDeployment(d: Obj, old?: Obj): Cause[] {
  const c = new Collector();
  validateMeta(c, d.metadata, 'subdomain');
  const spec = d.spec as Obj | undefined;
  if (!spec) {
    c.required('spec');
    return c.causes;
  }
  if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0)) c.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0');
  const match = spec.selector?.matchLabels as Obj | undefined;
  if (!match || Object.keys(match).length === 0) c.required('spec.selector');
  else {
    labels(c, 'spec.selector.matchLabels', match);
    const tl = (spec.template?.metadata?.labels ?? {}) as Obj;
    if (!Object.entries(match).every(([k, v]) => tl[k] === v)) c.invalid('spec.template.metadata.labels', tl, '`selector` does not match template `labels`');
  }
  if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) c.invalid('spec.selector', spec.selector, 'field is immutable');
  labels(c, 'spec.template.metadata.labels', spec.template?.metadata?.labels);
  annotations(c, 'spec.template.metadata.annotations', spec.template?.metadata?.annotations);
  validatePodSpec(c, 'spec.template.spec', spec.template?.spec, true);
  const ru = spec.strategy?.rollingUpdate;
  if (ru && ru.maxSurge === 0 && ru.maxUnavailable === 0) c.invalid('spec.strategy.rollingUpdate.maxUnavailable', 0, 'may not be 0 when `maxSurge` is 0');
  return c.causes;
}

export function validateService(s: Obj, old?: Obj): Cause[] {
  const c = new Collector();
  validateMeta(c, s.metadata, 'dns1035');
  const spec = (s.spec ?? {}) as Obj;
  const type = spec.type ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) c.notSupported('spec.type', type, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']);
  const ports = (spec.ports ?? []) as Obj[];
  if (type !== 'ExternalName' && ports.length === 0) c.required('spec.ports');
  const names = new Set<string>();
  for (const [i, p] of ports.entries()) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) c.invalid(`spec.ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive');
    if (ports.length > 1 && !p.name) c.required(`spec.ports[${i}].name`);
    if (p.name && names.has(p.name)) c.duplicate(`spec.ports[${i}].name`, p.name);
    names.add(p.name);
  }
  labels(c, 'spec.selector', spec.selector);
  if (old?.spec?.clusterIP && spec.clusterIP && spec.clusterIP !== old.spec.clusterIP) c.invalid('spec.clusterIP', spec.clusterIP, 'field is immutable');
  return c.causes;
}

export function validateSecret(s: Obj): Cause[] {
  const c = new Collector();
  validateMeta(c, s.metadata, 'subdomain');
  let size = 0;
  for (const [k, v] of Object.entries((s.data ?? {}) as Obj)) {
    if (!SECRET_KEY.test(k)) c.invalid(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
    if (typeof v !== 'string' || !BASE64.test(v)) c.invalid(`data[${k}]`, '<value>', 'must be base64');
    else size += Buffer.from(v, 'base64').length;
  }
  for (const k of Object.keys((s.stringData ?? {}) as Obj)) {
    if (!SECRET_KEY.test(k)) c.invalid(`stringData[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
  }
  if (size > 1024 * 1024) c.invalid('data', '', 'Too long: must have at most 1048576 bytes');
  return c.causes;
}

export function validateNamespace(n: Obj): Cause[] {
  const c = new Collector();
  validateMeta(c, n.metadata, 'label');
  return c.causes;
}

export function validateScale(s: Obj): Cause[] {
  const c = new Collector();
  const r = s.spec?.replicas;
  if (r !== undefined && (!Number.isInteger(r) || r < 0)) c.invalid('spec.replicas', r, 'must be greater than or equal to 0');
  return c.causes;
}

export function validateEndpointSlice(e: Obj): Cause[] {
  const c = new Collector();
  validateMeta(c, e.metadata, 'subdomain');
  if (!['IPv4', 'IPv6', 'FQDN'].includes(e.addressType)) c.notSupported('addressType', e.addressType, ['FQDN', 'IPv4', 'IPv6']);
  return c.causes;
}
