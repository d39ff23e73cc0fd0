// Long operations run as `shitate <command>` child processes, exactly as a user would type them: detached,
// with stdout and stderr in a log file, so a job outlives a page reload or a studio restart and the studio
// can find it again by its pid. Stopping is Ctrl-C (SIGINT), which every command turns into a clean stop.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** How to start `shitate`: the program and the arguments before the command (e.g. node bin/shitate.js). */
export interface CliCommand {
  command: string;
  args: string[];
}

/** One start of a child process, as recorded in the item's studio.json. */
export interface Launch {
  pid: number;
  args: string[];
  startedAt: string;
  /** where this launch's output starts in the log */
  logOffset: number;
  endedAt?: string;
  exitCode?: number | null;
}

export interface Started {
  launch: Launch;
  /** settles when the process exits (only while this studio is the parent) */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Starts `shitate ...args` in `cwd`, appending its output to `log`. */
export function startCli(cli: CliCommand, args: string[], o: { cwd: string; log: string; env?: NodeJS.ProcessEnv }): Started {
  const logOffset = fs.existsSync(o.log) ? fs.statSync(o.log).size : 0;
  const fd = fs.openSync(o.log, 'a');
  try {
    const child = spawn(cli.command, [...cli.args, ...args], {
      cwd: o.cwd, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...o.env },
    });
    child.unref();
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    if (child.pid === undefined) throw new Error(`could not start ${cli.command}`);
    return { launch: { pid: child.pid, args, startedAt: new Date().toISOString(), logOffset }, exited };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether `pid` is still the process that was started: alive, not a zombie, and (where /proc exists) with
 * `marker` (a path only that job has) on its command line, so a reused pid is not mistaken for it.
 */
export function isAlive(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.includes(marker));
  } catch {
    return true; // no /proc (macOS): the signal check is all there is
  }
}

/** Sends Ctrl-C; false when the process was already gone. */
export function interrupt(pid: number): boolean {
  try {
    process.kill(pid, 'SIGINT');
    return true;
  } catch {
    return false;
  }
}

/** Up to `max` bytes of a log from `offset` (the tail when there is more). */
export function readLog(file: string, offset = 0, max = 64 * 1024): string {
  if (!fs.existsSync(file)) return '';
  const size = fs.statSync(file).size;
  const start = Math.max(offset, size - max);
  if (start >= size) return '';
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoggedError {
  code: string;
  message: string;
  hint: string;
}

/**
 * The error a command reported at the end of its output: shitate prints `error[CODE]: message` and
 * `  hint: ...`. Anything else that ended the process is summarised by its first error line, never as a
 * stack trace.
 */
export function errorInLog(text: string): LoggedError | null {
  const at = text.lastIndexOf('error[');
  if (at >= 0) {
    const m = /^error\[([A-Z0-9_]+)\]: ([\s\S]*)$/.exec(text.slice(at).trimEnd());
    if (m) {
      const [message, hint] = m[2].split(/\n {2}hint: /);
      return { code: m[1], message: message.trim(), hint: (hint ?? '').trim() };
    }
  }
  const line = text.split('\n').find((l) => /^[A-Za-z]*Error\b[:[]/.test(l));
  if (!line) return null;
  return { code: 'E_INTERNAL', message: `the command stopped with an internal error: ${line.slice(0, 300)}`,
    hint: 'this is a bug in shitate: the full output is in the log file; please report it' };
}

/** Warning lines the command printed (`warning: ...`), in order, without repeats. */
export function warningsInLog(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^warning: (.+)$/.exec(l.trim());
    if (m && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short `shitate` command to its end and collects its output (e.g. `estimate --json`). */
export function runCli(cli: CliCommand, args: string[], o: { cwd: string; timeoutMs: number; signal?: AbortSignal }): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli.command, [...cli.args, ...args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs, signal: o.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ABORT_ERR') resolve({ code: null, stdout: '', stderr: '' });
      else reject(e);
    });
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}
