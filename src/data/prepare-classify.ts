// `data prepare --task classify`: after the usual check, the texts and their labels as {"text", "label"} JSONL
// (train.jsonl / val.jsonl, split per label with the fixed seed), for `train --task classify`. A sheet's question
// (or text) column is the text and its category column the label, so an FAQ sheet with a category column works as
// it is; rows without a label are left out and counted. Duplicates, broken rows and personal data are handled as
// by the chat prepare; the inputs are never written.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { CheckOutcome } from './check.js';
import { renderHtml } from './html.js';
import { redactPii } from './pii.js';
import { allowedBy } from './pii-allow.js';
import type { DataReport } from './report.js';
import { cleanControls } from './sanitize.js';
import { planSplit } from './split.js';
import type { PrepareOptions } from './prepare.js';
import type { DataRecord } from './types.js';

export interface LabelSplit {
  label: string;
  train: number;
  val: number;
}

export interface ClassifyPrepareOutcome {
  report: DataReport & { classify: { labels: LabelSplit[]; unlabeled: number } };
  written: boolean;
}

/** The text a record is classified by: its text, or the first user turn of a conversation (the question). */
export function textOf(r: DataRecord): string {
  return r.kind === 'text' ? r.text : r.messages.find((m) => m.role === 'user')?.content ?? '';
}

function records(c: CheckOutcome): DataRecord[] {
  const out: DataRecord[] = [];
  for (const s of c.sources) for (const item of s.items()) if (item.kind === 'record') out.push(item.record);
  return out;
}

export function prepareClassify(c: CheckOutcome, o: PrepareOptions): ClassifyPrepareOutcome {
  const v = c.validator;
  const files = { train: path.join(o.outDir, 'train.jsonl'), val: path.join(o.outDir, 'val.jsonl'), json: path.join(o.outDir, 'report.json'), html: path.join(o.outDir, 'report.html') };
  const inputs = new Set(c.sources.map((s) => fs.existsSync(s.info.file) ? fs.realpathSync(s.info.file) : path.resolve(s.info.file)));
  for (const f of Object.values(files)) {
    if (inputs.has(path.resolve(f))) throw new ShitateError('E_USAGE', `prepare would write ${f}, which is one of the input files`, 'choose another --out folder; input files are never modified');
  }
  const recs = records(c);
  const labeled = (i: number) => (recs[i]?.category ?? null) !== null && textOf(recs[i]).trim() !== '';
  const keep = (i: number): boolean => labeled(i) && !(o.skipInvalid && v.blocking.get(i)) && !(o.dedup && v.dupOf.get(i) >= 0);
  const unlabeled = recs.filter((_, i) => !labeled(i)).length;
  const kept = recs.map((_, i) => i).filter(keep);
  const labelNames = [...new Set(kept.map((i) => recs[i].category!))];
  const blocked = c.result.groups.some((g) => g.severity === 'error' && !o.skipInvalid) || labelNames.length < 2;
  const plan = planSplit(v, keep, o.valRatio, o.seed);
  const allow = v.opts.piiAllow;
  const fix = (s: string): string => (o.redactPii ? redactPii(cleanControls(s), (h) => allowedBy(h, allow) !== null).text : cleanControls(s));
  const counts = new Map(labelNames.map((l) => [l, { label: l, train: 0, val: 0 }]));
  const lines = { train: [] as string[], val: [] as string[] };
  for (const i of kept) {
    const part = plan.val > 0 && plan.isVal[i] ? 'val' : 'train';
    lines[part].push(`${JSON.stringify({ text: fix(textOf(recs[i])), label: recs[i].category })}\n`);
    counts.get(recs[i].category!)![part]++;
  }
  const outputs: string[] = [];
  if (!blocked) {
    writeFileAtomic(files.train, lines.train.join(''));
    outputs.push(files.train);
    if (lines.val.length > 0) {
      writeFileAtomic(files.val, lines.val.join(''));
      outputs.push(files.val);
    }
  }
  const report = {
    ...c.report, outputs: [...outputs, files.json, files.html],
    split: { seed: o.seed, valRatio: o.valRatio, stratifiedBy: 'category' as const, train: blocked ? 0 : lines.train.length, val: blocked ? 0 : lines.val.length,
      removedDuplicates: 0, removedInvalid: 0, redacted: 0 },
    classify: { labels: [...counts.values()], unlabeled },
  };
  writeFileAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(files.html, renderHtml(report));
  return { report, written: !blocked };
}

/** Lines for the terminal: the labels with their train / val counts and what was left out. */
export function classifySummary(r: ClassifyPrepareOutcome, lang: 'ja' | 'en'): string {
  const { labels, unlabeled } = r.report.classify;
  const head = lang === 'ja' ? `分類の学習データ: ${labels.length} ラベル` : `classification data: ${labels.length} labels`;
  const rows = labels.map((l) => `  ${l.label}: ${l.train} train, ${l.val} val`);
  const skipped = unlabeled > 0 ? [lang === 'ja' ? `ラベルのない ${unlabeled} 件を除きました` : `${unlabeled} texts without a label left out`] : [];
  const why = labels.length < 2 ? [lang === 'ja' ? '2 つ以上のラベルが必要です（--category-col でラベルの列を指定）' : 'expected at least 2 labels (name the label column with --category-col)'] : [];
  return [head, ...rows, ...skipped, ...why].join('\n') + '\n';
}
