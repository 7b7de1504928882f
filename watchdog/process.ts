/** Child-process helpers shared by the fork modes and http mode. */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** of-watchdog splits fprocess on every single space: no shell, no quoting. */
export function splitCommand(cmd: string): { file: string; args: string[] } {
  const parts = cmd.split(' ');
  return { file: parts[0]!, args: parts.slice(1) };
}

/**
 * Spawn in its own process group (detached) so a timeout can kill the whole
 * group, grandchildren included.
 */
export function spawnGroup(cmd: string, env: Record<string, string>, cwd?: string): ChildProcess {
  const { file, args } = splitCommand(cmd);
  return spawn(file, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
}

/** Signal a child's whole process group; falls back to the pid alone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pid = child.pid;
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

// Go's syscall signal names as printed by ExitError ("signal: killed").
const GO_SIGNAL_TEXT: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGALRM: 'alarm clock',
};

/** Error text the way Go's exec package words it. */
export function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal: ${GO_SIGNAL_TEXT[signal] ?? signal}`;
  return `exit status ${code ?? -1}`;
}

/** Go-like text for a spawn failure. */
export function spawnErrorText(err: NodeJS.ErrnoException, file: string): string {
  if (err.code === 'ENOENT') return `exec: "${file}": executable file not found in $PATH`;
  if (err.code === 'EACCES') return `fork/exec ${file}: permission denied`;
  return err.message;
}

export const SIGNAL_NUMBERS = constants.signals;
