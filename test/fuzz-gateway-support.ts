/**
 * Shared harness of the gateway fuzz tests (test/fuzz-gateway*.test.ts):
 * `faas-ts up` as a real child process (its own process group) with a temp
 * data dir, a one-function stack and short timeouts; an HTTP client and a
 * raw-socket client with deadlines; outcome tallies; RSS and liveness checks.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import fc from 'fast-check';
import { killGroup, until } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Gateway settings of every fuzz run: short timeouts so a hang is visible fast. */
export const FUZZ_ENV = {
  read_timeout: '2s',
  write_timeout: '4s',
  upstream_timeout: '3s',
  max_body_bytes: String(1024 * 1024),
  scale_from_zero_timeout: '3s',
} as const;
export const READ_TIMEOUT_MS = 2_000;
export const WRITE_TIMEOUT_MS = 4_000;
export const UPSTREAM_TIMEOUT_MS = 3_000;
export const MAX_BODY_BYTES = 1024 * 1024;
/** A request must be answered (or its connection closed) within this; later is a hang. */
export const HANG_MS = WRITE_TIMEOUT_MS + 3_000;

/** fast-check seed: fixed by default (reproducible CI), FUZZ_SEED=random or a number to change it. */
export function fuzzSeed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === 'random') return (Math.random() * 2 ** 31) | 0;
  if (raw && /^-?\d+$/.test(raw)) return Number(raw);
  return 20261128;
}

/** A secret created before every campaign: it must survive it, and its value must never be logged. */
export const KEEP_SECRET = 'fz-keep';
const KEEP_SECRET_VALUE = 'fz-keep-value-7f3a9c';

/** The function every run deploys (env-probe: ?sleep, ?fail, echoes nothing of the request). */
export const FN = 'env-probe';

export interface FuzzGateway {
  url: string;
  port: number;
  pid: number;
  auth: string;
  child: ChildProcess;
  stderr(): string;
  /** VmRSS of the gateway process in KiB. */
  rssKiB(): number;
  alive(): boolean;
  dispatcher: Agent;
}

/** Start `faas-ts up` (tsx, sources) with a one-function stack; resolves once the function answers. */
export async function startFuzzGateway(t: Test, extraEnv: Record<string, string> = {}): Promise<FuzzGateway> {
  const base = await mkdtemp(join(tmpdir(), 'faas-ts-fuzz-'));
  await mkdir(join(base, 'functions'), { recursive: true });
  await cp(join(repo, 'functions', FN), join(base, 'functions', FN), { recursive: true });
  await writeFile(
    join(base, 'stack.yml'),
    `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  ${FN}:\n    lang: node20\n    handler: ./functions/${FN}\n    image: ${FN}:latest\n`,
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    FAAS_TS_LOG_LEVEL: process.env.FAAS_TS_LOG_LEVEL ?? 'warn',
    metrics_port: '0',
    ...FUZZ_ENV,
    ...extraEnv,
  };
  // Always the sources: dist/ may predate a fix under test.
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(repo, 'cli', 'main.ts'), 'up', '-f', join(base, 'stack.yml'), '--data-dir', join(base, 'data'), '--port', '0'],
    { cwd: base, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const dispatcher = new Agent({ connections: 8, headersTimeout: HANG_MS, bodyTimeout: HANG_MS, keepAliveTimeout: 2_000 });
  t.teardown(async () => {
    // A failed campaign shows the gateway's own log (FAAS_TS_LOG_LEVEL=debug for more).
    if (!t.passing()) t.comment(`gateway log (last 8 kB):\n${err.slice(-8_000)}`);
    killGroup(child.pid, 'SIGTERM');
    await until(() => child.exitCode !== null || child.signalCode !== null, 10_000, 'faas-ts up exit').catch(() => killGroup(child.pid));
    killGroup(child.pid);
    await dispatcher.close().catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });
  await until(() => /^Try:/m.test(out) || child.exitCode !== null, 90_000, 'faas-ts up banner');
  if (child.exitCode !== null) throw new Error(`faas-ts up exited ${child.exitCode}: ${err}`);
  const url = /^Gateway:\s+(\S+)/m.exec(out)![1]!;
  const password = /^Password:\s+(\S+)/m.exec(out)![1]!;
  const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  const gw: FuzzGateway = {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    auth,
    child,
    stderr: () => err,
    rssKiB: () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]),
    alive: () => child.exitCode === null && child.signalCode === null,
    dispatcher,
  };
  await until(async () => (await call(gw, 'GET', `/function/${FN}`)).status === 200, 60_000, `${FN} answers`);
  const secret = await call(gw, 'POST', '/system/secrets', { body: JSON.stringify({ name: KEEP_SECRET, value: KEEP_SECRET_VALUE }) });
  if (secret.status !== 201) throw new Error(`creating ${KEEP_SECRET}: ${secret.status} ${secret.text}`);
  return gw;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

/** One HTTP request through undici; `path` must already be a valid request-target. */
export async function call(
  gw: FuzzGateway,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<Answer> {
  const t0 = Date.now();
  const headers: Record<string, string> = { ...(opts.auth === false ? {} : { authorization: gw.auth }), ...opts.headers };
  // origin + path: undici leaves the path as written (new URL() would resolve `..` segments).
  const res = await gw.dispatcher.request({
    origin: gw.url,
    path,
    method: method as 'GET',
    headers,
    body: opts.body ?? null,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, ms: Date.now() - t0 };
}

export interface RawResult {
  /** Everything the server sent before closing (or before the deadline). */
  data: string;
  /** The server closed the connection. */
  closed: boolean;
  /** Milliseconds from the first byte sent to close (or deadline). */
  ms: number;
  /** Status codes of every response head seen in `data`. */
  statuses: number[];
}

/**
 * Write `chunks` to a fresh TCP connection (with `gapMs` between chunks) and
 * collect the answer until the server closes it or `deadlineMs` passes.
 */
export function raw(
  gw: FuzzGateway,
  chunks: (string | Buffer)[],
  opts: { gapMs?: number; deadlineMs?: number; endAfterWrite?: boolean } = {},
): Promise<RawResult> {
  const deadline = opts.deadlineMs ?? HANG_MS;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect(gw.port, '127.0.0.1');
    const got: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let gapTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(gapTimer);
      sock.destroy();
      const data = Buffer.concat(got).toString('latin1');
      const statuses = [...data.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ data, closed, ms: Date.now() - t0, statuses });
    };
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closed = true;
      finish();
    });
    timer = setTimeout(finish, deadline);
    let i = 0;
    const next = () => {
      if (sock.destroyed) return;
      if (i >= chunks.length) {
        if (opts.endAfterWrite) sock.end();
        return;
      }
      sock.write(chunks[i++]!);
      gapTimer = setTimeout(next, i < chunks.length ? (opts.gapMs ?? 0) : 0);
    };
    sock.once('connect', next);
  });
}

/** Outcome counts of one route group. */
export class Tally {
  readonly groups = new Map<string, { tried: number; s2: number; s3: number; s4: number; s5: number; other: number; hangs: number }>();

  add(group: string, status: number | 'closed' | 'hang'): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { tried: 0, s2: 0, s3: 0, s4: 0, s5: 0, other: 0, hangs: 0 }));
    g.tried++;
    if (status === 'hang') g.hangs++;
    else if (status === 'closed') g.other++;
    else if (status >= 200 && status < 300) g.s2++;
    else if (status >= 300 && status < 400) g.s3++;
    else if (status >= 400 && status < 500) g.s4++;
    else if (status >= 500 && status < 600) g.s5++;
    else g.other++;
  }

  total(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.tried;
    return n;
  }

  hangs(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.hangs;
    return n;
  }

  /** One line per group plus a total, for t.comment. */
  lines(): string[] {
    const out = [...this.groups].map(
      ([k, g]) => `${k}: tried=${g.tried} 2xx=${g.s2} 3xx=${g.s3} 4xx=${g.s4} 5xx=${g.s5} closed/other=${g.other} hangs=${g.hangs}`,
    );
    out.push(`total inputs tried=${this.total()} hangs=${this.hangs()}`);
    return out;
  }
}

/**
 * The spec's plain-text error shape (Go http.Error): text/plain, nosniff,
 * non-empty message ending in a newline. Returns a problem or undefined.
 */
export function plainErrorProblem(a: Answer, opts: { newline?: boolean } = {}): string | undefined {
  if (!String(a.headers['content-type'] ?? '').startsWith('text/plain')) return `content-type ${String(a.headers['content-type'])}`;
  if (a.headers['x-content-type-options'] !== 'nosniff') return 'no nosniff';
  if (a.text.trim() === '') return 'empty message';
  if ((opts.newline ?? true) && !a.text.endsWith('\n')) return `no trailing newline: ${JSON.stringify(a.text.slice(-40))}`;
  return undefined;
}

/**
 * RSS after a fuzz campaign: give the process idle time (V8 collects when
 * idle) and take the lowest of several samples.
 */
export async function settledRssKiB(gw: FuzzGateway): Promise<number> {
  let low = gw.rssKiB();
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    low = Math.min(low, gw.rssKiB());
  }
  return low;
}

/** The gateway is alive, healthy, and the stack's function is listed and invocable. */
export async function checkUnharmed(t: Test, gw: FuzzGateway): Promise<void> {
  t.ok(gw.alive(), 'the gateway process is still running');
  const health = await call(gw, 'GET', '/healthz', { auth: false });
  t.equal(health.status, 200, '/healthz is 200');
  const list = await call(gw, 'GET', '/system/functions');
  t.equal(list.status, 200);
  t.ok((JSON.parse(list.text) as { name: string }[]).some((f) => f.name === FN), `${FN} is still listed`);
  const inv = await call(gw, 'GET', `/function/${FN}`);
  t.equal(inv.status, 200, `${FN} is still invocable`);
  const secrets = await call(gw, 'GET', '/system/secrets');
  t.ok((JSON.parse(secrets.text) as { name: string }[]).some((s) => s.name === KEEP_SECRET), `secret ${KEEP_SECRET} is still listed`);
  t.notOk(secrets.text.includes(KEEP_SECRET_VALUE), 'secret values are never listed');
  t.notOk(gw.stderr().includes(KEEP_SECRET_VALUE), 'the secret value never reached the log');
}

/**
 * RSS bound of a campaign: after ≤ before + `growthMiB` (default 64) and
 * ≤ 2.5 × before. Repeating a campaign shows V8's heap settling at a plateau
 * rather than growing per request; the bound catches a per-request leak.
 */
export function checkRss(t: Test, before: number, after: number, growthMiB = 64): void {
  t.ok(after <= before + growthMiB * 1024 && after <= before * 2.5, `RSS bounded: before ${before} KiB, after ${after} KiB (bound +${growthMiB} MiB)`);
}

/** One request, counted in `tally`; a hang (undici's timeouts) or a dropped connection throws. */
export async function send(
  gw: FuzzGateway,
  tally: Tally,
  group: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<Answer> {
  try {
    const a = await call(gw, method, path, opts);
    tally.add(group, a.status);
    if (process.env.FUZZ_TRACE) process.stderr.write(`${a.status} ${a.ms}ms ${method} ${path.slice(0, 100)} ${String(opts.body ?? '').slice(0, 300)}\n`);
    return a;
  } catch (err) {
    const e = err as { code?: string; message: string };
    const hang = e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
    tally.add(group, hang ? 'hang' : 'closed');
    throw new Error(`${method} ${path.slice(0, 200)}: ${hang ? 'hang' : 'connection failed'} (${e.code ?? ''} ${e.message})`);
  }
}

/**
 * Throw unless the status is allowed and an error answer has the spec's
 * plain-text shape (405 and 401 have their own fixed bodies).
 */
export function expectAnswer(a: Answer, allowed: readonly number[], what: string, opts: { newline?: boolean } = {}): void {
  if (!allowed.includes(a.status)) throw new Error(`${what}: status ${a.status} not in [${allowed}]: ${a.text.slice(0, 300)}`);
  if (a.status >= 400 && a.status !== 405 && a.status !== 401) {
    const problem = plainErrorProblem(a, opts);
    if (problem) throw new Error(`${what}: error body shape: ${problem} (${a.text.slice(0, 100)})`);
  }
}

/** Run a fast-check property with the run's seed; one tap assertion with the failure and its counterexample. */
export async function property<T>(t: Test, name: string, arb: fc.Arbitrary<T>, run: (v: T) => Promise<void>, numRuns: number): Promise<void> {
  const seed = fuzzSeed();
  const result = await fc.check(fc.asyncProperty(arb, run), { seed, numRuns });
  if (result.failed) {
    const msg = (result.errorInstance as Error | undefined)?.message ?? 'failed';
    t.fail(`${name}: ${msg}; counterexample ${fc.stringify(result.counterexample)} (seed ${result.seed}, path ${result.counterexamplePath})`);
  } else {
    t.pass(`${name}: ${result.numRuns} inputs (seed ${seed})`);
  }
}
