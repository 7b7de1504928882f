/**
 * `faas-ts build --docker`: a real image with `docker build`, in faas-cli's
 * layout (spec §2.3): `./build/<fn>/` holds the template with the handler in
 * its handler folder (lang dockerfile: the handler folder alone, whose
 * Dockerfile is the build), then `docker build --build-arg ADDITIONAL_PACKAGE=
 * --tag <image> .` runs there. Docker's output is handed back line by line.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CliError } from './errors.js';
import type { StackFunction } from './stack.js';
import { findTemplate } from './templates.js';

export interface DockerBuildOptions {
  templateDirs: readonly string[];
  /** Folder that receives `<fn>/` build contexts (faas-cli: `./build`). */
  buildRoot: string;
  /** `docker` binary; default `docker` on PATH. */
  dockerBin?: string;
  /** Extra `--build-arg K=V`. */
  buildArgs?: Readonly<Record<string, string>>;
  /** Each line docker prints (stdout and stderr), for progress output. */
  onLine?: (line: string) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Write `<buildRoot>/<fn>/` as faas-cli does; returns its path. */
export async function createBuildContext(fn: StackFunction, opts: Pick<DockerBuildOptions, 'templateDirs' | 'buildRoot'>): Promise<string> {
  if (!fn.lang || !fn.handler) throw new CliError('CLI_ERR_BUILD', `function ${fn.name}: lang and handler are required to build`);
  const template = await findTemplate(fn.lang, opts.templateDirs);
  const dir = join(opts.buildRoot, fn.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const dockerfile = fn.lang === 'dockerfile';
  if (!dockerfile) await cp(template.dir, dir, { recursive: true });
  const handlerRoot = fn.handler;
  await cp(handlerRoot, dockerfile ? dir : join(dir, template.handlerFolder), {
    recursive: true,
    force: true,
    filter: (src) => {
      const top = relative(handlerRoot, src).split(sep)[0];
      return top !== 'build' && top !== 'template';
    },
  });
  return dir;
}

/** Build the function's image; resolves with the image tag. */
export async function dockerBuild(fn: StackFunction, opts: DockerBuildOptions): Promise<string> {
  const dir = await createBuildContext(fn, opts);
  const args = ['build', '--build-arg', 'ADDITIONAL_PACKAGE='];
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  args.push('--tag', fn.image, '.');
  const bin = opts.dockerBin ?? 'docker';
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { cwd: dir, env: { ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const relay = (chunk: Buffer) => {
      const text = tail + chunk.toString();
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') opts.onLine?.(l);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('error', (err) =>
      reject(new CliError('CLI_ERR_BUILD', `function ${fn.name}: cannot run ${bin}: ${err.message} (is Docker installed?)`, { cause: err })),
    );
    child.on('close', (code) => {
      if (tail.trim() !== '') opts.onLine?.(tail);
      if (code === 0) resolve();
      else reject(new CliError('CLI_ERR_BUILD', `function ${fn.name}: docker build exited with ${code} (context ${dir})`));
    });
  });
  return fn.image;
}
