// Decode race against llama.cpp (node-llama-cpp's prebuilt CPU build) on GGUF files exported from the same random
// checkpoint: each decoder runs in its own child process (bench/lib/export-worker.ts), one after another, in rounds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureRandomCheckpoint } from './checkpoint.js';
import { CACHE_DIR, REPO_ROOT, getNum, nodeWorker, threadEnv, type Json } from './harness.js';

/** The random checkpoint with shitate-mini's byte-level tokenizer beside it (a GGUF file needs a tokenizer; the
 *  vocabulary is padded to the model's 49152 ids). */
export function exportableCheckpoint(layers: number | undefined): string {
  const src = ensureRandomCheckpoint(layers);
  const dir = `${src}-gguf`;
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) {
    const link = path.join(dir, f);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.join(src, f), link);
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(REPO_ROOT, 'models', 'shitate-mini', f), path.join(dir, f));
  return dir;
}

/** One job of export-worker.ts in its own process, with the bench's thread environment. */
export function exportWorker(args: string[], threads: number): Json {
  const r = spawnSync(process.execPath, [...nodeWorker('export-worker.ts'), ...args], { env: threadEnv(threads), encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`export worker ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as Json;
}

export interface RaceEntry {
  label: string;
  /** export-worker arguments; the prompt, token count (and threads for llama.cpp) are appended by `args` */
  args: (prompt: string, n: string) => string[];
}

/** The GGUF file of `quant` for checkpoint dir, exported once into bench/.cache/export/. */
export function ggufOf(dir: string, quant: string, threads: number): string {
  const file = path.join(CACHE_DIR, 'export', `${path.basename(dir)}-${quant}.gguf`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    exportWorker(['export', dir, quant, file], threads);
  }
  return file;
}

/** Best decode tokens/s of each entry over `rounds` rounds (entries take turns within a round). */
export function race(entries: RaceEntry[], prompt: string, n: number, rounds: number, threads: number): Map<string, number> {
  const best = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const e of entries) {
      const tps = getNum(exportWorker(e.args(prompt, String(n)), threads), 'decodeTokPerSec');
      best.set(e.label, Math.max(best.get(e.label) ?? 0, tps));
    }
  }
  return best;
}
