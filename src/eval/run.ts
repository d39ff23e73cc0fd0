// One evaluation run: the base model and then each adapter (attached to the same loaded weights and
// detached again, never fused, so every system sees the exact base weights) answer every question. Per
// question: reference loss, a greedy answer, k seeded samples for consistency, and optionally a judge.
// The run can stop between questions (or mid-answer through a signal); report() covers what was computed.
import { ShitateError } from '../errors.js';
import { answerOnly, generateText, type GenerateOptions, type OpenedModel } from '../generate/index.js';
import { loadAdapter } from '../lora/index.js';
import type { EvalItem } from './data.js';
import { judgeAnswer, type JudgeSettings } from './judge.js';
import { exampleLoss, prepareItem, type PreparedItem } from './loss.js';
import { charF1, exactMatch, meanPairwiseSimilarity, rougeLChars } from './metrics.js';
import { COMPARE_DEFAULTS, compare, summarize, type CompareOptions } from './summary.js';
import { languageOfTexts } from './script.js';
import { methodNotes } from './text.js';
import type { AnswerResult, EvalReport, QuestionReport, ReportLang, SystemSummary } from './types.js';

export interface EvalSettings {
  /** token budget of an answer; null: twice the reference's tokens + 16, at most 512 */
  maxTokens: number | null;
  /** sampled answers per question for consistency (0 or 1: off) */
  samples: number;
  /** temperature of those samples */
  temperature: number;
  seed: number;
  /** conversations longer than this are truncated for the loss, as in training */
  maxSeqLen: number;
  judge: JudgeSettings | null;
  /** better/worse threshold on a question's ROUGE-L change (default 0.05) */
  minChange?: number;
  /** resamples of the paired bootstrap intervals (default 1000; 0: none) */
  bootstrapResamples?: number;
  /** report language; 'auto' (default): Japanese when most references are */
  lang?: 'auto' | ReportLang;
  /** source-anchored decoding strength for items that carry passages to quote (0 or absent: off) */
  quote?: number;
}

export interface EvalSystem {
  name: string;
  /** adapter folder; null for the base model */
  adapter: string | null;
}

export interface EvalInput {
  /** the base model, opened without an adapter */
  opened: OpenedModel;
  /** the model folder as the user named it (for the report) */
  modelLabel: string;
  dataLabel: string;
  items: EvalItem[];
  adapters: string[];
  settings: EvalSettings;
  /** appended to every system name ("base+kb"): the same systems asked another way */
  suffix?: string;
  /** the answer as scored (the answer shown stays as generated), e.g. without citation markers */
  scoreText?: (answer: string) => string;
  /** a reference loss computed already for this question and system (the same prompt answered another way), so
   *  it is not computed again; undefined: compute it */
  knownLoss?: (index: number, system: string) => { loss: number | null; tokens: number } | undefined;
}

export type EvalEvent =
  | { type: 'start'; systems: string[]; questions: number; total: number }
  | { type: 'progress'; done: number; total: number; system: string; question: number; elapsedSec: number; etaSec: number }
  | { type: 'system'; summary: SystemSummary }
  | { type: 'warning'; message: string }
  | { type: 'done'; complete: boolean };

export interface EvalHooks {
  onEvent?(e: EvalEvent): void;
  /** checked between questions (Ctrl-C) */
  stopRequested?(): boolean;
  /** aborts a generation or judge request in flight; the unfinished question is dropped */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_ANSWER_TOKENS = 512;

/** A short name for an adapter folder: its last path segment, or the last two for training's own
 *  layout (RUN/adapter, RUN/checkpoints/best). */
export function adapterLabel(dir: string): string {
  const parts = dir.split(/[\\/]+/).filter((p) => p && p !== '.');
  const last = parts.at(-1) ?? dir;
  return ['adapter', 'best', 'last'].includes(last) && parts.length > 1 ? parts.slice(-2).join('/') : last;
}

/** Names for the systems: "base", then a short label per adapter folder (made unique), each + `suffix`. */
export function systemsOf(adapters: readonly string[], suffix = ''): EvalSystem[] {
  const out: EvalSystem[] = [{ name: 'base', adapter: null }];
  const used = new Set(['base']);
  for (const dir of adapters) {
    const label = adapterLabel(dir);
    let name = label;
    for (let k = 2; used.has(name); k++) name = `${label} #${k}`;
    used.add(name);
    out.push({ name, adapter: dir });
  }
  return out.map((s) => ({ ...s, name: s.name + suffix }));
}

/** The same seed for a question's j-th sample in every system, so systems are compared on equal draws. */
export function sampleSeed(seed: number, question: number, j: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(question + 1, 0x85ebca6b) ^ Math.imul(j + 1, 0xc2b2ae35)) >>> 0;
}

class Stopped extends Error {}

export class EvalRun {
  readonly input: EvalInput;
  readonly systems: EvalSystem[];
  private readonly prepared: PreparedItem[];
  private readonly results: Map<string, AnswerResult>[];
  private complete = false;
  private readonly warnings: string[] = [];

  constructor(input: EvalInput) {
    this.input = input;
    this.systems = systemsOf(input.adapters, input.suffix);
    const { opened, settings } = input;
    this.prepared = input.items.map((it) => prepareItem(opened.tokenizer, opened.endIds, it, settings.maxSeqLen, opened.templateVars));
    this.results = input.items.map(() => new Map());
    const ctx = opened.config.maxPositions;
    this.prepared.forEach((p, i) => {
      if (p.promptIds.length >= ctx) {
        throw new ShitateError('E_CONTEXT', `${input.dataLabel}:${input.items[i].line}: the prompt is ${p.promptIds.length} tokens; expected fewer than the model's context of ${ctx}`,
          'shorten that conversation or leave it out of the evaluation file');
      }
    });
  }

  /** Token budget of one answer, within the context. */
  maxTokensFor(i: number): number {
    const p = this.prepared[i];
    const wanted = this.input.settings.maxTokens ?? Math.min(DEFAULT_MAX_ANSWER_TOKENS, 2 * p.referenceTokens + 16);
    return Math.max(1, Math.min(wanted, this.input.opened.config.maxPositions - p.promptIds.length));
  }

  /** Loads every adapter once and takes it off again, so a wrong folder fails before any work; warnings (an
   *  adapter trained on another base) are reported when the run starts. */
  checkAdapters(): void {
    for (const s of this.systems) {
      if (s.adapter) loadAdapter(s.adapter, this.input.opened.model, false, { baseDir: this.input.opened.dir, onWarning: (m) => this.warnings.push(m) }).detach();
    }
  }

  async execute(hooks: EvalHooks = {}): Promise<EvalReport> {
    const emit = hooks.onEvent ?? (() => {});
    const n = this.input.items.length;
    const total = n * this.systems.length;
    emit({ type: 'start', systems: this.systems.map((s) => s.name), questions: n, total });
    for (const message of this.warnings.splice(0)) emit({ type: 'warning', message });
    if (this.input.settings.samples >= 2 && this.input.settings.temperature === 0) {
      emit({ type: 'warning', message: 'consistency samples at temperature 0 all equal the greedy answer; set a temperature above 0 (e.g. 0.7)' });
    }
    this.prepared.forEach((p, i) => {
      if (!p.example) emit({ type: 'warning', message: `line ${this.input.items[i].line}: no reference token is left within max_seq_len ${this.input.settings.maxSeqLen}; its loss is left out` });
    });
    const t0 = performance.now();
    let done = 0;
    try {
      for (const system of this.systems) {
        // warnings were collected by checkAdapters() and reported once
        const lora = system.adapter ? loadAdapter(system.adapter, this.input.opened.model, false, { onWarning: () => {} }) : null;
        try {
          for (let i = 0; i < n; i++) {
            if (hooks.stopRequested?.() || hooks.signal?.aborted) throw new Stopped();
            this.results[i].set(system.name, await this.answer(i, system.name, hooks.signal));
            done++;
            const elapsedSec = (performance.now() - t0) / 1000;
            emit({ type: 'progress', done, total, system: system.name, question: i, elapsedSec, etaSec: (elapsedSec / done) * (total - done) });
          }
        } finally {
          lora?.detach();
        }
        emit({ type: 'system', summary: this.summaryOf(system.name, system.adapter) });
      }
      this.complete = true;
    } catch (e) {
      if (!(e instanceof Stopped) && !hooks.signal?.aborted) throw e;
    }
    emit({ type: 'done', complete: this.complete });
    return this.report();
  }

  private async answer(i: number, system: string, signal: AbortSignal | undefined): Promise<AnswerResult> {
    const { opened, settings, items } = this.input;
    const item = items[i];
    const p = this.prepared[i];
    const loss = this.input.knownLoss?.(i, system)
      ?? (p.example ? exampleLoss(opened.model, p.example, opened.tokenizer.padTokenId ?? opened.endIds[0] ?? 0) : null);
    const maxNewTokens = this.maxTokensFor(i);
    const quote = settings.quote && item.quote?.length ? { quote: { texts: item.quote, strength: settings.quote } } : {};
    const base: GenerateOptions = { maxNewTokens, repetitionPenalty: 1, topK: 0, topP: 1, minP: 0, signal, ...quote };
    const gen = await generateText(opened, p.promptIds, { ...base, temperature: 0 });
    if (gen.finishReason === 'abort') throw new Stopped();
    // a model that reasons first (Qwen3 with thinking on) is scored on its answer, not on its <think> block
    const text = answerOnly(opened.tokenizer, p.promptIds, opened.templateVars, gen.text);
    const samples: string[] = [];
    for (let j = 0; settings.samples >= 2 && j < settings.samples; j++) {
      const s = await generateText(opened, p.promptIds, { ...base, temperature: settings.temperature, seed: sampleSeed(settings.seed, i, j) });
      if (s.finishReason === 'abort') throw new Stopped();
      samples.push(answerOnly(opened.tokenizer, p.promptIds, opened.templateVars, s.text));
    }
    const judge = settings.judge ? await judgeAnswer(settings.judge, item.question, item.reference, text, signal) : null;
    const scored = this.input.scoreText ? this.input.scoreText(text) : text;
    return {
      loss: loss?.loss ?? null, lossTokens: loss?.tokens ?? 0,
      answer: text, answerTokens: gen.tokens.length - (gen.finishReason === 'stop' ? 1 : 0), finishReason: gen.finishReason, maxTokens: maxNewTokens,
      exact: exactMatch(scored, item.reference), charF1: charF1(scored, item.reference), rougeL: rougeLChars(scored, item.reference),
      chars: Array.from(scored).length,
      samples, consistency: meanPairwiseSimilarity(samples), judge,
    };
  }

  private summaryOf(name: string, adapter: string | null): SystemSummary {
    return summarize(name, adapter, this.results.flatMap((r) => (r.has(name) ? [r.get(name)!] : [])));
  }

  /** The report over everything computed so far (complete: false until every system answered every question). */
  report(): EvalReport {
    const { items, settings } = this.input;
    const questions: QuestionReport[] = items.map((it, i) => ({
      index: it.index, line: it.line, question: it.question, messages: it.messages, reference: it.reference,
      referenceChars: Array.from(it.reference).length, results: Object.fromEntries(this.results[i]),
    }));
    const j = settings.judge;
    const o = this.compareOptions();
    const lang = !settings.lang || settings.lang === 'auto' ? languageOfTexts(items.map((it) => it.reference)) : settings.lang;
    return {
      format: 'shitate-eval', version: 1, complete: this.complete, lang, method: methodNotes(lang, o),
      model: this.input.modelLabel, data: this.input.dataLabel,
      settings: {
        maxTokens: settings.maxTokens, samples: settings.samples, temperature: settings.temperature, seed: settings.seed,
        maxSeqLen: settings.maxSeqLen, judge: j ? { url: j.url, model: j.model, rubric: j.rubric } : null, ...(settings.quote ? { quote: settings.quote } : {}),
        minChange: o.minChange, bootstrap: o.bootstrap,
      },
      systems: this.systems.map((s) => this.summaryOf(s.name, s.adapter)),
      comparisons: this.systems.slice(1).map((s) => compare(questions, s.name, this.systems[0].name, o)),
      questions,
    };
  }

  /** The comparison rule and the bootstrap, seeded with the run's seed. */
  private compareOptions(): CompareOptions {
    const s = this.input.settings;
    return {
      minChange: s.minChange ?? COMPARE_DEFAULTS.minChange,
      bootstrap: { ...COMPARE_DEFAULTS.bootstrap, resamples: s.bootstrapResamples ?? COMPARE_DEFAULTS.bootstrap.resamples, seed: s.seed },
    };
  }
}
