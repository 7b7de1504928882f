/**
 * The local bundle store: what an "image" name means for provider-local.
 *
 * Layout (fixed; the CLI's `build` and people write it too):
 *
 *   <dataDir>/bundles/<key>/            the function's files; replicas run with this as cwd
 *   <dataDir>/bundles/<key>/bundle.json { "image": "hello-node:latest", "env": { ... } }
 *
 * `key` is `bundleKey(image)`: the image reference with a missing tag treated as
 * `:latest` and every character outside [A-Za-z0-9._-] replaced by `_`, so
 * `hello` and `hello:latest` share one bundle. `env` is the template's watchdog
 * environment (what the Dockerfile's ENV lines would set: mode, fprocess,
 * upstream_url, ...).
 *
 * Port convention for http-mode bundles: many replicas share one host, so a
 * function server cannot use a fixed port. For each replica the provider picks a
 * free loopback port, passes it to the function as env `http_port`, and replaces
 * the text `${PORT}` in every bundle env value with it, e.g.
 * `"upstream_url": "http://127.0.0.1:${PORT}"` and a server listening on
 * `process.env.http_port`.
 *
 * Manual install: copy a folder to `<dataDir>/bundles/<key>/` and put a
 * bundle.json in it; no restart needed (bundles are read at deploy time).
 */
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readJsonIfExists, writeJsonAtomic } from './fs-util.js';

/** Image names (registry and tag stripped) served by the built-in generic runtime. */
export const GENERIC_IMAGES: readonly string[] = ['functions/alpine'];

export const BUNDLE_MANIFEST = 'bundle.json';

/** A bundle as stored: where its files are and the watchdog env it asks for. */
export interface Bundle {
  /** Image reference with the tag made explicit, e.g. `hello:latest`. */
  image: string;
  key: string;
  /** Absolute path of the bundle folder (the replica's cwd). */
  dir: string;
  env: Record<string, string>;
}

/** `hello` → `hello:latest`; references with a tag or digest are kept. */
export function withDefaultTag(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  const tail = image.slice(lastSlash + 1);
  if (tail.includes('@') || tail.includes(':')) return image;
  return `${image}:latest`;
}

/** Folder name of an image's bundle: see the header comment. */
export function bundleKey(image: string): string {
  return withDefaultTag(image.trim()).replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `docker.io/library/x:1` → `x:1`; other references unchanged. */
export function stripDockerHub(image: string): string {
  let ref = image.trim();
  for (const registry of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) {
    if (ref.startsWith(registry)) {
      ref = ref.slice(registry.length);
      if (ref.startsWith('library/')) ref = ref.slice('library/'.length);
      break;
    }
  }
  return ref;
}

/** `docker.io/functions/alpine:latest` → `functions/alpine`. */
export function imageRepository(image: string): string {
  let ref = stripDockerHub(image);
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  return colon >= 0 ? ref.slice(0, colon) : ref;
}

export function isGenericImage(image: string, generic: readonly string[] = GENERIC_IMAGES): boolean {
  return generic.includes(imageRepository(image));
}

function parseEnv(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: "env" must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Error(`${where}: env ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export class BundleStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dirOf(image: string): string {
    return join(this.root, bundleKey(image));
  }

  /**
   * Install (or replace) the bundle for `image` from a copy of `sourceDir`.
   * Replacement is a rename, so a deploy never sees a half-copied folder;
   * running replicas keep their (now unlinked) cwd until they restart.
   */
  async add(image: string, sourceDir: string, env: Record<string, string> = {}): Promise<Bundle> {
    const key = bundleKey(image);
    const dir = join(this.root, key);
    await mkdir(this.root, { recursive: true });
    const staging = join(this.root, `.staging-${key}-${randomBytes(4).toString('hex')}`);
    const old = join(this.root, `.old-${key}-${randomBytes(4).toString('hex')}`);
    try {
      await cp(sourceDir, staging, { recursive: true });
      const manifest = { image: withDefaultTag(image.trim()), env: parseEnv(env, image) };
      await writeJsonAtomic(join(staging, BUNDLE_MANIFEST), manifest, 0o644);
      let hadOld = true;
      try {
        await rename(dir, old);
      } catch {
        hadOld = false;
      }
      await rename(staging, dir);
      if (hadOld) await rm(old, { recursive: true, force: true });
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    const bundle = await this.get(image);
    if (!bundle) throw new Error(`bundle ${image} vanished after install`);
    return bundle;
  }

  /**
   * The bundle for `image`, or undefined. A `docker.io/` prefix is also tried
   * without the registry, so `docker.io/me/fn` finds a bundle added as `me/fn`.
   */
  async get(image: string): Promise<Bundle | undefined> {
    const candidates = [image.trim()];
    const short = stripDockerHub(image);
    if (short !== candidates[0]) candidates.push(short);
    for (const candidate of candidates) {
      const key = bundleKey(candidate);
      const dir = join(this.root, key);
      const manifest = await readJsonIfExists<{ image?: unknown; env?: unknown }>(join(dir, BUNDLE_MANIFEST));
      if (!manifest) continue;
      return {
        image: typeof manifest.image === 'string' && manifest.image ? manifest.image : withDefaultTag(candidate),
        key,
        dir,
        env: parseEnv(manifest.env, join(dir, BUNDLE_MANIFEST)),
      };
    }
    return undefined;
  }

  async list(): Promise<Bundle[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const out: Bundle[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const dir = join(this.root, name);
      const manifest = await readJsonIfExists<{ image?: unknown; env?: unknown }>(join(dir, BUNDLE_MANIFEST)).catch(
        () => undefined,
      );
      if (!manifest || typeof manifest.image !== 'string') continue;
      try {
        out.push({ image: manifest.image, key: name, dir, env: parseEnv(manifest.env, name) });
      } catch {
        // a malformed manifest is skipped in listings; get() reports it
      }
    }
    return out;
  }

  async remove(image: string): Promise<boolean> {
    const dir = this.dirOf(image);
    const manifest = await readJsonIfExists(join(dir, BUNDLE_MANIFEST));
    if (!manifest) return false;
    await rm(dir, { recursive: true, force: true });
    return true;
  }
}
