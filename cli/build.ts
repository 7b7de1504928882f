/**
 * `faas-ts build`: the local counterpart of faas-cli's build context. For each
 * function: copy `templates/<lang>/` into a staging folder, copy the handler
 * folder's contents over `<handler_folder>/` (top-level `build` and `template`
 * entries skipped, as faas-cli does), and install the result in the bundle
 * store under the function's image name with the template's watchdog env.
 *
 * A content digest (DIGEST_FILE inside the bundle) makes re-runs cheap: an
 * unchanged function is not copied again and reports `changed: false`.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { CliError } from './errors.js';
import type { StackFunction } from './stack.js';
import { findTemplate, type Template } from './templates.js';

export const DIGEST_FILE = '.faas-ts-digest';

/** Files written at run time inside a bundle; never part of its identity. */
const RUNTIME_NAMES = new Set(['__pycache__', DIGEST_FILE, 'bundle.json']);

/** What build needs from a bundle store (provider-local's BundleStore fits). */
export interface BundleSink {
  get(image: string): Promise<{ dir: string } | undefined>;
  add(image: string, sourceDir: string, env: Record<string, string>): Promise<{ dir: string }>;
}

export interface BuildResult {
  readonly name: string;
  readonly image: string;
  readonly template: Template;
  /** Absolute path of the installed bundle. */
  readonly dir: string;
  readonly digest: string;
  /** False when an identical bundle was already installed. */
  readonly changed: boolean;
}

async function listFiles(root: string, dir = root, out: string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (RUNTIME_NAMES.has(entry.name) && dir === root) continue;
    if (entry.name === '__pycache__') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await listFiles(root, full, out);
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** sha256 over every file's relative path, executable bit and bytes, plus the env. */
export async function digestDir(dir: string, env: Readonly<Record<string, string>>): Promise<string> {
  const hash = createHash('sha256');
  const files = (await listFiles(dir)).map((f) => relative(dir, f).split(sep).join('/')).sort();
  for (const rel of files) {
    const full = join(dir, ...rel.split('/'));
    const mode = (await stat(full)).mode & 0o111 ? 'x' : '-';
    hash.update(`${rel}\0${mode}\0`);
    hash.update(await readFile(full));
    hash.update('\0');
  }
  const sortedEnv = Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  hash.update(JSON.stringify(sortedEnv));
  return hash.digest('hex');
}

async function installedDigest(store: BundleSink, image: string): Promise<string | undefined> {
  const bundle = await store.get(image).catch(() => undefined);
  if (!bundle) return undefined;
  try {
    return (await readFile(join(bundle.dir, DIGEST_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Build one function from the stack into `store`. */
export async function buildFunction(
  fn: StackFunction,
  opts: { templateDirs: readonly string[]; store: BundleSink },
): Promise<BuildResult> {
  if (!fn.lang || !fn.handler) {
    throw new CliError('CLI_ERR_BUILD', `function ${fn.name}: lang and handler are required to build`);
  }
  const template = await findTemplate(fn.lang, opts.templateDirs);
  try {
    const handlerStat = await stat(fn.handler);
    if (!handlerStat.isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new CliError('CLI_ERR_BUILD', `function ${fn.name}: handler ${fn.handler} is not a folder`, { cause: err });
  }

  const staging = await mkdtemp(join(tmpdir(), `faas-ts-build-${fn.name}-`));
  try {
    // faas-cli's layout: the template with the handler in its handler folder;
    // for lang dockerfile, the handler folder alone (its Dockerfile is the build).
    // A dockerfile bundle runs the stack's fprocess (else the template's, `cat`)
    // under the watchdog on this machine, as the skeleton Dockerfile's image does.
    const dockerfile = fn.lang === 'dockerfile';
    if (!dockerfile) await cp(template.dir, staging, { recursive: true });
    const handlerRoot = fn.handler;
    await cp(handlerRoot, dockerfile ? staging : join(staging, template.handlerFolder), {
      recursive: true,
      force: true,
      filter: (src) => {
        const rel = relative(handlerRoot, src);
        if (rel === '') return true;
        const top = rel.split(sep)[0];
        return top !== 'build' && top !== 'template' && !rel.split(sep).includes('__pycache__');
      },
    });
    const env = { ...template.env };
    const digest = await digestDir(staging, env);
    const existing = await installedDigest(opts.store, fn.image);
    if (existing === digest) {
      const bundle = await opts.store.get(fn.image);
      if (bundle) return Object.freeze({ name: fn.name, image: fn.image, template, dir: bundle.dir, digest, changed: false });
    }
    await writeFile(join(staging, DIGEST_FILE), `${digest}\n`);
    const bundle = await opts.store.add(fn.image, staging, env);
    return Object.freeze({ name: fn.name, image: fn.image, template, dir: bundle.dir, digest, changed: true });
  } catch (err) {
    if (CliError.is(err)) throw err;
    throw new CliError('CLI_ERR_BUILD', `function ${fn.name}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Build every function of the stack that is not `skip_build`, in order. */
export async function buildStack(
  functions: readonly StackFunction[],
  opts: { templateDirs: readonly string[]; store: BundleSink },
): Promise<BuildResult[]> {
  const results: BuildResult[] = [];
  for (const fn of functions) {
    if (fn.skipBuild) continue;
    results.push(await buildFunction(fn, opts));
  }
  return results;
}
