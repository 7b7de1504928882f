/**
 * Test support for queue-worker tests (not a test file): a real nats-server
 * with JetStream on a free loopback port, and small real HTTP servers that
 * play the gateway's /function route and a callback receiver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from '../test/helpers.js';

export const NATS_SERVER = '/usr/sbin/nats-server';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** Remember a child so it is SIGKILLed if the test process exits without cleanup. */
export function adopt(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface NatsServer {
  url: string;
  pid: number;
  dir: string;
  /** Stop the server (SIGTERM) and start it again on the same port and storage. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

async function spawnNats(port: number, dir: string): Promise<ChildProcess> {
  const child = adopt(spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' }));
  try {
    await until(async () => child.exitCode !== null || (await tcpOpen(port)), 10_000, 'nats-server listening');
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    return child;
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** nats-server -js on a free 127.0.0.1 port with storage in a fresh temp dir. */
export async function startNats(): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'qw-nats-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await spawnNats(port, dir);
    } catch (err) {
      if (attempt >= 2) throw err;
      continue;
    }
    const server: NatsServer = {
      url: `nats://127.0.0.1:${port}`,
      pid: child.pid!,
      dir,
      async restart() {
        await stopChild(child);
        child = await spawnNats(port, dir);
        server.pid = child.pid!;
      },
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return server;
  }
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RecordingServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/**
 * A real HTTP server recording every request; `respond` decides the answer
 * (default 200 with the request body echoed).
 */
export async function startRecordingServer(
  respond?: (req: Recorded, res: ServerResponse, n: number) => unknown,
): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(rec);
      if (respond) {
        Promise.resolve(respond(rec, res, requests.length)).catch(() => res.writeHead(500).end());
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(rec.body);
      }
    });
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A QueueRequest as the gateway builds it (callback in Go struct form). */
export function queueRequest(fn: string, body: string, opts: { callbackUrl?: string; callId?: string; path?: string; query?: string } = {}) {
  const header: Record<string, string[]> = { 'Content-Type': ['text/plain'], 'X-Start-Time': [String(BigInt(Date.now()) * 1_000_000n)] };
  if (opts.callId) header['X-Call-Id'] = [opts.callId];
  let CallbackUrl = null;
  if (opts.callbackUrl) {
    const u = new URL(opts.callbackUrl);
    header['X-Callback-Url'] = [opts.callbackUrl];
    CallbackUrl = {
      Scheme: u.protocol.replace(/:$/, ''),
      Opaque: '',
      User: null,
      Host: u.host,
      Path: u.pathname,
      RawPath: '',
      OmitHost: false,
      ForceQuery: false,
      RawQuery: u.search.replace(/^\?/, ''),
      Fragment: '',
      RawFragment: '',
    };
  }
  return {
    Header: header,
    Host: 'gateway:8080',
    Body: Buffer.from(body).toString('base64'),
    Method: 'POST',
    Path: opts.path ?? '',
    QueryString: opts.query ?? '',
    Function: fn,
    CallbackUrl,
  };
}

// ---- crash-test helpers ----------------------------------------------------

const root = fileURLToPath(new URL('..', import.meta.url));

/** Run queue-worker/main.ts as a child process, logging to `<logDir>/worker-<tag>.log`. */
export function spawnWorker(env: Record<string, string>, logDir: string, tag: string): ChildProcess {
  const log = openSync(join(logDir, `worker-${tag}.log`), 'a');
  return adopt(
    spawn(process.execPath, ['--import', 'tsx', join(root, 'queue-worker/main.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', log, log],
    }),
  );
}

export async function kill9(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGKILL');
  await gone;
}

/** A function that echoes its body after a short pause, and a callback sink. */
export async function servers(t: { teardown(fn: () => unknown): void }) {
  const executed = new Map<string, number>();
  const fn = await startRecordingServer(async (req, res) => {
    const id = req.body.toString();
    executed.set(id, (executed.get(id) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 2));
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`done ${id}`);
  });
  const callbacks = new Map<string, number>();
  const cb = await startRecordingServer((req, res) => {
    const id = String(req.headers['x-call-id']);
    callbacks.set(id, (callbacks.get(id) ?? 0) + 1);
    res.writeHead(200).end();
  });
  t.teardown(() => Promise.all([fn.close(), cb.close()]));
  return { fn, cb, executed, callbacks };
}

export function gatewayEnv(fn: RecordingServer): Record<string, string> {
  const u = new URL(fn.url);
  return { faas_gateway_address: u.hostname, faas_gateway_port: u.port };
}

