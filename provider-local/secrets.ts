/**
 * Secrets as files: `<dataDir>/secrets/<namespace>/<name>` holds the exact
 * bytes, mode 0600 in 0700 folders, written atomically (temp + rename).
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertDns1123Label, ProviderError, secretBytes, type Secret } from '../provider/index.js';
import { isErrno, writeFileAtomic } from './fs-util.js';

const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Secret names are DNS-1123 subdomains (as Kubernetes), which also makes them safe file names. */
export function assertSecretName(name: string): void {
  if (!(name.length > 0 && name.length <= 253 && SECRET_NAME.test(name))) {
    throw ProviderError.invalid(
      `secret name ${JSON.stringify(name)} is invalid: use lower-case letters, digits, '-' and '.', ` +
        `starting and ending with a letter or digit (at most 253 characters)`,
    );
  }
}

export class SecretStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The only place paths are built: a name that is not DNS-1123 never becomes a path (no `..`, no `/`). */
  private dir(namespace: string): string {
    assertDns1123Label('namespace', namespace);
    return join(this.root, namespace);
  }

  path(namespace: string, name: string): string {
    assertSecretName(name);
    return join(this.dir(namespace), name);
  }

  async exists(namespace: string, name: string): Promise<boolean> {
    try {
      return (await stat(this.path(namespace, name))).isFile();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async names(namespace: string): Promise<string[]> {
    try {
      const entries = await readdir(this.dir(namespace), { withFileTypes: true });
      return entries.filter((e) => e.isFile() && !e.name.includes('.tmp-')).map((e) => e.name).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  async read(namespace: string, name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(namespace, name));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async create(namespace: string, secret: Secret): Promise<void> {
    assertSecretName(secret.name);
    if (await this.exists(namespace, secret.name)) {
      throw new ProviderError('ALREADY_EXISTS', `secret ${secret.name} already exists in namespace ${namespace}`);
    }
    await this.write(namespace, secret.name, secretBytes(secret));
  }

  async update(namespace: string, secret: Secret): Promise<void> {
    assertSecretName(secret.name);
    if (!(await this.exists(namespace, secret.name))) throw ProviderError.notFound(`secret ${secret.name} in namespace ${namespace}`);
    await this.write(namespace, secret.name, secretBytes(secret));
  }

  async delete(namespace: string, name: string): Promise<void> {
    if (!(await this.exists(namespace, name))) throw ProviderError.notFound(`secret ${name} in namespace ${namespace}`);
    await rm(this.path(namespace, name));
  }

  async deleteNamespace(namespace: string): Promise<void> {
    await rm(this.dir(namespace), { recursive: true, force: true });
  }

  private async write(namespace: string, name: string, bytes: Buffer): Promise<void> {
    await mkdir(this.dir(namespace), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(namespace, name), bytes, 0o600);
  }
}
