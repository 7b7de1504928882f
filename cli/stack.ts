/**
 * stack.yml (OpenFaaS stack format, spec/cli-and-certifier.md §1): parsed once
 * into typed, frozen objects. Every problem in the file is collected and
 * reported in one CLI_ERR_STACK error.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap as isYamlMap, isScalar, isSeq, type LineCounter, type Document } from 'yaml';
import { isDns1123Label, type FunctionResources } from '../provider/index.js';
import { CliError } from './errors.js';
import { envsubst } from './envsubst.js';
import { parseYamlBounded } from './yaml-bounded.js';

export interface StackFunction {
  /** The map key: the function (service) name. */
  readonly name: string;
  /** Template name (`template/<lang>/` or `templates/<lang>/`). */
  readonly lang?: string;
  /** Absolute path of the handler folder. */
  readonly handler?: string;
  /** Image reference with `:latest` added when it has no tag (faas-cli BuildImageName). */
  readonly image: string;
  readonly fprocess?: string;
  /** `environment` merged with `environment_file` contents (later files win). */
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly limits?: FunctionResources;
  readonly requests?: FunctionResources;
  readonly constraints: readonly string[];
  readonly readOnlyRootFilesystem: boolean;
  readonly namespace?: string;
  readonly skipBuild: boolean;
}

export interface Stack {
  /** Absolute path of the stack file. */
  readonly file: string;
  readonly gateway?: string;
  readonly functions: readonly StackFunction[];
}

/** faas-cli's image naming: a reference whose last `/` segment has no `:` gets `:latest`. */
export function buildImageName(image: string): string {
  const tail = image.slice(image.lastIndexOf('/') + 1);
  return tail.includes(':') || tail.includes('@') ? image : `${image}:latest`;
}

type Problems = string[];

/** A YAML mapping: a plain object (not an array, nor a `!!binary`/`!!set`/`!!omap` value). */
function isMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

function stringMap(v: unknown, where: string, problems: Problems): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) {
    problems.push(`${where} must be a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(v)) {
    const s = raw === null ? '' : scalar(raw);
    if (s === undefined) problems.push(`${where}.${k} must be a string`);
    else out[k] = s;
  }
  return out;
}

function stringList(v: unknown, where: string, problems: Problems): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    problems.push(`${where} must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    const s = scalar(item);
    if (s === undefined) problems.push(`${where}[${i}] must be a string`);
    else out.push(s);
  });
  return out;
}

function optionalString(v: unknown, where: string, problems: Problems): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = scalar(v);
  if (s === undefined) problems.push(`${where} must be a string`);
  return s === '' ? undefined : s;
}

function bool(v: unknown, where: string, problems: Problems): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  problems.push(`${where} must be true or false`);
  return false;
}

function resources(v: unknown, where: string, problems: Problems): FunctionResources | undefined {
  if (v === undefined || v === null) return undefined;
  const m = stringMap(v, where, problems);
  const out: FunctionResources = {};
  for (const key of ['memory', 'cpu'] as const) if (m[key]) out[key] = m[key];
  return Object.keys(out).length > 0 ? out : undefined;
}

async function readEnvironmentFile(path: string, where: string, problems: Problems): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    problems.push(`${where}: cannot read ${path}: ${(err as Error).message}`);
    return {};
  }
  const parsed = parseYamlBounded(text);
  if (parsed.problems.length > 0) {
    problems.push(`${where}: ${path} is not valid YAML: ${parsed.problems.join('; ')}`);
    return {};
  }
  const doc = parsed.value;
  if (!isMap(doc)) {
    problems.push(`${where}: ${path} must hold a map with an "environment" key`);
    return {};
  }
  return stringMap(doc.environment, `${where} (${path}) environment`, problems);
}

async function parseFunction(
  name: string,
  raw: unknown,
  baseDir: string,
  problems: Problems,
): Promise<StackFunction | undefined> {
  const where = `functions.${name}`;
  if (!isDns1123Label(name)) {
    problems.push(`${where}: the name must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)`);
  }
  if (!isMap(raw)) {
    problems.push(`${where} must be a map`);
    return undefined;
  }
  const image = optionalString(raw.image, `${where}.image`, problems);
  if (!image) problems.push(`${where}.image is required`);
  let lang = optionalString(raw.lang, `${where}.lang`, problems);
  if (lang === 'Dockerfile') lang = 'dockerfile';
  const handler = optionalString(raw.handler, `${where}.handler`, problems);
  const skipBuild = bool(raw.skip_build, `${where}.skip_build`, problems);
  if (!skipBuild && !lang) problems.push(`${where}.lang is required (or set skip_build: true)`);
  if (!skipBuild && !handler) problems.push(`${where}.handler is required (or set skip_build: true)`);

  const environment = stringMap(raw.environment, `${where}.environment`, problems);
  for (const file of stringList(raw.environment_file, `${where}.environment_file`, problems)) {
    Object.assign(environment, await readEnvironmentFile(resolve(baseDir, file), `${where}.environment_file`, problems));
  }
  const namespace = optionalString(raw.namespace, `${where}.namespace`, problems);
  if (namespace && !isDns1123Label(namespace)) problems.push(`${where}.namespace must be a DNS-1123 label`);

  const fn: StackFunction = {
    name,
    lang,
    handler: handler ? resolve(baseDir, handler) : undefined,
    image: image ? buildImageName(image) : '',
    fprocess: optionalString(raw.fprocess, `${where}.fprocess`, problems),
    environment,
    secrets: [...new Set(stringList(raw.secrets, `${where}.secrets`, problems))],
    labels: stringMap(raw.labels, `${where}.labels`, problems),
    annotations: stringMap(raw.annotations, `${where}.annotations`, problems),
    limits: resources(raw.limits, `${where}.limits`, problems),
    requests: resources(raw.requests, `${where}.requests`, problems),
    constraints: stringList(raw.constraints, `${where}.constraints`, problems),
    readOnlyRootFilesystem: bool(raw.readonly_root_filesystem, `${where}.readonly_root_filesystem`, problems),
    namespace,
    skipBuild,
  };
  return Object.freeze(fn);
}

/**
 * The line of the deepest YAML node a problem's leading path names
 * (`functions.fn.labels.k must ...`). Keys may contain dots
 * (`com.openfaas.scale.min`), so each step takes the longest matching key.
 */
function lineOf(doc: Document, counter: LineCounter, problem: string): number | undefined {
  let node: unknown = doc.contents;
  let rest = problem;
  let line: number | undefined;
  for (;;) {
    if (isYamlMap(node)) {
      let best: { key: string; offset: number; value: unknown } | undefined;
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const next = rest.charAt(key.length);
        if (rest.startsWith(key) && ['', '.', '[', ' ', ':'].includes(next) && (!best || key.length > best.key.length)) {
          best = { key, offset: isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0, value: pair.value };
        }
      }
      if (!best) return line;
      line = counter.linePos(best.offset).line;
      node = best.value;
      rest = rest.slice(best.key.length);
    } else if (isSeq(node)) {
      const m = /^\[(\d+)\]/.exec(rest);
      const item: unknown = m ? node.items[Number(m[1])] : undefined;
      if (!m || !item) return line;
      const range = (item as { range?: [number, number, number] }).range;
      if (range) line = counter.linePos(range[0]).line;
      node = item;
      rest = rest.slice(m[0].length);
    } else return line;
    if (rest.startsWith('.')) rest = rest.slice(1);
    else if (!rest.startsWith('[')) return line;
  }
}

/**
 * Parse stack text. `file` is used for messages and to resolve handler and
 * environment_file paths; `env` feeds variable substitution.
 */
export async function parseStack(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Stack> {
  const problems: Problems = [];
  const substituted = envsubst(text, env, problems);
  const parsed = parseYamlBounded(substituted);
  if (parsed.problems.length > 0 || !parsed.doc) {
    throw CliError.fromProblems('CLI_ERR_STACK', `invalid stack file ${file}`, [...problems, ...parsed.problems]);
  }
  const doc = parsed.value;
  if (!isMap(doc)) throw CliError.fromProblems('CLI_ERR_STACK', `invalid stack file ${file}`, ['the file must be a YAML map']);

  // YAML reads `version: 1.0` as the number 1; upstream keeps the literal "1.0".
  if (doc.version !== undefined && doc.version !== null && !['1', '1.0'].includes(String(doc.version))) {
    problems.push(`version must be 1.0 (got ${JSON.stringify(doc.version)})`);
  }
  let gateway: string | undefined;
  if (doc.provider !== undefined && doc.provider !== null) {
    if (!isMap(doc.provider)) problems.push('provider must be a map');
    else {
      if (doc.provider.name !== 'openfaas') {
        problems.push(`provider.name must be "openfaas" (got ${JSON.stringify(doc.provider.name ?? null)})`);
      }
      gateway = optionalString(doc.provider.gateway, 'provider.gateway', problems);
    }
  }
  const functions: StackFunction[] = [];
  if (doc.functions === undefined || doc.functions === null) problems.push('functions is required');
  else if (!isMap(doc.functions)) problems.push('functions must be a map of name → function');
  else {
    const baseDir = dirname(file);
    for (const [name, raw] of Object.entries(doc.functions)) {
      const fn = await parseFunction(name, raw, baseDir, problems);
      if (fn) functions.push(fn);
    }
  }
  if (problems.length > 0) {
    const located = parsed.doc;
    const withLines = problems.map((p) => {
      const line = lineOf(located, parsed.counter, p);
      return line === undefined ? p : `line ${line}: ${p}`;
    });
    throw CliError.fromProblems('CLI_ERR_STACK', `invalid stack file ${file}`, withLines);
  }
  return Object.freeze({ file, gateway, functions: Object.freeze(functions) });
}

export async function loadStack(file: string, env: Readonly<Record<string, string | undefined>>): Promise<Stack> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('CLI_ERR_STACK', `cannot read stack file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseStack(text, resolve(file), env);
}
