// The demo's closing numbers on its held-out questions: how often retrieval found the right FAQ entry, and
// how close each system's answers came to the reference (character F1) — base, tuned, and both again with
// the retrieved entries in the prompt, and those two quoting the entries — so it is plain which part carries
// the answer.
import type { Lang } from '../data/messages.js';
import type { Evaluated } from './eval-step.js';
import { say } from './text.js';

export interface DemoSummary {
  questions: number;
  /** share of the answerable held-out questions whose entry ranked in retrieval's top 5 (null: no retrieval) */
  recallAt5: number | null;
  /** share whose entry made it into the prompt (the model's context decides how many entries fit) */
  inPrompt: number | null;
  /** character F1 against the reference answers, 0..1 */
  charF1: { base: number | null; tuned: number | null; baseKb: number | null; tunedKb: number | null };
  /** the grounded two again, quoting the retrieved entries (null when quoting was off) */
  quoted: { strength: number; baseKb: number | null; tunedKb: number | null } | null;
}

export function demoSummary(e: Evaluated): DemoSummary {
  const r = e.report.retrieval;
  const at5 = r ? (r.recallAt['5'] ?? r.recallAt[String(r.k)] ?? null) : null;
  return {
    questions: e.tunedKb.questions, recallAt5: at5, inPrompt: r ? r.inPrompt : null,
    charF1: { base: e.base.charF1, tuned: e.tuned.charF1, baseKb: e.baseKb.charF1, tunedKb: e.tunedKb.charF1 },
    quoted: e.baseKbQuote && e.tunedKbQuote
      ? { strength: e.report.settings.quote ?? 0, baseKb: e.baseKbQuote.charF1, tunedKb: e.tunedKbQuote.charF1 } : null,
  };
}

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);

export function summaryText(s: DemoSummary, lang: Lang): string {
  const f = s.charF1;
  return say('summary', lang, {
    n: s.questions, recall: pct(s.recallAt5), inPrompt: pct(s.inPrompt),
    base: pct(f.base), tuned: pct(f.tuned), baseKb: pct(f.baseKb), tunedKb: pct(f.tunedKb),
    quoted: s.quoted ? say('quoted', lang, { quote: s.quoted.strength, baseKb: pct(s.quoted.baseKb), tunedKb: pct(s.quoted.tunedKb) }) : '',
  });
}
