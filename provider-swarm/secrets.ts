/**
 * Function secrets as Docker secrets.
 *
 * Docker secrets are immutable, so a faas secret is a series of Docker secret
 * versions: version 1 is named like the secret (`NAME`, or `NAME_NS` outside the
 * default namespace, as service names), later ones `NAME.v2`, `NAME.v3`, ... Every
 * version carries the labels below; the highest version is the current value.
 * updateSecret creates the next version, points every function of the namespace
 * that mounts the secret at it (a rolling update of those services: running
 * containers cannot see a new value otherwise) and then removes older versions
 * no service references any more.
 *
 * Only secrets labelled `com.openfaas.owner=openfaas` are managed (upstream rule).
 */
import type Dockerode from 'dockerode';
import { ProviderError } from '../provider/index.js';

export const OWNER_LABEL = 'com.openfaas.owner';
export const SECRET_NAME_LABEL = 'com.openfaas.secret.name';
export const SECRET_VERSION_LABEL = 'com.openfaas.secret.version';
export const SECRET_NAMESPACE_LABEL = 'com.openfaas.namespace';

const SECRET_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name) || name.length > 50) {
    throw ProviderError.invalid(
      `secret name ${JSON.stringify(name)} is invalid: letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most 50 characters`,
    );
  }
}

export interface SecretVersion {
  id: string;
  dockerName: string;
  name: string;
  namespace: string;
  version: number;
}

export function dockerSecretName(name: string, namespace: string, defaultNamespace: string, version: number): string {
  const base = namespace === defaultNamespace ? name : `${name}_${namespace}`;
  return version <= 1 ? base : `${base}.v${version}`;
}

/** The managed versions found in a SecretList answer, grouped per (namespace, name), oldest first. */
export function groupSecretVersions(list: Dockerode.Secret[] | Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>, defaultNamespace: string): Map<string, SecretVersion[]> {
  const out = new Map<string, SecretVersion[]>();
  for (const s of list as Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>) {
    const labels = s.Spec?.Labels ?? {};
    if (labels[OWNER_LABEL] !== 'openfaas') continue;
    const dockerName = s.Spec?.Name ?? '';
    const v: SecretVersion = {
      id: s.ID,
      dockerName,
      name: labels[SECRET_NAME_LABEL] || dockerName,
      namespace: labels[SECRET_NAMESPACE_LABEL] || defaultNamespace,
      version: Number(labels[SECRET_VERSION_LABEL] || '1') || 1,
    };
    const key = `${v.namespace}/${v.name}`;
    const arr = out.get(key) ?? [];
    arr.push(v);
    out.set(key, arr);
  }
  for (const arr of out.values()) arr.sort((a, b) => a.version - b.version);
  return out;
}
