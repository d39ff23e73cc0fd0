// Writes the report files into the output folder: eval.json (everything) and eval.html (for people).
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { reportHtml } from './html.js';
import type { EvalReport } from './types.js';

export function reportPaths(outDir: string): { json: string; html: string } {
  return { json: path.join(outDir, 'eval.json'), html: path.join(outDir, 'eval.html') };
}

/** Writes eval.json, and eval.html unless `jsonOnly` (the frequent partial saves during a run). */
export function writeReport(outDir: string, r: EvalReport, jsonOnly = false): { json: string; html: string } {
  const p = reportPaths(outDir);
  writeFileAtomic(p.json, JSON.stringify(r, null, 2) + '\n');
  if (!jsonOnly) writeFileAtomic(p.html, reportHtml(r));
  return p;
}
