/** The lock file (spec §3.3): its presence means "healthy" to probes and HEALTHCHECKs. */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { WatchdogError } from './errors.js';

export function writeLockFile(path: string): void {
  try {
    try {
      writeFileSync(path, '', { mode: 0o660 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Only create the directory when missing: recursive mkdir can spin on /proc-like paths.
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, '', { mode: 0o660 });
    }
  } catch (err) {
    throw new WatchdogError(
      'WD_ERR_LOCK_FILE',
      `cannot write lock file ${path}: ${(err as Error).message} (set suppress_lock=true or lock_path to a writable path)`,
      { cause: err },
    );
  }
}

/** Remove the lock file; returns an error text when it was not there. */
export function removeLockFile(path: string): string | undefined {
  try {
    rmSync(path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function lockFilePresent(path: string): boolean {
  return existsSync(path);
}
