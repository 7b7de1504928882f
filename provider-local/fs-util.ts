/** Small filesystem helpers: atomic writes (temp file + rename) and tolerant reads. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ProviderError } from '../provider/index.js';

/**
 * Write `data` to `path` atomically: a reader sees the old content or the new
 * one, never a torn file. The temp file is created with `mode`, so a secret is
 * never readable by others, even briefly. The data is synced before the
 * rename and the folder after it, so a power cut leaves the old file or the
 * new one, not an empty one (edge boxes lose power).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw storageError(err);
  });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (err) {
    await rm(tmp, { force: true });
    throw storageError(err);
  }
}

/** fsync a folder so a rename in it is durable; best effort (not every filesystem allows it). */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL on some filesystems: the rename still happened
  } finally {
    await fh?.close();
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
