// Puts a built bundle on disk all at once: every file goes into a fresh sibling folder, which is renamed to the
// target only when complete, so an interrupted export never leaves half a job where a complete one is expected.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../../errors.js';

/** Writes `files` (relative path -> contents) as the folder `outDir`, which must not exist or be empty. */
export function writeBundle(outDir: string, files: Record<string, string | Uint8Array>, modes: Record<string, number> = {}): void {
  const target = path.resolve(outDir);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new ShitateError('E_EXISTS', `${outDir}: expected a new or empty folder for the job, found one with files in it`,
      'pick another --out, or remove the old folder first (nothing is overwritten)');
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    for (const [rel, text] of Object.entries(files)) {
      if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw new Error(`bundle path escapes the folder: ${rel}`);
      const file = path.join(tmp, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text, { mode: modes[rel] ?? 0o644 });
    }
    if (fs.existsSync(target)) fs.rmdirSync(target);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
