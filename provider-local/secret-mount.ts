/**
 * How a replica sees its secrets.
 *
 * - `namespace` (used when the provider runs as root and `unshare` works): each
 *   replica starts in a private mount namespace (`unshare --mount`) where the
 *   function's secrets folder is bind-mounted read-only onto
 *   /var/openfaas/secrets, upstream's path, so `cat /var/openfaas/secrets/NAME`
 *   works unchanged. The host folder /var/openfaas/secrets is created empty as
 *   the mount point; nothing is mounted on the host itself.
 * - `env`: no mount; the function reads the folder named by env `secret_mount_path`.
 *
 * In both cases `secret_mount_path` is set, to /var/openfaas/secrets or to the
 * host folder respectively.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const UPSTREAM_SECRETS_PATH = '/var/openfaas/secrets';

export type SecretMountMode = 'namespace' | 'env';

/** Shell run by `unshare`: $0 is the host folder, "$@" the watchdog argv. */
const MOUNT_SCRIPT = `mount -o bind,ro "$0" ${UPSTREAM_SECRETS_PATH} && exec "$@"`;

export function wrapWithSecretMount(unsharePath: string, secretsDir: string, argv: string[]): string[] {
  return [unsharePath, '--mount', '--propagation', 'private', 'sh', '-c', MOUNT_SCRIPT, secretsDir, ...argv];
}

function run(file: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000 }, (err, stdout) => resolve({ ok: !err, stdout: String(stdout) }));
  });
}

/**
 * Detect whether the namespace mode works here by doing it once: mount a probe
 * folder and read a file through /var/openfaas/secrets.
 */
export async function probeSecretMount(isRoot: boolean): Promise<{ mode: SecretMountMode; unshare?: string }> {
  if (!isRoot) return { mode: 'env' };
  const unshare = ['/usr/bin/unshare', '/bin/unshare', '/usr/sbin/unshare'];
  let found: string | undefined;
  for (const candidate of unshare) {
    if ((await run(candidate, ['--version'])).ok) {
      found = candidate;
      break;
    }
  }
  if (!found) return { mode: 'env' };
  let probeDir: string | undefined;
  try {
    await mkdir(UPSTREAM_SECRETS_PATH, { recursive: true, mode: 0o755 });
    probeDir = await mkdtemp(join(tmpdir(), 'faas-ts-secret-probe-'));
    await writeFile(join(probeDir, 'probe'), 'ok');
    const res = await run(found, wrapWithSecretMount(found, probeDir, ['cat', `${UPSTREAM_SECRETS_PATH}/probe`]).slice(1));
    return res.ok && res.stdout === 'ok' ? { mode: 'namespace', unshare: found } : { mode: 'env' };
  } catch {
    return { mode: 'env' };
  } finally {
    if (probeDir) await rm(probeDir, { recursive: true, force: true });
  }
}
