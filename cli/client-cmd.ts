/**
 * Client commands against a running gateway, with faas-cli's flags where they
 * exist: list, describe, deploy, remove, invoke, logs, secret, login, new.
 */
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BundleStore } from '../provider-local/index.js';
import { buildFunction } from './build.js';
import { createGatewayClient, type GatewayClient } from './client.js';
import { resolveCredentials, resolveGateway, saveCredentials } from './client-config.js';
import { DATA_DIR_ENV, DEFAULT_DATA_DIR, templateDirs, type Runtime } from './config.js';
import { toDeployment } from './deploy.js';
import { CliError } from './errors.js';
import { loadStack, parseStack, type Stack } from './stack.js';
import { findTemplate } from './templates.js';

export interface ClientIo {
  print(line: string): void;
  /** Raw bytes to stdout (invoke results). */
  write(data: Uint8Array): void;
  warn(line: string): void;
  /** The whole of stdin, or empty when stdin is a terminal. */
  readStdin(): Promise<Buffer>;
}

export const CLIENT_COMMANDS = ['namespaces', 'namespace', 'list', 'ls', 'describe', 'deploy', 'remove', 'rm', 'invoke', 'logs', 'secret', 'login', 'new'] as const;

export const CLIENT_USAGE = `Client commands (gateway: -g URL, else $OPENFAAS_URL, else http://127.0.0.1:8080;
credentials: faas-cli's config file, else the local faas-ts up admin password):
  namespaces | namespace list|ls [--json]
  list|ls [-n NS] [-v] [-q] [--json]
  describe NAME [-n NS] [--json]
  deploy [-f stack.yml] [--build] [NAME...]      (--build: build bundles into the local data dir first)
  remove|rm NAME... | -f stack.yml [-n NS]
  invoke NAME [-a|--async] [-m METHOD] [-H K=V]... [--query K=V]... [--content-type T] < body
  logs NAME [-n NS] [--tail N] [--since 10m|RFC3339] [--follow] [--json]
  secret list|create|update|remove NAME [--from-literal V | --from-file F | < stdin] [-n NS]
  login [-u admin] (-p PASSWORD | -s|--password-stdin)
  new NAME --lang LANG [-f stack.yml]`;

const common = {
  gateway: { type: 'string', short: 'g' },
  namespace: { type: 'string', short: 'n' },
} as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: readonly string[], options: T) {
  const all = { ...common, ...options } as typeof common & T;
  try {
    return parseArgs({ args: [...argv], options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError('CLI_ERR_USAGE', `faas-ts ${command}: ${(err as Error).message}`, { cause: err });
  }
}

async function client(rt: Runtime, gatewayFlag: string | undefined, stack?: Stack): Promise<GatewayClient> {
  const url = resolveGateway(gatewayFlag, rt.env, stack?.gateway);
  return createGatewayClient({ url, credentials: await resolveCredentials(url, rt.env, rt.cwd) });
}

function one(command: string, positionals: string[], what = 'NAME'): string {
  if (positionals.length !== 1) throw new CliError('CLI_ERR_USAGE', `faas-ts ${command}: expected one ${what}`);
  return positionals[0]!;
}

function keyValues(flag: string, items: string[] | undefined): [string, string][] {
  return (items ?? []).map((item) => {
    const m = /^([^=:]+)(?:=|:\s*)(.*)$/.exec(item);
    if (!m) throw new CliError('CLI_ERR_USAGE', `${flag} ${JSON.stringify(item)} must be KEY=VALUE`);
    return [m[1]!.trim(), m[2]!];
  });
}

function stackPath(rt: Runtime, flag: string | undefined): string {
  return resolve(rt.cwd, flag ?? 'stack.yml');
}

export async function runClientCommand(command: string, argv: readonly string[], rt: Runtime, io: ClientIo): Promise<number> {
  switch (command) {
    case 'namespace':
    case 'namespaces': {
      const { values, positionals } = parse(command, argv, { json: { type: 'boolean' } });
      const sub = command === 'namespace' ? positionals.shift() : undefined;
      if (command === 'namespace' && sub !== 'list' && sub !== 'ls') {
        throw new CliError('CLI_ERR_USAGE', `faas-ts namespace: only "list" is supported (got ${JSON.stringify(sub ?? '')})`);
      }
      if (positionals.length > 0) throw new CliError('CLI_ERR_USAGE', `faas-ts ${command}: unexpected ${positionals.join(' ')}`);
      const list = (await (await client(rt, values.gateway)).namespaces()).sort();
      if (values.json) io.print(JSON.stringify(list));
      else {
        io.print('Namespaces:');
        for (const n of list) io.print(` - ${n}`);
      }
      return 0;
    }
    case 'list':
    case 'ls': {
      const { values } = parse(command, argv, {
        verbose: { type: 'boolean', short: 'v' },
        quiet: { type: 'boolean', short: 'q' },
        json: { type: 'boolean' },
      });
      const fns = (await (await client(rt, values.gateway)).list(values.namespace)).sort((a, b) => a.name.localeCompare(b.name));
      if (values.json) io.print(JSON.stringify(fns));
      else if (values.quiet) for (const f of fns) io.print(f.name);
      else {
        const rows = fns.map((f) => [f.name, String(f.invocationCount ?? 0), String(f.replicas ?? 0), ...(values.verbose ? [f.image] : [])]);
        const head = ['Function', 'Invocations', 'Replicas', ...(values.verbose ? ['Image'] : [])];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) io.print(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
      }
      return 0;
    }
    case 'describe': {
      const { values, positionals } = parse(command, argv, { json: { type: 'boolean' } });
      const name = one(command, positionals);
      const gw = await client(rt, values.gateway);
      const fn = await gw.describe(name, values.namespace);
      if (!fn) throw new CliError('CLI_ERR_GATEWAY', `no such function: ${name}`);
      if (values.json) {
        io.print(JSON.stringify(fn, null, 2));
        return 0;
      }
      const qualified = fn.namespace && values.namespace ? `${name}.${fn.namespace}` : name;
      io.print(`Name:              ${fn.name}`);
      io.print(`Status:            ${(fn.availableReplicas ?? 0) > 0 ? 'Ready' : 'Not Ready'}`);
      io.print(`Replicas:          ${fn.replicas ?? 0} (available ${fn.availableReplicas ?? 0})`);
      io.print(`Invocations:       ${fn.invocationCount ?? 0}`);
      io.print(`Image:             ${fn.image}`);
      io.print(`Namespace:         ${fn.namespace ?? ''}`);
      io.print(`Function process:  ${fn.envProcess ?? ''}`);
      io.print(`URL:               ${gw.url}/function/${qualified}`);
      io.print(`Async URL:         ${gw.url}/async-function/${qualified}`);
      for (const [label, v] of [['Labels', fn.labels], ['Annotations', fn.annotations], ['Environment', fn.envVars]] as const) {
        if (v && Object.keys(v).length > 0) io.print(`${`${label}:`.padEnd(19)}${Object.entries(v).map(([k, x]) => `${k}=${x}`).join(', ')}`);
      }
      if (fn.secrets?.length) io.print(`Secrets:           ${fn.secrets.join(', ')}`);
      io.print(`Created:           ${fn.createdAt ?? ''}`);
      return 0;
    }
    case 'deploy': {
      const { values, positionals } = parse(command, argv, { yaml: { type: 'string', short: 'f' }, build: { type: 'boolean' } });
      const stack = await loadStack(stackPath(rt, values.yaml), rt.env);
      const unknown = positionals.filter((n) => !stack.functions.some((f) => f.name === n));
      if (unknown.length) throw new CliError('CLI_ERR_USAGE', `faas-ts deploy: no such function in ${stack.file}: ${unknown.join(', ')}`);
      const selected = positionals.length ? stack.functions.filter((f) => positionals.includes(f.name)) : stack.functions;
      const gw = await client(rt, values.gateway, stack);
      const store = new BundleStore(join(resolve(rt.cwd, rt.env[DATA_DIR_ENV] || DEFAULT_DATA_DIR), 'bundles'));
      const dirs = templateDirs(stack.file, rt.repoRoot);
      let failed = 0;
      for (const fn of selected) {
        let fprocess: string | undefined;
        io.print(`Deploying: ${fn.name}.`);
        if (fn.lang) {
          if (values.build) io.print(`  building bundle (${fn.lang}) ...`);
          fprocess = values.build
            ? (await buildFunction(fn, { templateDirs: dirs, store })).template.fprocess
            : (await findTemplate(fn.lang, dirs).catch(() => undefined))?.fprocess;
        }
        const spec = toDeployment(fn, fprocess);
        if (values.namespace) spec.namespace = values.namespace;
        try {
          const r = await gw.deploy(spec);
          io.print(`Deployed ${fn.name}${r.created ? '' : ' (updated)'}: ${r.status}. URL: ${gw.url}/function/${fn.name}${spec.namespace ? `.${spec.namespace}` : ''}`);
        } catch (err) {
          failed++;
          io.warn(`faas-ts: ${(err as Error).message}`);
        }
      }
      return failed ? 1 : 0;
    }
    case 'remove':
    case 'rm': {
      const { values, positionals } = parse(command, argv, { yaml: { type: 'string', short: 'f' } });
      let names = positionals;
      let stack: Stack | undefined;
      if (values.yaml) {
        stack = await loadStack(stackPath(rt, values.yaml), rt.env);
        names = [...names, ...stack.functions.map((f) => f.name)];
      }
      if (names.length === 0) throw new CliError('CLI_ERR_USAGE', `faas-ts ${command}: name a function or give -f stack.yml`);
      const gw = await client(rt, values.gateway, stack);
      for (const name of names) {
        await gw.remove(name, values.namespace);
        io.print(`Removed ${name}`);
      }
      return 0;
    }
    case 'invoke': {
      const { values, positionals } = parse(command, argv, {
        async: { type: 'boolean', short: 'a' },
        method: { type: 'string', short: 'm' },
        header: { type: 'string', short: 'H', multiple: true },
        query: { type: 'string', multiple: true },
        'content-type': { type: 'string' },
      });
      const name = one(command, positionals);
      const headers: Record<string, string> = { 'content-type': values['content-type'] ?? 'text/plain' };
      for (const [k, v] of keyValues('--header', values.header)) headers[k.toLowerCase()] = v;
      const query = new URLSearchParams(keyValues('--query', values.query));
      const method = (values.method ?? 'POST').toUpperCase();
      const body = method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(await io.readStdin());
      const gw = await client(rt, values.gateway);
      const res = await gw.invoke(name, { method, body, headers, query, async: values.async, namespace: values.namespace });
      const out = new Uint8Array(await res.arrayBuffer());
      if (res.status < 200 || res.status > 299) {
        throw new CliError('CLI_ERR_GATEWAY', `server returned unexpected status code: ${res.status} - ${Buffer.from(out).toString('utf8').trim()}`);
      }
      if (values.async) io.warn(`Function submitted asynchronously.${res.headers.get('x-call-id') ? ` X-Call-Id: ${res.headers.get('x-call-id')}` : ''}`);
      else io.write(out);
      return 0;
    }
    case 'logs': {
      const { values, positionals } = parse(command, argv, {
        tail: { type: 'string' },
        since: { type: 'string' },
        follow: { type: 'boolean', short: 't' },
        json: { type: 'boolean' },
      });
      const name = one(command, positionals);
      let since = values.since;
      if (since && /^\d+(ms|s|m|h)$/.test(since)) {
        const n = Number(since.replace(/\D+$/, ''));
        const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[since.replace(/^\d+/, '') as 'ms' | 's' | 'm' | 'h'];
        since = new Date(Date.now() - n * unit).toISOString();
      }
      if (values.tail !== undefined && !/^-?\d+$/.test(values.tail)) throw new CliError('CLI_ERR_USAGE', '--tail must be an integer');
      const gw = await client(rt, values.gateway);
      const tail = values.tail === undefined ? undefined : Number(values.tail);
      for await (const m of gw.logs({ name, namespace: values.namespace, follow: values.follow, tail, since })) {
        io.print(values.json ? JSON.stringify(m) : `${m.timestamp} ${m.instance} ${m.text}`);
      }
      return 0;
    }
    case 'secret': {
      const [sub, ...rest] = argv;
      const { values, positionals } = parse(`secret ${sub ?? ''}`.trim(), rest, {
        'from-literal': { type: 'string' },
        'from-file': { type: 'string' },
        json: { type: 'boolean' },
      });
      const gw = await client(rt, values.gateway);
      switch (sub) {
        case 'list':
        case 'ls': {
          const secrets = await gw.listSecrets(values.namespace);
          if (values.json) io.print(JSON.stringify(secrets));
          else for (const s of secrets) io.print(s.name);
          return 0;
        }
        case 'create':
        case 'update':
        case 'u': {
          const name = one(`secret ${sub}`, positionals);
          const secret: { name: string; namespace?: string; value?: string; rawValue?: string } = { name };
          if (values.namespace) secret.namespace = values.namespace;
          if (values['from-literal'] !== undefined) secret.value = values['from-literal'];
          else if (values['from-file'] !== undefined) secret.rawValue = (await readFile(resolve(rt.cwd, values['from-file']))).toString('base64');
          else secret.value = (await io.readStdin()).toString('utf8').trim();
          if (sub === 'create') await gw.createSecret(secret);
          else await gw.updateSecret(secret);
          io.print(`${sub === 'create' ? 'Created' : 'Updated'} secret ${name}`);
          return 0;
        }
        case 'remove':
        case 'rm':
        case 'delete': {
          const name = one(`secret ${sub}`, positionals);
          await gw.removeSecret(name, values.namespace);
          io.print(`Removed secret ${name}`);
          return 0;
        }
        default:
          throw new CliError('CLI_ERR_USAGE', 'faas-ts secret: expected list, create, update or remove');
      }
    }
    case 'login': {
      const { values } = parse(command, argv, {
        username: { type: 'string', short: 'u' },
        password: { type: 'string', short: 'p' },
        'password-stdin': { type: 'boolean', short: 's' },
      });
      const user = values.username ?? 'admin';
      const password = values['password-stdin'] ? (await io.readStdin()).toString('utf8').trim() : values.password;
      if (!password) throw new CliError('CLI_ERR_USAGE', 'faas-ts login: give --password or --password-stdin');
      const url = resolveGateway(values.gateway, rt.env);
      const status = await createGatewayClient({ url, credentials: { user, password }, timeoutMs: 5000 }).checkCredentials();
      if (status === 401) throw new CliError('CLI_ERR_GATEWAY', 'unable to login, either username or password is incorrect');
      if (status !== 200) throw new CliError('CLI_ERR_GATEWAY', `unexpected status ${status} from ${url}/system/functions`);
      const file = await saveCredentials(url, user, password, rt.env);
      io.print(`credentials saved for ${user} ${url} in ${file}`);
      return 0;
    }
    case 'new': {
      const { values, positionals } = parse(command, argv, { lang: { type: 'string' }, yaml: { type: 'string', short: 'f' } });
      const name = one(command, positionals);
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new CliError('CLI_ERR_USAGE', `faas-ts new: ${name} is not a valid function name`);
      if (!values.lang) throw new CliError('CLI_ERR_USAGE', 'faas-ts new: --lang is required (e.g. node20, python3-http)');
      const file = stackPath(rt, values.yaml);
      const template = await findTemplate(values.lang, templateDirs(file, rt.repoRoot));
      const handlerDir = join(rt.cwd, name);
      if (await stat(handlerDir).then(() => true, () => false)) throw new CliError('CLI_ERR_USAGE', `faas-ts new: ${handlerDir} already exists`);
      await mkdir(handlerDir, { recursive: true });
      await cp(join(template.dir, template.handlerFolder), handlerDir, { recursive: true });
      const block = `  ${name}:\n    lang: ${values.lang}\n    handler: ./${relative(resolve(file, '..'), handlerDir)}\n    image: ${name}:latest\n`;
      const existing = await readFile(file, 'utf8').catch(() => undefined);
      const text =
        existing === undefined
          ? `version: 1.0\nprovider:\n  name: openfaas\n  gateway: http://127.0.0.1:8080\nfunctions:\n${block}`
          : `${existing.replace(/\n*$/, '\n')}\n${block}`;
      // Appending assumes `functions:` is the file's last section; check before writing.
      const parsed = await parseStack(text, file, rt.env).catch(() => undefined);
      if (!parsed?.functions.some((f) => f.name === name)) {
        throw new CliError('CLI_ERR_STACK', `cannot append ${name} to ${file} automatically; add this under functions:\n${block}`);
      }
      await writeFile(file, text);
      io.print(`Function created in folder: ${name}`);
      io.print(`Stack file written: ${file}`);
      if (template.welcomeMessage) io.print(template.welcomeMessage.trimEnd());
      return 0;
    }
    default:
      throw new CliError('CLI_ERR_USAGE', `unknown client command ${command}`);
  }
}
