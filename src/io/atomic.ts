// Atomic file writes: write a temp file in the same folder, fsync it, then rename over the target, so a
// crash or a full disk never leaves a half-written config, adapter or checkpoint behind.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';

/** The temp name used while `target` is being written (same folder, so the rename stays on one disk). */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}`;
}

/** Writes every byte of `data` at the file's current position (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.byteLength) {
    done += fs.writeSync(fd, data, done, data.byteLength - done);
  }
}

/**
 * Opens a temp file next to `target`, lets `write` fill it through the descriptor, fsyncs and renames it
 * into place. On any failure the temp file is removed and the error rethrown (wrapped when it is an OS
 * error), and `target` keeps its previous content.
 */
export function withAtomicFile(target: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(target);
  let fd: number | null = null;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    removeStaleTemps(target);
    fd = fs.openSync(tmp, 'w');
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw wrapWriteError(err, target);
  }
  syncDir(path.dirname(target));
}

/** writeFileAtomic(path, data): the whole of `data` (text is written as UTF-8) replaces `target` atomically. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  withAtomicFile(target, (fd) => writeAll(fd, bytes));
}

/** Whether a process with this id exists on this machine (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes TARGET.tmp-PID files a crashed writer of `target` left (its process is gone); a live writer's
 *  temp file is left alone. */
export function removeStaleTemps(target: string): void {
  const dir = path.dirname(target);
  const base = `${path.basename(target)}.tmp-`;
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(base)) continue;
    const pid = Number(e.slice(base.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  }
}

/**
 * Removes what interrupted writes left in `dir`: entries named NAME.tmp-PID (this module's temp files, and
 * folders written the same way). Call it only where no other process may be writing (e.g. under a lock);
 * returns the names removed.
 */
export function removeTempLeftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const gone: string[] = [];
  for (const e of fs.readdirSync(dir)) {
    if (!/\.tmp-\d+$/.test(e)) continue;
    fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    gone.push(e);
  }
  return gone;
}

// Persist the rename itself. Directories cannot be opened for fsync on every platform (Windows), and a
// failure here does not lose data already renamed, so it is best effort.
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported on this platform: the rename is still atomic, only its durability is weaker
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

function wrapWriteError(err: unknown, target: string): unknown {
  if (err instanceof ShitateError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return err;
  const hint =
    code === 'ENOSPC'
      ? 'the disk is full; free some space or write to another folder'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'the folder is not writable by this user; choose another output folder or fix its permissions'
        : 'check that the folder exists and is writable';
  return new ShitateError('E_WRITE', `could not write ${target}: expected a writable file, found ${code} (${(err as Error).message})`, hint);
}
