// The validator: folds examples and import problems into one result (issues grouped by code, stats,
// and per-example verdicts for `prepare`). No I/O; per-example state is a few typed-array slots, so a
// file of millions of examples is checked in bounded memory.
import { checkRecord } from './checks.js';
import { Column, float64s, IdIndex, int32s, uint8s, uint16s } from './compact.js';
import { MESSAGE_CODES, severityOf, type MessageCode } from './messages.js';
import { K, NearDupIndex, signature } from './minhash.js';
import { foldExactNfkc, foldMatchNfkc, hash32, hash53 } from './normalize.js';
import { canonicalNumbers, maskNumbers, numbersKey } from './numbers.js';
import { HeavyHitters, LengthCounter } from './stats.js';
import { answerOf, excerpt, questionOf, type DataRecord, type ImportItem, type Issue, type Loc, type Severity } from './types.js';
import { finishChecks, type ValidateOptions, type ValidationResult, type IssueGroup, DEFAULTS } from './results.js';
import { PreferenceIndex } from './preference-index.js';

export type { ValidateOptions, ValidationResult, IssueGroup } from './results.js';

export class Validator {
  readonly opts: Required<ValidateOptions>;
  private readonly groups = new Map<MessageCode, IssueGroup>();
  private readonly files: { file: string; unit: Loc['unit'] }[] = [];
  private readonly fileIds = new Map<string, number>();
  // per example, by index
  readonly fileOf = new Column(uint16s);
  readonly lineOf = new Column(int32s);
  private readonly lengths = new LengthCounter();
  readonly blocking = new Column(uint8s);
  /** The earlier example this one duplicates (exactly or nearly), or -1. */
  readonly dupOf = new Column(int32s);
  /** Examples that must land in the same split (duplicates, conflicts): a union-find parent. */
  readonly group = new Column(int32s);
  readonly categoryOf = new Column(int32s);
  readonly splitOf = new Column(uint8s);
  /** A content hash per example: orders the split, so one example's side does not depend on the others. */
  readonly keyOf = new Column(float64s);
  /** Hash of the folded question, for the same-question lookup. */
  private readonly questionKey = new Column(float64s);
  /** Hash of the answer side, to tell a conflict from a duplicate when no signature was kept. */
  private readonly answerKey = new Column(float64s);
  /** Hash of the answer's numbers (canonical: 1,000 = 1000, 1万 = 10000): a different number is a different answer. */
  private readonly answerNumbers = new Column(float64s);
  /** Hash of the answer's wording, numbers masked (folded for matching). */
  private readonly answerWording = new Column(float64s);
  /** The answer's numbers as text, for the message, kept for the examples the near-duplicate search holds. */
  private readonly numbersText = new Map<number, string>();
  /** Example index -> its id in the near-duplicate index (-1: not stored), and back. */
  private readonly nearId = new Column(int32s);
  private readonly recordOfNear = new Column(int32s);
  readonly categories: string[] = [];
  private readonly categoryIds = new Map<string, number>();
  private readonly exact = new IdIndex((i) => this.keyOf.get(i));
  private readonly questions = new IdIndex((i) => this.questionKey.get(i));
  private readonly near = new NearDupIndex();
  private readonly templates = new HeavyHitters(64);
  /** answers by wording, numbers masked: "same wording, different numbers" */
  private readonly wordings = new HeavyHitters(64);
  private readonly qSig = new Uint32Array(K);
  private readonly aSig = new Uint32Array(K);
  private limitReported = false;
  /** preference records (pairs, judgments): their relations and counts */
  readonly prefs = new PreferenceIndex();
  /** allowlist entry -> examples that contain it */
  readonly allowedCounts = new Map<string, number>();
  count = 0;
  chat = 0;
  text = 0;

  constructor(opts: ValidateOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  report(issue: Issue): void {
    let g = this.groups.get(issue.code);
    if (!g) {
      g = { code: issue.code, severity: severityOf(issue.code), count: 0, items: [] };
      this.groups.set(issue.code, g);
    }
    g.count++;
    if (g.items.length < this.opts.issueCap) g.items.push(issue);
  }

  groupsView(): Iterable<IssueGroup> {
    return this.groups.values();
  }

  templatesView(): HeavyHitters {
    return this.templates;
  }

  wordingsView(): HeavyHitters {
    return this.wordings;
  }

  add(item: ImportItem): void {
    if (item.kind === 'issue') this.report(item.issue);
    else this.addRecord(item.record);
  }

  locOf(i: number): Loc {
    const f = this.files[this.fileOf.get(i)];
    return { file: f.file, unit: f.unit, n: this.lineOf.get(i) };
  }

  find(i: number): number {
    const g = this.group;
    while (g.get(i) !== i) {
      g.set(i, g.get(g.get(i))); // path halving
      i = g.get(i);
    }
    return i;
  }

  private fileId(loc: Loc): number {
    let id = this.fileIds.get(loc.file);
    if (id === undefined) {
      id = this.files.length;
      this.files.push({ file: loc.file, unit: loc.unit });
      this.fileIds.set(loc.file, id);
    }
    return id;
  }

  private categoryId(name: string | null): number {
    if (name === null) return -1;
    let id = this.categoryIds.get(name);
    if (id === undefined) {
      if (this.categories.length >= 10000) return -1; // a "category" column with free text: stop tracking
      id = this.categories.length;
      this.categories.push(name);
      this.categoryIds.set(name, id);
    }
    return id;
  }

  private addRecord(r: DataRecord): void {
    const i = this.count++;
    if (r.kind === 'chat') this.chat++;
    else this.text++;
    this.fileOf.push(this.fileId(r.loc));
    this.lineOf.push(r.loc.n);
    this.categoryOf.push(this.categoryId(r.category));
    this.splitOf.push(r.split === 'val' ? 1 : 0);
    this.dupOf.push(-1);
    this.nearId.push(-1);
    this.questionKey.push(0);
    this.group.push(i);
    const checked = checkRecord(r, this.opts.piiAllow);
    const pref = this.prefs.check(r, this.opts.piiAllow); // preference records: answers, prompt, rejected text
    for (const issue of [...checked.issues, ...pref.issues]) this.report(issue);
    for (const entry of checked.allowed) this.allowedCounts.set(entry, (this.allowedCounts.get(entry) ?? 0) + 1);
    const blocking = checked.blocking || pref.blocking;
    this.blocking.push(blocking ? 1 : 0);
    this.lengths.add(this.measure(r));
    // NFKC once per turn; every key below is built from it
    const chat = r.kind === 'chat';
    const nf = chat ? r.messages.map((m) => m.content.normalize('NFKC')) : [r.text.normalize('NFKC')];
    const exactKey = hash53(chat ? r.messages.map((m, k) => `${m.role}\u0001${foldExactNfkc(nf[k])}`).join('\u0002') : `\u0003${foldExactNfkc(nf[0])}`);
    const side = (role: string): string => (chat ? nf.filter((_, k) => r.messages[k].role === role).join('\n') : role === 'user' ? nf[0] : '');
    // numbers in one spelling (1,000 = 1000 = 1千) before folding, so the same fact reads alike
    const questionNf = side('user');
    const answerNf = side('assistant');
    const qNums = numbersKey(questionNf);
    const question = `${foldMatchNfkc(canonicalNumbers(questionNf))}\u0001${qNums}`;
    const answer = foldMatchNfkc(canonicalNumbers(answerNf));
    this.keyOf.push(exactKey);
    this.answerKey.push(hash53(answer));
    const aNums = numbersKey(answerNf);
    this.answerNumbers.push(hash53(aNums));
    this.answerWording.push(aNums ? hash53(foldMatchNfkc(maskNumbers(answerNf))) : 0);
    if (aNums && this.count <= this.opts.nearDupLimit) {
      const shown = aNums.split(',').join(', ');
      this.numbersText.set(i, shown.length > 40 ? `${shown.slice(0, 40)}…` : shown);
    }
    if (answerNf) this.countAnswer(answerNf, aNums !== '', () => excerpt(answerOf(r)));
    if (blocking) return; // broken examples are reported once, not again as duplicates
    if (r.preference) this.prefs.relate(this, i, r); // one prompt has many answers: not conflicts
    else this.relate(i, r, exactKey, question, answer, qNums);
  }

  private measure(r: DataRecord): number {
    if (this.opts.countTokens) {
      let n = 0;
      try {
        n = this.opts.countTokens(r);
      } catch {
        n = 0; // a template that cannot render this example; its structure issues say why
      }
      if (this.opts.maxTokens !== null && n > this.opts.maxTokens) {
        this.report({ code: 'too_long', loc: r.loc, params: { tokens: n, limit: this.opts.maxTokens }, excerpt: excerpt(questionOf(r) || r.text) });
      }
      return n;
    }
    return r.kind === 'text' ? r.text.length : r.messages.reduce((s, m) => s + m.content.length, 0);
  }

  /** Answers for the dominance checks: identical ones (numbers compared exactly), and, when the answer has
   *  numbers, its wording with the numbers masked. */
  private countAnswer(answerNf: string, hasNumbers: boolean, sample: () => string): void {
    const exact = foldExactNfkc(answerNf);
    const wording = hasNumbers ? hash53(maskNumbers(exact)) : 0;
    this.templates.add(hash53(canonicalNumbers(exact)), sample, wording);
    if (hasNumbers) this.wordings.add(wording, sample);
  }

  /** Exact duplicates, then the same question (exactly, then nearly) with the same or another answer. */
  private relate(i: number, r: DataRecord, exactKey: number, qFold: string, aFold: string, qNums: string): void {
    const first = this.exact.get(exactKey);
    if (first !== -1) { this.pair(i, first, 'duplicate', r, 1, 1); return; }
    this.exact.add(i);
    const qKey = hash53(qFold);
    this.questionKey.set(i, qKey);
    signature(qFold, this.qSig);
    signature(aFold, this.aSig);
    const sameQ = this.questions.get(qKey);
    if (sameQ !== -1) {
      const stored = this.nearId.get(sameQ);
      const sim = stored >= 0 ? this.near.answerSimilarity(stored, this.aSig) : this.answerKey.get(i) === this.answerKey.get(sameQ) ? 1 : 0;
      this.pair(i, sameQ, sim >= this.opts.nearThreshold ? 'near_duplicate' : 'conflict', r, 1, sim);
      return;
    }
    this.questions.add(i);
    // "plan 1" and "plan 12" are different questions however alike they look: numbers must agree
    const salt = hash32(qNums);
    const m = this.near.best(this.qSig, this.aSig, salt, this.opts.nearThreshold);
    if (this.near.count < this.opts.nearDupLimit) {
      const id = this.near.store(this.qSig, this.aSig);
      this.nearId.set(i, id);
      this.recordOfNear.push(i);
      this.near.insert(id, this.qSig, salt);
    } else if (!this.limitReported) {
      this.limitReported = true;
      this.report({ code: 'near_dup_limit', loc: null, params: { limit: this.opts.nearDupLimit } });
    }
    if (!m) return;
    const near = r.kind === 'text' || m.answer >= this.opts.nearThreshold;
    this.pair(i, this.recordOfNear.get(m.other), near ? 'near_duplicate' : 'conflict', r, m.question, m.answer);
  }

  private pair(i: number, j: number, found: MessageCode, r: DataRecord, simQ: number, simA: number): void {
    // the same wording with another price, date or count is another answer: a conflict, not a duplicate
    const differ = r.kind === 'chat' && this.answerNumbers.get(i) !== this.answerNumbers.get(j);
    const sameWording = this.answerWording.get(i) !== 0 && this.answerWording.get(i) === this.answerWording.get(j);
    const numbersDiffer = differ && (found === 'near_duplicate' || (found === 'conflict' && sameWording));
    const code: MessageCode = numbersDiffer ? 'number_conflict' : found;
    const crossSplit = this.splitOf.get(i) !== this.splitOf.get(j);
    this.group.set(this.find(i), this.find(j));
    const loc = r.loc;
    const related = this.locOf(j);
    const isConflict = code === 'conflict' || code === 'number_conflict';
    const sim = isConflict ? simQ : Math.min(simQ, simA);
    const similarity = sim.toFixed(2);
    if (!isConflict) this.dupOf.set(i, j); // --dedup drops duplicates only, never one side of a conflict
    const ex = excerpt(questionOf(r) || r.text);
    if (crossSplit) {
      // report it on the validation example, pointing at the training one
      const valIsI = this.splitOf.get(i) === 1;
      this.report({ code: 'leakage', loc: valIsI ? loc : related, related: valIsI ? related : loc, params: { similarity }, excerpt: ex });
      return;
    }
    const params: Issue['params'] = code === 'duplicate' ? {} : { similarity };
    if (numbersDiffer) Object.assign(params, { numbers: this.numbersText.get(i) ?? '—', other: this.numbersText.get(j) ?? '—' });
    this.report({ code, loc, related, params, excerpt: ex });
  }

  finish(): ValidationResult {
    finishChecks(this);
    const order = new Map(MESSAGE_CODES.map((c, k) => [c, k]));
    const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
    const groups = [...this.groups.values()].sort((a, b) => rank[a.severity] - rank[b.severity] || order.get(a.code)! - order.get(b.code)!);
    const unit = this.opts.countTokens ? 'tokens' : 'characters';
    return {
      groups,
      examples: this.count,
      errors: groups.filter((g) => g.severity === 'error').reduce((s, g) => s + g.count, 0),
      warnings: groups.filter((g) => g.severity === 'warning').reduce((s, g) => s + g.count, 0),
      lengths: this.lengths.stats(unit),
      categories: this.categoryCounts(),
      templates: this.templates,
    };
  }

  categoryCounts(): { name: string; count: number }[] {
    const counts = this.categories.map(() => 0);
    for (let i = 0; i < this.count; i++) if (this.categoryOf.get(i) >= 0) counts[this.categoryOf.get(i)]++;
    return this.categories.map((name, k) => ({ name, count: counts[k] })).sort((a, b) => b.count - a.count);
  }
}

/** The validator as one pure function: every import item in, the result out. Never throws on bad data. */
export function validate(items: Iterable<ImportItem>, opts: ValidateOptions = {}): { result: ValidationResult; validator: Validator } {
  const v = new Validator(opts);
  for (const item of items) v.add(item);
  return { result: v.finish(), validator: v };
}
