/**
 * Function templates in the faas-cli layout: `<dir>/<lang>/template.yml`
 * (language, fprocess, handler_folder, ...), the runtime files, and for faas-ts
 * `faas-ts.env.json`: the watchdog environment a replica runs with, i.e. what
 * the template's Dockerfile sets with ENV for a container image.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseYamlBounded } from './yaml-bounded.js';
import { CliError } from './errors.js';

export const TEMPLATE_MANIFEST = 'template.yml';
export const TEMPLATE_ENV_FILE = 'faas-ts.env.json';

export interface Template {
  readonly language: string;
  /** Absolute path of the template folder. */
  readonly dir: string;
  /** Default function process (template.yml `fprocess`). */
  readonly fprocess?: string;
  /** Where the handler goes inside the bundle (template.yml `handler_folder`, default `function`). */
  readonly handlerFolder: string;
  readonly welcomeMessage?: string;
  /** Watchdog env for a replica (faas-ts.env.json). */
  readonly env: Readonly<Record<string, string>>;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Read one template folder. Every problem is reported in one CLI_ERR_TEMPLATE error. */
export async function readTemplate(dir: string): Promise<Template> {
  const problems: string[] = [];
  let manifest: Record<string, unknown> = {};
  try {
    const parsed = parseYamlBounded(await readFile(join(dir, TEMPLATE_MANIFEST), 'utf8'));
    const doc = parsed.value;
    if (parsed.problems.length > 0) problems.push(...parsed.problems.map((p) => `${TEMPLATE_MANIFEST}: ${p}`));
    else if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) manifest = doc as Record<string, unknown>;
    else problems.push(`${TEMPLATE_MANIFEST} must be a YAML map`);
  } catch (err) {
    problems.push(`cannot read ${TEMPLATE_MANIFEST}: ${(err as Error).message}`);
  }
  const language = typeof manifest.language === 'string' ? manifest.language : '';
  if (!language && problems.length === 0) problems.push(`${TEMPLATE_MANIFEST}: language is required`);
  const handlerFolder = typeof manifest.handler_folder === 'string' && manifest.handler_folder ? manifest.handler_folder : 'function';
  if (handlerFolder.includes('..') || handlerFolder.startsWith('/')) {
    problems.push(`${TEMPLATE_MANIFEST}: handler_folder must be a relative path inside the template`);
  }

  const env: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, TEMPLATE_ENV_FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`${TEMPLATE_ENV_FILE} must be a JSON object of strings`);
    } else {
      for (const [k, v] of Object.entries(parsed)) {
        if (typeof v === 'string') env[k] = v;
        else problems.push(`${TEMPLATE_ENV_FILE}: ${k} must be a string`);
      }
    }
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${TEMPLATE_ENV_FILE} is missing: faas-ts needs it to run the template without a container image`
      : `cannot read ${TEMPLATE_ENV_FILE}: ${(err as Error).message}`;
    problems.push(reason);
  }
  if (problems.length > 0) throw CliError.fromProblems('CLI_ERR_TEMPLATE', `invalid template ${dir}`, problems);
  return Object.freeze({
    language,
    dir,
    fprocess: typeof manifest.fprocess === 'string' && manifest.fprocess ? manifest.fprocess : undefined,
    handlerFolder,
    welcomeMessage: typeof manifest.welcome_message === 'string' ? manifest.welcome_message : undefined,
    env: Object.freeze(env),
  });
}

/** The first `<searchDir>/<lang>` folder that exists, read as a template. */
export async function findTemplate(lang: string, searchDirs: readonly string[]): Promise<Template> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(lang)) {
    throw new CliError('CLI_ERR_TEMPLATE', `invalid template name ${JSON.stringify(lang)}`);
  }
  for (const base of searchDirs) {
    const dir = join(base, lang);
    if (await isDir(dir)) return readTemplate(dir);
  }
  throw new CliError(
    'CLI_ERR_TEMPLATE',
    `template ${JSON.stringify(lang)} not found; looked in: ${searchDirs.map((d) => join(d, lang)).join(', ')}`,
  );
}
