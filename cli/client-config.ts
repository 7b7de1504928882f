/**
 * Which gateway the client commands talk to and with which credentials.
 *
 * Gateway: `--gateway/-g`, else env OPENFAAS_URL, else the stack file's
 * provider.gateway, else http://127.0.0.1:8080; normalised like faas-cli
 * (lower case, no trailing `/`, `http://` added).
 *
 * Credentials: faas-cli's config file (`$OPENFAAS_CONFIG/config.yml`, else
 * `~/.openfaas/config.yml`), so `faas-cli login` and `faas-ts login` share
 * one; else, for a loopback gateway, the admin credentials `faas-ts up` keeps
 * in the data directory.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DATA_DIR_ENV, DEFAULT_DATA_DIR, type Env } from './config.js';
import { PASSWORD_FILE, USER_FILE } from './credentials.js';
import { CliError } from './errors.js';

export const DEFAULT_GATEWAY = 'http://127.0.0.1:8080';

export function normaliseGateway(url: string): string {
  let u = url.trim().toLowerCase().replace(/\/+$/, '');
  if (!u.startsWith('http')) u = `http://${u}`;
  return u;
}

export function resolveGateway(flag: string | undefined, env: Env, stackGateway?: string): string {
  return normaliseGateway(flag || env.OPENFAAS_URL || stackGateway || DEFAULT_GATEWAY);
}

export function configFilePath(env: Env): string {
  const dir = env.OPENFAAS_CONFIG || join(env.HOME || homedir(), '.openfaas');
  return join(dir, 'config.yml');
}

interface AuthEntry {
  gateway?: string;
  auth?: string;
  token?: string;
}

async function readAuths(file: string): Promise<{ doc: Record<string, unknown>; auths: AuthEntry[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { doc: {}, auths: [] };
    throw err;
  }
  const doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const auths = Array.isArray(doc.auths) ? (doc.auths as AuthEntry[]) : [];
  return { doc, auths };
}

function isLoopback(gateway: string): boolean {
  try {
    const host = new URL(gateway).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

async function readLocalAdmin(dir: string): Promise<{ user: string; password: string } | undefined> {
  try {
    const user = (await readFile(join(dir, USER_FILE), 'utf8')).trim();
    const password = (await readFile(join(dir, PASSWORD_FILE), 'utf8')).trim();
    return user && password ? { user, password } : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveCredentials(
  gateway: string,
  env: Env,
  cwd: string,
): Promise<{ user: string; password: string } | undefined> {
  const { auths } = await readAuths(configFilePath(env)).catch(() => ({ auths: [] as AuthEntry[] }));
  const entry = auths.find((a) => a.gateway && normaliseGateway(a.gateway) === gateway && a.auth === 'basic' && a.token);
  if (entry) {
    const decoded = Buffer.from(entry.token!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (isLoopback(gateway)) {
    const dataDir = resolve(cwd, env[DATA_DIR_ENV] || DEFAULT_DATA_DIR);
    return readLocalAdmin(join(dataDir, 'gateway-secrets'));
  }
  return undefined;
}

/** Store basic-auth credentials for `gateway` in faas-cli's config file format (mode 0600). */
export async function saveCredentials(gateway: string, user: string, password: string, env: Env): Promise<string> {
  const file = configFilePath(env);
  try {
    const { doc, auths } = await readAuths(file);
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    const others = auths.filter((a) => !a.gateway || normaliseGateway(a.gateway) !== gateway);
    doc.auths = [...others, { gateway, auth: 'basic', token }];
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, stringifyYaml(doc), { mode: 0o600 });
    return file;
  } catch (err) {
    throw new CliError('CLI_ERR_CREDENTIALS', `cannot save credentials in ${file}: ${(err as Error).message}`, { cause: err });
  }
}
