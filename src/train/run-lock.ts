// One trainer per run folder: RUN_DIR/train.lock names the process that holds it (pid, host, start time).
// A second trainer is refused with who holds the folder; a lock left by a process that no longer exists
// (killed, machine restarted, a container whose pid was reused) is detected as stale and taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { pidAlive } from '../io/atomic.js';

export const LOCK_FILE = 'train.lock';

interface Holder {
  pid: number;
  host: string;
  startedAt: string;
  /** the process's start time in clock ticks since boot (Linux), to tell a reused pid from the holder */
  procStart: string | null;
}

export interface RunLock {
  readonly file: string;
  release(): void;
}

/** Field 22 of /proc/PID/stat (start time), or null where there is no /proc. */
function procStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // the name in (...) may hold spaces
  } catch {
    return null;
  }
}

function readHolder(file: string): Holder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.startedAt !== 'string') return null;
    return { pid: h.pid, host: h.host, startedAt: h.startedAt, procStart: typeof h.procStart === 'string' ? h.procStart : null };
  } catch {
    return null;
  }
}

/** Why the holder is gone, or null while it may still be training. Other hosts cannot be checked. */
function staleReason(h: Holder): string | null {
  if (h.host !== os.hostname()) return null;
  if (h.pid === process.pid) return `process ${h.pid} is this one (the pid was reused)`;
  if (!pidAlive(h.pid)) return `process ${h.pid} no longer exists`;
  const now = procStart(h.pid);
  if (h.procStart !== null && now !== null && now !== h.procStart) return `process ${h.pid} is another program now (the pid was reused)`;
  return null;
}

function heldError(runDir: string, file: string, h: Holder): ShitateError {
  const here = h.host === os.hostname();
  return new ShitateError('E_RUN_LOCKED',
    `run folder ${runDir} is in use: expected no other trainer, found process ${h.pid} on ${here ? 'this machine' : `host ${h.host}`} training there since ${h.startedAt}`,
    here ? `wait for it to finish or stop it (kill -INT ${h.pid} writes a checkpoint); then resume with \`shitate train --resume ${runDir}\``
      : `if no trainer runs on ${h.host} any more, delete ${file} and try again`);
}

/** Creates `file` with `content` unless it exists (false then). A hard link makes it appear complete in
 *  one step; file systems without links get an exclusive create. */
function create(tmp: string, file: string, content: string): boolean {
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
  }
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Lock files this process holds: its own pid in a lock file is no proof of staleness while listed here. */
const heldHere = new Set<string>();

/** Takes the run folder's lock; `note` hears when a stale lock was taken over. */
export function lockRunDir(runDir: string, note: (message: string) => void = () => {}): RunLock {
  fs.mkdirSync(runDir, { recursive: true });
  const file = path.resolve(runDir, LOCK_FILE);
  if (heldHere.has(file)) {
    throw new ShitateError('E_RUN_LOCKED', `run folder ${runDir} is in use: expected no other trainer, found one running in this process`,
      'wait for that training to finish, or train into another --out folder');
  }
  const me: Holder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), procStart: procStart(process.pid) };
  const tmp = `${file}.tmp-${process.pid}`;
  const content = JSON.stringify(me) + '\n';
  fs.writeFileSync(tmp, content);
  try {
    for (let attempt = 0; !create(tmp, file, content); attempt++) {
      const h = readHolder(file);
      const why = h ? staleReason(h) : 'the lock file is unreadable';
      if (why === null) throw heldError(runDir, file, h!);
      if (attempt > 0) throw new ShitateError('E_RUN_LOCKED', `run folder ${runDir}: another trainer took the lock at the same moment`, 'run one trainer per run folder');
      note(`took over a stale lock on ${runDir}: ${why}`);
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let held = true;
  heldHere.add(file);
  const release = (): void => {
    if (!held) return;
    held = false;
    heldHere.delete(file);
    process.off('exit', release);
    const h = readHolder(file);
    if (h && h.pid === me.pid && h.host === me.host && h.startedAt === me.startedAt) fs.rmSync(file, { force: true });
  };
  process.on('exit', release); // also on process.exit() (a second Ctrl-C)
  return { file, release };
}
