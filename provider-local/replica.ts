/**
 * One supervised replica: an fwatchdog process group on an ephemeral loopback
 * port, restarted with exponential backoff when it dies unexpectedly.
 *
 * Lifecycle: starting → (port learnt from the watchdog's `Listening on port: N`
 * line, then the readiness probe passes) → ready ⇄ starting (health lost) →
 * stopping → stopped. An unexpected exit goes to backoff, then starting again
 * with a fresh launch (new port, fresh env). The instance name stays the same
 * across restarts, like a pod keeping its name when its container restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { LineSplitter } from './logs.js';

export type ReplicaState = 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped';

/** Everything needed to start one process; built afresh for every (re)start. */
export interface LaunchSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Watchdog path polled for readiness: `/_/ready`, or `/_/health` for the classic mode. */
  readyPath: string;
  /** http-mode function server to check with a TCP connect before declaring ready. */
  upstream?: { host: string; port: number };
}

export interface ReplicaTimings {
  /** Poll period while starting (ms). */
  startProbeIntervalMs: number;
  /** Health check period once ready (ms). */
  healthIntervalMs: number;
  /** Consecutive failed health checks before a ready replica is taken out. */
  healthFailureThreshold: number;
  /** Give up on a start (kill, count as a crash) after this long without readiness (ms). */
  startTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A replica ready for this long gets its backoff reset (ms). */
  backoffResetMs: number;
  /** SIGTERM → SIGKILL grace when stopping (ms). */
  stopGraceMs: number;
}

export interface ReplicaOptions {
  id: string;
  generation: number;
  launch: () => Promise<LaunchSpec>;
  timings: ReplicaTimings;
  logger: Logger;
  /** A captured output line (or a provider note about this replica). */
  onLog: (instance: string, text: string) => void;
  /** Called after every state change. */
  onChange: (replica: Replica) => void;
  /** Called with the pid of every process started (to reap orphans after a provider crash). */
  onSpawn?: (pid: number) => void;
  /** Called when the replica died unexpectedly and a restart is scheduled. */
  onRestart?: (reason: string) => void;
}

const LISTENING = /^(?:\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? )?Listening on port: (\d+)\s*$/;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

function probeHttp(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { connection: 'close', 'user-agent': 'faas-ts-local-probe' }, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const IN_FLIGHT = /^http_requests_in_flight(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?)/m;

/** The watchdog's `http_requests_in_flight` gauge from `/_/metrics`; undefined when unavailable. */
function readInFlight(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/_/metrics', method: 'GET', agent: false, headers: { connection: 'close' }, timeout: 2000 },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve(undefined);
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const m = IN_FLIGHT.exec(text);
          resolve(m ? Number(m[1]) : undefined);
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class Replica {
  readonly id: string;
  readonly generation: number;
  state: ReplicaState = 'starting';
  /** Watchdog port once known. */
  port: number | undefined;
  pid: number | undefined;
  restarts = 0;
  readonly startedAt = Date.now();

  private readonly opts: ReplicaOptions;
  private child: ChildProcess | undefined;
  private spec: LaunchSpec | undefined;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private consecutiveCrashes = 0;
  private readySince = 0;
  private healthFailures = 0;
  private launchedAt = 0;
  private probing = false;
  private stopPromise: Promise<void> | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(opts: ReplicaOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.generation = opts.generation;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  start(): void {
    void this.launch();
  }

  private setState(state: ReplicaState): void {
    if (this.state === state) return;
    this.state = state;
    this.opts.onChange(this);
  }

  private async launch(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.port = undefined;
    this.healthFailures = 0;
    this.setState('starting');
    let spec: LaunchSpec;
    try {
      spec = await this.opts.launch();
    } catch (err) {
      this.opts.onLog(this.id, `faas-ts-local: cannot start replica: ${(err as Error).message}`);
      this.crashed(`launch failed: ${(err as Error).message}`);
      return;
    }
    if (this.state !== 'starting') return; // stopped while preparing
    this.spec = spec;
    this.launchedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(spec.argv[0]!, spec.argv.slice(1), {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.crashed(`spawn failed: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    this.pid = child.pid;
    let resolveExit!: () => void;
    this.exited = new Promise((r) => (resolveExit = r));
    const onLine = (line: string) => {
      if (this.port === undefined) {
        const m = LISTENING.exec(line);
        if (m) {
          this.port = Number(m[1]);
          this.scheduleProbe(0);
        }
      }
      this.opts.onLog(this.id, line);
    };
    const out = new LineSplitter(onLine);
    const err = new LineSplitter(onLine);
    child.stdout!.on('data', (c: Buffer) => out.write(c));
    child.stderr!.on('data', (c: Buffer) => err.write(c));
    child.once('error', (e) => {
      this.opts.onLog(this.id, `faas-ts-local: ${e.message}`);
    });
    child.stdout!.once('end', () => out.end());
    child.stderr!.once('end', () => err.end());
    // 'exit', not 'close': an orphaned grandchild may hold the pipes open
    child.once('exit', (code, signal) => {
      // the watchdog is the group leader; sweep anything it left behind
      killGroup(child.pid, 'SIGKILL');
      this.child = undefined;
      this.pid = undefined;
      resolveExit();
      if (this.state === 'stopping' || this.state === 'stopped') {
        this.finishStop();
        return;
      }
      this.crashed(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    if (child.pid === undefined) return; // 'error' + 'close' follow
    this.opts.onSpawn?.(child.pid);
    this.scheduleProbe(this.opts.timings.startProbeIntervalMs);
  }

  private crashed(reason: string): void {
    this.clearTimer();
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const t = this.opts.timings;
    if (this.readySince && Date.now() - this.readySince >= t.backoffResetMs) this.consecutiveCrashes = 0;
    this.readySince = 0;
    this.consecutiveCrashes++;
    this.restarts++;
    this.opts.onRestart?.(reason);
    const delay = Math.min(t.backoffMaxMs, t.backoffInitialMs * 2 ** (this.consecutiveCrashes - 1));
    this.opts.logger.warn({ instance: this.id, reason, delayMs: delay }, 'replica exited; restarting');
    this.opts.onLog(this.id, `faas-ts-local: replica ${reason}; restarting in ${delay}ms`);
    this.setState('backoff');
    this.timer = setTimeout(() => void this.launch(), delay);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleProbe(delayMs: number): void {
    this.clearTimer();
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'backoff') return;
    this.timer = setTimeout(() => void this.probe(), delayMs);
  }

  private async probe(): Promise<void> {
    if (this.probing || !this.child) return;
    const t = this.opts.timings;
    if (this.port === undefined) {
      if (Date.now() - this.launchedAt > t.startTimeoutMs) {
        this.opts.onLog(this.id, `faas-ts-local: no listening port after ${t.startTimeoutMs}ms; killing`);
        killGroup(this.pid, 'SIGKILL');
        return;
      }
      this.scheduleProbe(t.startProbeIntervalMs);
      return;
    }
    this.probing = true;
    let ok: boolean;
    try {
      ok = await probeHttp(this.port, this.spec!.readyPath, 2000);
      if (ok && this.spec!.upstream) ok = await probeTcp(this.spec!.upstream.host, this.spec!.upstream.port, 1000);
    } finally {
      this.probing = false;
    }
    if (this.state === 'starting') {
      if (ok) {
        this.readySince = Date.now();
        this.healthFailures = 0;
        this.setState('ready');
        this.scheduleProbe(t.healthIntervalMs);
      } else if (Date.now() - this.launchedAt > t.startTimeoutMs) {
        this.opts.onLog(this.id, `faas-ts-local: not ready after ${t.startTimeoutMs}ms; killing`);
        killGroup(this.pid, 'SIGKILL');
      } else {
        this.scheduleProbe(t.startProbeIntervalMs);
      }
    } else if (this.state === 'ready') {
      if (ok) {
        this.healthFailures = 0;
      } else if (++this.healthFailures >= t.healthFailureThreshold) {
        this.launchedAt = Date.now();
        this.setState('starting');
        this.scheduleProbe(t.startProbeIntervalMs);
        return;
      }
      this.scheduleProbe(t.healthIntervalMs);
    }
  }

  /**
   * Graceful stop: SIGTERM lets the watchdog drain in-flight requests; the
   * whole group is SIGKILLed after the grace period. Idempotent.
   */
  stop(graceMs = this.opts.timings.stopGraceMs): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.clearTimer();
    const wasRunning = this.child !== undefined;
    this.setState('stopping');
    if (!wasRunning) {
      this.finishStop();
      this.stopPromise = Promise.resolve();
      return this.stopPromise;
    }
    this.graceTimer = setTimeout(() => killGroup(this.pid, 'SIGKILL'), graceMs);
    // The replica is already out of the endpoint list. Wait for its in-flight
    // requests to finish before SIGTERM: in http mode the watchdog forwards
    // SIGTERM to the function server at once, which may not drain by itself.
    void this.waitIdle(Date.now() + graceMs).then(() => {
      if (!this.child) return;
      try {
        process.kill(this.pid!, 'SIGTERM');
      } catch {
        // exited meanwhile; the exit handler finishes the stop
      }
    });
    this.stopPromise = this.exited.then(() => this.finishStop());
    return this.stopPromise;
  }

  /** Resolves when the watchdog reports no request in flight (or cannot tell), or at `deadline`. */
  private async waitIdle(deadline: number): Promise<void> {
    const port = this.port;
    if (port === undefined) return;
    while (this.child && Date.now() < deadline) {
      const inFlight = await readInFlight(port);
      if (inFlight === undefined || inFlight <= 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private finishStop(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.clearTimer();
    this.setState('stopped');
  }
}
