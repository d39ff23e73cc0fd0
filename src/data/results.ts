// The validator's options and result, and the checks that need the whole data set: too few examples,
// chat mixed with plain text, one category or one answer dominating, lengths without a tokenizer.
import type { MessageCode } from './messages.js';
import { EMPTY_ALLOWLIST, type PiiAllowlist } from './pii-allow.js';
import type { HeavyHitters, LengthStats } from './stats.js';
import type { DataRecord, Issue, Severity } from './types.js';
import type { Validator } from './validator.js';

export interface ValidateOptions {
  /** Tokens of one example with the model's tokenizer; lengths are in characters without it. */
  countTokens?: ((r: DataRecord) => number) | null;
  /** The model's context (or training max_seq_len): longer examples are reported. */
  maxTokens?: number | null;
  /** Below this many examples training is refused (error). */
  minExamples?: number;
  /** Below this many examples a warning says the data is thin. */
  fewExamples?: number;
  /** Estimated Jaccard similarity at which two examples count as the same. */
  nearThreshold?: number;
  /** This many distinct questions are kept for the near-duplicate search (~270 bytes each); later
   *  examples are still compared with them, not with each other. */
  nearDupLimit?: number;
  /** A category above this share of the data is reported (when there are two or more). */
  categoryShare?: number;
  /** One answer above this share of the data is reported. */
  templateShare?: number;
  /** Occurrences kept per issue code for the reports (all are counted). */
  issueCap?: number;
  /** The company's own contacts: not reported as personal data, listed in the report instead. */
  piiAllow?: PiiAllowlist;
}

export const DEFAULTS: Required<ValidateOptions> = {
  countTokens: null, maxTokens: null, minExamples: 10, fewExamples: 50, nearThreshold: 0.8,
  nearDupLimit: 500_000, categoryShare: 0.5, templateShare: 0.2, issueCap: 1000, piiAllow: EMPTY_ALLOWLIST,
};

export interface IssueGroup {
  code: MessageCode;
  severity: Severity;
  /** All occurrences; `items` holds at most issueCap of them. */
  count: number;
  items: Issue[];
}

export interface ValidationResult {
  groups: IssueGroup[];
  examples: number;
  errors: number;
  warnings: number;
  lengths: LengthStats;
  categories: { name: string; count: number }[];
  templates: HeavyHitters;
}

/** Bias checks are noise on tiny data; below this many examples they stay quiet. */
const BIAS_MIN_EXAMPLES = 20;

export function percent(part: number, whole: number): string {
  return `${whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10}%`;
}

export function finishChecks(v: Validator): void {
  const n = v.count;
  const o = v.opts;
  if (n === 0) {
    if (![...v.groupsView()].some((g) => g.severity === 'error')) v.report({ code: 'no_examples', loc: null, params: {} });
  } else if (n < o.minExamples) {
    v.report({ code: 'too_few_error', loc: null, params: { count: n, min: o.minExamples } });
  } else if (n < o.fewExamples) {
    v.report({ code: 'too_few', loc: null, params: { count: n, min: o.fewExamples } });
  }
  if (v.chat > 0 && v.text > 0) v.report({ code: 'mixed_kinds', loc: null, params: { chat: v.chat, text: v.text } });
  v.prefs.finish(v);
  if (!o.countTokens && n > 0) v.report({ code: 'no_model', loc: null, params: {} });
  for (const entry of o.piiAllow.entries) {
    v.report({ code: 'pii_allowed', loc: null, params: { value: entry, count: v.allowedCounts.get(entry) ?? 0 } });
  }
  if (n < BIAS_MIN_EXAMPLES) return;
  const cats = v.categoryCounts();
  if (cats.length >= 2 && cats[0].count / n > o.categoryShare) {
    const shares = cats.slice(0, 5).map((c) => `${c.name} ${percent(c.count, n)}`).join(', ');
    v.report({ code: 'category_dominance', loc: null, params: { name: cats[0].name, share: percent(cats[0].count, n), shares } });
  }
  const identical = v.templatesView().top(Math.ceil(n * o.templateShare));
  for (const t of identical) {
    if (t.count / n <= o.templateShare) continue;
    v.report({ code: 'template_dominance', loc: null, params: { share: percent(t.count, n), count: t.count, sample: t.sample } });
  }
  // one wording with many different numbers is not one answer; say what it is instead
  for (const w of v.wordingsView().top(Math.ceil(n * o.templateShare))) {
    if (w.count / n <= o.templateShare) continue;
    const same = identical.filter((t) => t.tag === w.key).reduce((s, t) => s + t.count, 0);
    if (same >= 0.9 * w.count) continue; // mostly one identical answer: template_dominance says so
    v.report({ code: 'template_numbers', loc: null, params: { share: percent(w.count, n), count: w.count, sample: w.sample } });
  }
}
