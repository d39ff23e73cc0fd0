// Where the demo's bundled pieces live: the shitate-mini model and the sample FAQ, found from this file's
// location (two folders below the package root, in src/ and in dist/ alike), not from the working folder.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function bundledModelDir(): string {
  return path.join(packageRoot(), 'models', 'shitate-mini');
}

export interface SampleData {
  /** the FAQ sheet (Shift_JIS CSV: 質問,回答,分類) */
  data: string;
  /** held-out paraphrased questions with reference answers (chat JSONL) */
  heldout: string;
  /** a small sheet with deliberate mistakes, checked to show what the validator finds */
  problems: string;
  /** questions the demo asks both models at the end, one per line */
  questions: string;
}

export function sampleData(): SampleData {
  const dir = path.join(packageRoot(), 'examples', 'faq');
  return {
    data: path.join(dir, 'faq.csv'), heldout: path.join(dir, 'heldout.jsonl'),
    problems: path.join(dir, 'problems.csv'), questions: path.join(dir, 'questions.txt'),
  };
}

/** Non-empty lines of a text file (a missing file gives none). */
export function readLines(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** A path shown to the user: relative to the working folder when it lies inside it. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
