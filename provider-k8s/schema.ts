/**
 * Structural validation of Kubernetes objects against the API schema that
 * @kubernetes/client-node ships: every generated model class (V1Deployment,
 * V1Container, ...) carries an `attributeTypeMap` (JSON field name → type),
 * generated from the Kubernetes OpenAPI document. We walk an object
 * recursively against it and report:
 *
 * - unknown fields (a typo such as `readinessprobe`, or a field in the wrong
 *   place) — the client would silently drop them when serialising;
 * - wrong JSON types (string vs number vs boolean vs object vs array, maps of
 *   strings, RFC 3339 date strings, int-or-string);
 * - missing required fields, from a table restated from the OpenAPI
 *   `required` lists of the types we write (the attribute maps lack them);
 * - apiVersion/kind pairs we do not know.
 *
 * Not validated: value formats (names, quantities, label syntax) — the API
 * server stand-in checks those as the real server does — nor enum values.
 */
import { loadClientNode } from './client-node.js';

type Attr = { name: string; baseName: string; type: string; format: string };
type ModelClass = { getAttributeTypeMap(): Attr[] };

/** apiVersion + kind → client-node model name. */
export const KINDS: Record<string, string> = {
  'v1/Namespace': 'V1Namespace',
  'v1/Service': 'V1Service',
  'v1/Secret': 'V1Secret',
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/Pod': 'V1Pod',
  'v1/PersistentVolumeClaim': 'V1PersistentVolumeClaim',
  'apps/v1/Deployment': 'V1Deployment',
  'apps/v1/StatefulSet': 'V1StatefulSet',
  'autoscaling/v1/Scale': 'V1Scale',
  'discovery.k8s.io/v1/EndpointSlice': 'V1EndpointSlice',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
};

/** Required fields per model (from the OpenAPI `required` lists). */
const REQUIRED: Record<string, string[]> = {
  V1DeploymentSpec: ['selector', 'template'],
  V1StatefulSetSpec: ['selector', 'template'],
  V1PodSpec: ['containers'],
  V1Container: ['name'],
  V1ContainerPort: ['containerPort'],
  V1EnvVar: ['name'],
  V1Volume: ['name'],
  V1VolumeMount: ['name', 'mountPath'],
  V1KeyToPath: ['key', 'path'],
  V1ServicePort: ['port'],
  V1HTTPGetAction: ['port'],
  V1PolicyRule: ['verbs'],
  V1RoleRef: ['apiGroup', 'kind', 'name'],
  RbacV1Subject: ['kind', 'name'],
  V1RoleBinding: ['roleRef'],
  V1ClusterRoleBinding: ['roleRef'],
  V1EndpointSlice: ['addressType', 'endpoints'],
  V1Endpoint: ['addresses'],
  V1ConfigMapKeySelector: ['key'],
  V1SecretKeySelector: ['key'],
  V1ObjectFieldSelector: ['fieldPath'],
};

export interface SchemaProblem {
  path: string;
  message: string;
}

export interface SchemaValidator {
  /** Problems of `obj` as `model` (e.g. 'V1Deployment'); [] when valid. */
  validate(obj: unknown, model: string): SchemaProblem[];
  /** Picks the model from apiVersion + kind. */
  validateObject(obj: unknown): SchemaProblem[];
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

export async function createSchemaValidator(): Promise<SchemaValidator> {
  const k8s = (await loadClientNode()) as unknown as Record<string, unknown>;
  const model = (name: string): ModelClass | undefined => {
    const m = k8s[name] as Partial<ModelClass> | undefined;
    return m && typeof m.getAttributeTypeMap === 'function' ? (m as ModelClass) : undefined;
  };

  function check(v: unknown, type: string, path: string, out: SchemaProblem[]): void {
    if (v === null || v === undefined) return; // absent optional value
    const bad = (expected: string): void => void out.push({ path, message: `expected ${expected}, got ${typeOf(v)}` });
    const arr = type.match(/^Array<(.+)>$/);
    if (arr) {
      if (!Array.isArray(v)) return bad('array');
      v.forEach((x, i) => check(x, arr[1]!, `${path}[${i}]`, out));
      return;
    }
    const map = type.match(/^\{ \[key: string\]: (.+); \}$/);
    if (map) {
      if (typeOf(v) !== 'object') return bad('object');
      for (const [k, x] of Object.entries(v as object)) check(x, map[1]!, `${path}.${k}`, out);
      return;
    }
    switch (type) {
      case 'string':
        if (typeof v !== 'string') bad('string');
        return;
      case 'number':
        if (typeof v !== 'number') bad('number');
        return;
      case 'boolean':
        if (typeof v !== 'boolean') bad('boolean');
        return;
      case 'Date':
        if (!(v instanceof Date) && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) bad('RFC 3339 date-time string');
        return;
      case 'IntOrString':
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) bad('integer or string');
        return;
      case 'any':
      case 'object':
        return;
    }
    const m = model(type);
    if (!m) {
      out.push({ path, message: `unknown schema type ${type}` });
      return;
    }
    if (typeOf(v) !== 'object') return bad(`object (${type})`);
    const attrs = new Map(m.getAttributeTypeMap().map((a) => [a.baseName, a]));
    for (const [k, x] of Object.entries(v as object)) {
      const a = attrs.get(k);
      if (!a) {
        out.push({ path: path ? `${path}.${k}` : k, message: `unknown field "${k}" in ${type}` });
        continue;
      }
      check(x, a.type, path ? `${path}.${k}` : k, out);
    }
    for (const req of REQUIRED[type] ?? []) {
      const x = (v as Record<string, unknown>)[req];
      if (x === undefined || x === null || x === '') out.push({ path: path ? `${path}.${req}` : req, message: `required field "${req}" of ${type} is missing` });
    }
  }

  return {
    validate(obj, modelName) {
      const out: SchemaProblem[] = [];
      check(obj, modelName, '', out);
      return out;
    },
    validateObject(obj) {
      const o = (obj ?? {}) as { apiVersion?: unknown; kind?: unknown };
      const key = `${String(o.apiVersion)}/${String(o.kind)}`;
      const name = KINDS[key];
      if (!name) return [{ path: '', message: `unknown apiVersion/kind ${key}` }];
      const out: SchemaProblem[] = [];
      check(obj, name, '', out);
      return out;
    },
  };
}
