// What the data check knows about preference records across the data set: exact duplicates (left out by
// --dedup), contradictions (a pair reversed, an answer judged both 👍 and 👎), every record of one prompt kept
// on one side of the split (and a prompt in both the training and the validation file reported as leakage),
// and the counts behind the data-set checks (kinds mixed, one kind of judgment, unbalanced judgments).
import { checkRecord } from './checks.js';
import type { PiiAllowlist } from './pii-allow.js';
import { foldExactNfkc, hash53 } from './normalize.js';
import { preferenceIssues } from './preference-record.js';
import { severityOf } from './messages.js';
import { excerpt, questionOf, type DataRecord, type Issue, type Turn } from './types.js';
import type { Validator } from './validator.js';

function keyText(ts: readonly Turn[]): string {
  return ts.map((m) => `${m.role}\u0001${foldExactNfkc(m.content.normalize('NFKC'))}`).join('\u0002');
}

export class PreferenceIndex {
  pairs = 0;
  labels = 0;
  desirable = 0;
  /** record key -> the first record with it */
  private readonly exact = new Map<number, number>();
  /** prompt key -> the first record of that prompt */
  private readonly prompts = new Map<number, number>();

  /** Issues of one record of its own (none for SFT records), and whether they block training. */
  check(r: DataRecord, allow: PiiAllowlist): { issues: Issue[]; blocking: boolean } {
    const p = r.preference;
    if (!p) return { issues: [], blocking: false };
    if (p.kind === 'pair') this.pairs++;
    else {
      this.labels++;
      if (p.label) this.desirable++;
    }
    const ex = excerpt(questionOf(r));
    const issues: Issue[] = preferenceIssues(r).map((x) => ({ code: x.code, loc: r.loc, params: x.params, excerpt: ex }));
    if (p.rejected) {
      // personal data, garbled or lost characters in the rejected answer too
      const text = checkRecord({ ...r, kind: 'text', messages: [], text: p.rejected.map((m) => m.content).join('\n'), preference: undefined }, allow);
      issues.push(...text.issues.filter((i) => i.code !== 'missing_field'));
    }
    return { issues, blocking: issues.some((i) => severityOf(i.code) === 'error') };
  }

  /** Duplicates, contradictions and the prompt group of record i (a preference record without errors). */
  relate(v: Validator, i: number, r: DataRecord): void {
    const p = r.preference!;
    const prompt = keyText(r.messages.slice(0, p.promptTurns));
    const answer = keyText(r.messages.slice(p.promptTurns));
    const [self, flipped] = p.kind === 'pair'
      ? [`P${prompt}\u0003${answer}\u0003${keyText(p.rejected ?? [])}`, `P${prompt}\u0003${keyText(p.rejected ?? [])}\u0003${answer}`]
      : [`L${prompt}\u0003${answer}\u0003${p.label}`, `L${prompt}\u0003${answer}\u0003${!p.label}`];
    const ex = excerpt(questionOf(r));
    const crossSplit = (j: number) => v.splitOf.get(i) !== v.splitOf.get(j);
    const leak = (j: number) => {
      const valIsI = v.splitOf.get(i) === 1;
      v.report({ code: 'leakage', loc: valIsI ? r.loc : v.locOf(j), related: valIsI ? v.locOf(j) : r.loc, params: { similarity: '1.00' }, excerpt: ex });
    };
    const dup = this.exact.get(hash53(self));
    const flip = this.exact.get(hash53(flipped));
    if (dup !== undefined) {
      if (crossSplit(dup)) leak(dup);
      else {
        v.dupOf.set(i, dup);
        v.report({ code: 'duplicate', loc: r.loc, related: v.locOf(dup), params: {}, excerpt: ex });
      }
    } else {
      this.exact.set(hash53(self), i);
      if (flip !== undefined) {
        const what = p.kind === 'pair' ? { what_en: 'preference (chosen and rejected swapped)', what_ja: '好み（chosen と rejected）' } : { what_en: 'judgment (👍 / 👎)', what_ja: '評価（👍 / 👎）' };
        v.report({ code: 'pref_contradiction', loc: r.loc, related: v.locOf(flip), params: what, excerpt: ex });
      }
    }
    const pk = hash53(prompt);
    const first = this.prompts.get(pk);
    if (first === undefined) this.prompts.set(pk, i);
    else {
      if (dup === undefined && crossSplit(first)) leak(first);
      v.group.set(v.find(i), v.find(first)); // one prompt, one side of the split
    }
  }

  /** The data-set checks: kinds mixed, one kind of judgment, judgments out of balance for KTO's weights. */
  finish(v: Validator): void {
    if (this.pairs + this.labels === 0) return;
    const plain = v.chat - this.pairs - this.labels;
    if ([this.pairs, this.labels, plain + v.text].filter((n) => n > 0).length > 1) {
      v.report({ code: 'pref_mixed', loc: null, params: { pairs: this.pairs, labels: this.labels, plain: plain + v.text } });
    }
    if (this.labels === 0) return;
    const nd = this.desirable;
    const nu = this.labels - nd;
    if (nd === 0 || nu === 0) {
      v.report({ code: 'pref_one_label', loc: null, params: { count: this.labels, kind_en: nd ? 'desirable (👍)' : 'undesirable (👎)', kind_ja: nd ? '良い評価（👍）' : '悪い評価（👎）' } });
      return;
    }
    // TRL's recommended ranges (KTO paper, eq. 8) for the default weights of 1
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const [dlo, dhi, ulo, uhi] = [r2(nu / nd), r2((nu / nd) * 1.33), r2(nd / nu / 1.33), r2(nd / nu)];
    if ((dlo <= 1 && 1 <= dhi) || (ulo <= 1 && 1 <= uhi)) return;
    v.report({ code: 'pref_label_imbalance', loc: null, params: { desirable: nd, undesirable: nu, share: `${Math.round((1000 * nd) / this.labels) / 10}%`, dlo, dhi, ulo, uhi } });
  }
}
