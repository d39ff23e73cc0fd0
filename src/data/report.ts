// The data report as one plain object (what `--json` prints and report.json holds); the terminal and
// HTML views render from it, with every message taken from the catalogue in the chosen language.
import { messageDetail, messageHint, messageTitle, ui, type Lang, type MessageCode } from './messages.js';
import { percent, type ValidationResult } from './results.js';
import type { Severity, SourceInfo } from './types.js';

export interface ReportOccurrence {
  file: string | null;
  unit: 'row' | 'line' | null;
  n: number | null;
  message: string;
  related?: { file: string; unit: 'row' | 'line'; n: number };
  excerpt?: string;
}

export interface ReportProblem {
  code: MessageCode;
  severity: Severity;
  title: string;
  hint: string;
  count: number;
  occurrences: ReportOccurrence[];
}

export interface SplitSummary {
  seed: number;
  valRatio: number;
  stratifiedBy: 'category' | null;
  train: number;
  val: number;
  removedDuplicates: number;
  removedInvalid: number;
  redacted: number;
}

export interface DataReport {
  version: 1;
  lang: Lang;
  ok: boolean;
  examples: number;
  errors: number;
  warnings: number;
  files: SourceInfo[];
  model: string | null;
  maxTokens: number | null;
  /** the company's own contacts that were not treated as personal data (--pii-allow, pii_allow) */
  piiAllow: string[];
  lengths: {
    unit: 'tokens' | 'characters';
    total: number;
    mean: number;
    median: number;
    p95: number;
    max: number;
    histogram: { label: string; upTo: number | null; count: number }[];
  };
  categories: { name: string; count: number; share: string }[];
  problems: ReportProblem[];
  split?: SplitSummary;
  outputs?: string[];
}

export interface ReportInput {
  result: ValidationResult;
  files: SourceInfo[];
  lang: Lang;
  model?: string | null;
  maxTokens?: number | null;
  piiAllow?: string[];
}

export function buildReport(inp: ReportInput): DataReport {
  const { result, lang } = inp;
  const h = result.lengths.histogram;
  let lo = 0;
  const histogram = h.upTo.map((up, k) => {
    const label = Number.isFinite(up) ? `${lo + 1}–${up}` : `> ${lo}`;
    lo = Number.isFinite(up) ? up : lo;
    return { label, upTo: Number.isFinite(up) ? up : null, count: h.counts[k] };
  });
  const problems: ReportProblem[] = result.groups.map((g) => ({
    code: g.code,
    severity: g.severity,
    title: messageTitle(g.code, lang),
    hint: messageHint(g.code, lang),
    count: g.count,
    occurrences: g.items.map((i) => ({
      file: i.loc?.file ?? null,
      unit: i.loc?.unit ?? null,
      n: i.loc?.n ?? null,
      message: messageDetail(i.code, lang, i.params, i.related, i.loc),
      ...(i.related ? { related: i.related } : {}),
      ...(i.excerpt ? { excerpt: i.excerpt } : {}),
    })),
  }));
  return {
    version: 1,
    lang,
    ok: result.errors === 0,
    examples: result.examples,
    errors: result.errors,
    warnings: result.warnings,
    files: inp.files.map((f) => ({ ...f })),
    model: inp.model ?? null,
    maxTokens: inp.maxTokens ?? null,
    piiAllow: [...(inp.piiAllow ?? [])],
    lengths: { ...result.lengths, histogram },
    categories: result.categories.map((c) => ({ ...c, share: percent(c.count, result.examples) })),
    problems,
  };
}

/** The verdict sentence for a report whose problems are listed `where` (above or below the sentence). */
export function verdictText(r: DataReport, where: 'above' | 'below'): string {
  const v = verdict(r);
  return ui(v, r.lang, { count: v === 'verdictWarn' ? r.warnings : r.errors, where: ui(where, r.lang) });
}

/** The verdict line key: errors block (unless prepare wrote the files without those examples); warnings do not. */
export function verdict(r: DataReport): 'verdictError' | 'verdictSkipped' | 'verdictWarn' | 'verdictOk' {
  const written = r.split !== undefined && r.split.train + r.split.val > 0;
  if (r.errors > 0) return written ? 'verdictSkipped' : 'verdictError';
  return r.warnings > 0 ? 'verdictWarn' : 'verdictOk';
}
