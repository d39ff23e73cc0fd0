// metrics.jsonl: one JSON event per line, appended as training goes. A crash can cut the last line
// short; reading skips what does not parse, and resume rewrites the file to the complete lines up to the
// checkpoint's step before appending again, so no step appears twice and no torn line stays behind.
import fs from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import type { Point } from './plot.js';

interface Row {
  type?: unknown;
  step?: unknown;
  loss?: unknown;
  valLoss?: unknown;
}

export interface MetricLines {
  /** the complete, parseable lines (without their newline) with their parsed rows */
  lines: { text: string; row: Row }[];
  /** the file ended in the middle of a line (a crash while appending) */
  torn: boolean;
  /** complete lines that were not a JSON object */
  bad: number;
}

export function readMetricLines(file: string): MetricLines {
  const out: MetricLines = { lines: [], torn: false, bad: 0 };
  if (!fs.existsSync(file)) return out;
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n');
  out.torn = end !== text.length - 1 && text.length > 0;
  for (const line of text.slice(0, end + 1).split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (row !== null && typeof row === 'object' && !Array.isArray(row)) out.lines.push({ text: line, row: row as Row });
      else out.bad++;
    } catch {
      out.bad++;
    }
  }
  return out;
}

export function appendMetric(file: string, event: object): void {
  fs.appendFileSync(file, JSON.stringify({ ...event, time: new Date().toISOString() }) + '\n');
}

/** Keeps the complete lines up to `step` (a resumed run replays what came after its checkpoint); says
 *  what was dropped that should not have been there. */
export function trimMetrics(file: string, step: number): { torn: boolean; bad: number } {
  if (!fs.existsSync(file)) return { torn: false, bad: 0 };
  const m = readMetricLines(file);
  const keep = m.lines.filter((l) => typeof l.row.step !== 'number' || l.row.step <= step);
  writeFileAtomic(file, keep.map((l) => l.text + '\n').join(''));
  return { torn: m.torn, bad: m.bad };
}

/** The training and validation loss curves for loss.svg. */
export function lossCurves(file: string): { train: Point[]; val: Point[] } {
  const train: Point[] = [];
  const val: Point[] = [];
  for (const { row } of readMetricLines(file).lines) {
    if (typeof row.step !== 'number') continue;
    if (row.type === 'step' && typeof row.loss === 'number') train.push({ step: row.step, value: row.loss });
    if (row.type === 'eval' && typeof row.valLoss === 'number') val.push({ step: row.step, value: row.valLoss });
  }
  return { train, val };
}
