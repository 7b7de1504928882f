/** Small filesystem helpers: atomic writes (temp file + rename) and tolerant reads. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ProviderError } from '../provider/index.js';

/**
 * Write `data` to `path` atomically: a reader sees the old content or the new
 * one, never a torn file. The temp file is created with `mode`, so a secret is
 * never readable by others, even briefly.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw storageError(err);
  });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw storageError(err);
  }
}

const STORAGE_ERRNOS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'I/O error',
};

/**
 * A failure of the data directory itself (disk full, quota, read-only, I/O) as
 * a BACKEND ProviderError naming the cause, so the API says why instead of
 * "internal error". Other errors pass through unchanged.
 */
export function storageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string' || !(code in STORAGE_ERRNOS)) return err;
  return new ProviderError('BACKEND', `cannot write to the data directory: ${STORAGE_ERRNOS[code]} (${code})`, { cause: err });
}

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}

/** Parsed JSON, or undefined when the file does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
