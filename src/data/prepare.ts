// `data prepare` without the command line: after a check, reads the inputs a second time and writes
// train.jsonl / val.jsonl (OpenAI chat, or {"text"} for plain text) plus report.json and report.html,
// each written atomically; duplicates and broken examples can be left out and personal data replaced (the
// company's own contacts on the check's allowlist stay).
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { withAtomicFile, writeAll, writeFileAtomic } from '../io/atomic.js';
import type { CheckOutcome } from './check.js';
import { renderHtml } from './html.js';
import type { MessageCode } from './messages.js';
import { redactPii } from './pii.js';
import { cleanControls } from './sanitize.js';
import { allowedBy, type PiiAllowlist } from './pii-allow.js';
import type { DataReport, SplitSummary } from './report.js';
import { buildReport } from './report.js';
import { planSplit } from './split.js';
import type { DataRecord } from './types.js';
import { preferenceJson } from './preference-record.js';

export interface PrepareOptions {
  outDir: string;
  valRatio: number;
  seed: number;
  dedup: boolean;
  redactPii: boolean;
  /** Leave examples with errors out instead of refusing to write. */
  skipInvalid: boolean;
}

export interface PrepareOutcome {
  report: DataReport;
  /** False when errors stopped the data files from being written (the reports are still written). */
  written: boolean;
}

/** Errors no skipping can fix: there is nothing (or too little, or two kinds) to train on. */
const DATASET_ERRORS: MessageCode[] = ['no_examples', 'too_few_error', 'mixed_kinds'];

/** Refuses output paths that are inputs: the input files are never overwritten. */
function guardInputs(outputs: string[], inputs: string[]): void {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const ins = new Set(inputs.map(real));
  for (const o of outputs) {
    if (ins.has(real(o))) {
      throw new ShitateError('E_USAGE', `prepare would write ${o}, which is one of the input files`, 'choose another --out folder; input files are never modified');
    }
  }
}

function jsonLine(r: DataRecord, redact: boolean, counter: { redacted: number }, allow: PiiAllowlist): string {
  const fix = (raw: string): string => {
    const s = cleanControls(raw); // reported by check as control_chars; never written
    if (!redact) return s;
    const x = redactPii(s, (h) => allowedBy(h, allow) !== null);
    counter.redacted += x.count;
    return x.text;
  };
  if (r.kind === 'text') return `${JSON.stringify({ text: fix(r.text) })}\n`;
  const turn = (m: DataRecord['messages'][number]) => ({
    role: m.role, content: fix(m.content), ...(m.reasoning_content !== undefined ? { reasoning_content: fix(m.reasoning_content) } : {}),
  });
  if (r.preference) return `${JSON.stringify(preferenceJson(r, turn))}\n`; // TRL's preference / KTO format
  return `${JSON.stringify({ messages: r.messages.map(turn) })}\n`;
}

/** Buffered line writer on a descriptor (one write per ~1 MiB). */
function lineWriter(fd: number): { add(s: string): void; flush(): void } {
  let buf: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (buf.length) writeAll(fd, Buffer.from(buf.join(''), 'utf8'));
    buf = [];
    size = 0;
  };
  return { add: (s) => { buf.push(s); size += s.length; if (size > 1 << 20) flush(); }, flush };
}

interface Tally {
  kept: number;
  removedDuplicates: number;
  removedInvalid: number;
}

function tally(v: CheckOutcome['validator'], keep: (i: number) => boolean, o: PrepareOptions): Tally {
  const t: Tally = { kept: 0, removedDuplicates: 0, removedInvalid: 0 };
  for (let i = 0; i < v.count; i++) {
    if (keep(i)) t.kept++;
    else if (o.skipInvalid && v.blocking.get(i)) t.removedInvalid++;
    else t.removedDuplicates++;
  }
  return t;
}

/** Second pass over the inputs (same order, same indices as the check): kept examples to train or val. */
function writeData(c: CheckOutcome, files: { train: string; val: string }, keep: (i: number) => boolean, isVal: Uint8Array | null,
  redact: boolean, counter: { redacted: number }): void {
  const write = (fdTrain: number, fdVal: number | null): void => {
    const t = lineWriter(fdTrain);
    const w = fdVal === null ? null : lineWriter(fdVal);
    let i = 0;
    for (const s of c.sources) {
      for (const item of s.items()) {
        if (item.kind !== 'record') continue;
        const idx = i++;
        if (!keep(idx)) continue;
        const line = jsonLine(item.record, redact, counter, c.validator.opts.piiAllow);
        if (w && isVal?.[idx]) w.add(line);
        else t.add(line);
      }
    }
    t.flush();
    w?.flush();
  };
  withAtomicFile(files.train, (fdTrain) => {
    if (isVal) withAtomicFile(files.val, (fdVal) => write(fdTrain, fdVal));
    else write(fdTrain, null);
  });
}

/** The check's problems plus what prepare did (notes), as a report. */
function notesReport(c: CheckOutcome, notes: { code: MessageCode; count: number }[]): DataReport {
  const noteGroups = notes.filter((n) => n.count > 0)
    .map((n) => ({ code: n.code, severity: 'info' as const, count: 1, items: [{ code: n.code, loc: null, params: { count: n.count } }] }));
  const result = { ...c.result, groups: [...c.result.groups, ...noteGroups] };
  return buildReport({ result, files: c.sources.map((s) => s.info), lang: c.report.lang, model: c.report.model, maxTokens: c.report.maxTokens, piiAllow: c.report.piiAllow });
}

export function prepare(c: CheckOutcome, o: PrepareOptions): PrepareOutcome {
  const v = c.validator;
  const files = { train: path.join(o.outDir, 'train.jsonl'), val: path.join(o.outDir, 'val.jsonl'), json: path.join(o.outDir, 'report.json'), html: path.join(o.outDir, 'report.html') };
  guardInputs(Object.values(files), c.sources.map((s) => s.info.file));
  const keep = (i: number): boolean => !(o.skipInvalid && v.blocking.get(i)) && !(o.dedup && v.dupOf.get(i) >= 0);
  const t = tally(v, keep, o);
  const blocked = c.result.groups.some((g) => g.severity === 'error' && (!o.skipInvalid || DATASET_ERRORS.includes(g.code)))
    || t.kept < v.opts.minExamples;
  const plan = planSplit(v, keep, o.valRatio, o.seed);
  const counter = { redacted: 0 };
  const outputs: string[] = [];
  if (!blocked) {
    writeData(c, files, keep, plan.val > 0 ? plan.isVal : null, o.redactPii, counter);
    outputs.push(files.train, ...(plan.val > 0 ? [files.val] : []));
  }
  const removedDuplicates = o.dedup ? t.removedDuplicates : 0;
  const report = notesReport(c, blocked ? [] : [
    { code: 'removed_duplicates', count: removedDuplicates },
    { code: 'removed_invalid', count: t.removedInvalid },
    { code: 'redacted', count: counter.redacted },
  ]);
  const split: SplitSummary = { seed: o.seed, valRatio: o.valRatio, stratifiedBy: plan.stratified ? 'category' : null,
    train: blocked ? 0 : plan.train, val: blocked ? 0 : plan.val, removedDuplicates, removedInvalid: t.removedInvalid, redacted: counter.redacted };
  report.split = split;
  report.outputs = [...outputs, files.json, files.html];
  writeFileAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(files.html, renderHtml(report));
  return { report, written: !blocked };
}
