// Everything a DPO or KTO run needs before the loop: the preference data (a held-out split that keeps each
// prompt on one side), the adapters (fresh, or the starting adapter of --from/--adapter, trained further),
// the reference (adapters off, or the starting adapter frozen) and the objective. The session calls it in two
// phases, data first (for the memory estimate), then attach.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import type { CausalLM } from '../models/index.js';
import type { TemplateVars, Tokenizer } from '../tokenizer/index.js';
import { attachLora, loadAdapter, type LoraSet } from '../lora/index.js';
import { Rng } from '../kernels/rng.js';
import { runTemplateVars } from './data-setup.js';
import type { BatchOptions } from './batching.js';
import { isPreferenceMethod, type TrainConfig } from './config.js';
import { readRunConfig } from './state-file.js';
import type { NamedParam } from './optimizer.js';
import type { Objective } from './objective.js';
import { ReferencePolicy } from './reference.js';
import { dpoObjective, ktoObjective, pairLength } from './preference-objective.js';
import {
  promptKey, readPreferenceLines, tokenizeLabels, tokenizePairs, type LabelExample, type PairExample, type PrefLine, type PrefTokenizeOptions, type TokenizedPreference,
} from './preference-data.js';

/** What the session needs from a method before and after the model is set up. */
export interface PreparedRun {
  notes: string[];
  warnings: string[];
  templateVars: TemplateVars;
  batch: BatchOptions;
  /** planning cost of the largest training unit, for the memory estimate */
  longest: number;
  attach(model: CausalLM, warn: (m: string) => void): { params: NamedParam[]; lora: LoraSet | null; objective: Objective };
}

/** The adapter a run continues from: --adapter, else --from's RUN_DIR/adapter; null trains a fresh one. */
export function startAdapter(c: Pick<TrainConfig, 'adapter' | 'from'>): string | null {
  return c.adapter ?? (c.from ? path.join(c.from, 'adapter') : null);
}

/** --from and --adapter are for dpo/kto; --from RUN_DIR without --model trains on that run's base model. */
export function resolveStart<C extends TrainConfig>(c: C): C {
  if ((c.from || c.adapter) && !isPreferenceMethod(c.method)) {
    throw new ShitateError('E_USAGE', `train: --${c.from ? 'from' : 'adapter'} continues preference tuning; expected --method dpo or kto, found ${c.method}`,
      'e.g. shitate train --method dpo --from runs/faq --data pairs.jsonl');
  }
  if (c.from && c.adapter) throw new ShitateError('E_USAGE', 'train: --from and --adapter were both given', 'pass one: --from RUN_DIR (its adapter and base model) or --adapter DIR');
  if (!c.from || c.model) return c;
  const saved = readRunConfig<{ model?: unknown }>(path.join(c.from, 'config.json')).config;
  if (typeof saved.model !== 'string' || !saved.model) {
    throw new ShitateError('E_USAGE', `train: --from ${c.from}: expected its config.json to name the base model, found none`, 'pass --model DIR as well');
  }
  return { ...c, model: saved.model };
}

/** Keeps every record of one prompt on one side (no prompt is both trained and validated on). */
export function splitByPrompt(lines: PrefLine[], share: number, seed: number): [PrefLine[], PrefLine[]] {
  if (share <= 0 || lines.length < 10) return [lines, []];
  const keys = [...new Set(lines.map((l) => promptKey(l.record.prompt)))];
  if (keys.length < 2) return [lines, []];
  const order = new Rng(seed ^ 0x5eed).shuffle(keys.map((_, i) => i));
  const want = Math.max(1, Math.round(lines.length * share));
  const count = new Map<string, number>();
  for (const l of lines) count.set(promptKey(l.record.prompt), (count.get(promptKey(l.record.prompt)) ?? 0) + 1);
  const valKeys = new Set<string>();
  let taken = 0;
  for (const k of order) {
    if (taken >= want || valKeys.size === keys.length - 1) break;
    valKeys.add(keys[k]);
    taken += count.get(keys[k])!;
  }
  return [lines.filter((l) => !valKeys.has(promptKey(l.record.prompt))), lines.filter((l) => valKeys.has(promptKey(l.record.prompt)))];
}

function dataWarnings<E>(name: string, d: TokenizedPreference<E>, maxSeqLen: number, out: string[]): void {
  if (d.truncated) out.push(`${d.truncated} ${name} sequences are longer than max_seq_len ${maxSeqLen} tokens and were truncated (their start is kept)`);
  if (d.dropped) out.push(`${d.dropped} ${name} examples had no completion tokens left after truncation and were skipped`);
  if (d.appendedEos) out.push(`the chat template closes assistant turns without an end token; the eos token was appended to ${d.appendedEos} ${name} completions`);
}

/** TRL's advice when desirable and undesirable counts differ (KTO paper, eq. 8): the weights that balance them. */
export function labelBalance(examples: LabelExample[], c: Pick<TrainConfig, 'desirableWeight' | 'undesirableWeight'>): string | null {
  const nd = Math.max(1, examples.filter((e) => e.label).length);
  const nu = Math.max(1, examples.length - examples.filter((e) => e.label).length);
  if (examples.every((e) => e.label) || examples.every((e) => !e.label)) {
    return `every training judgment is ${examples[0]?.label ? 'desirable (👍)' : 'undesirable (👎)'}: KTO learns from the contrast, so collect some of the other kind`;
  }
  if (nd === nu) return null;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const [dLo, dHi] = [r2((nu * c.undesirableWeight) / nd), r2(((nu * c.undesirableWeight) / nd) * 1.33)];
  const [uLo, uHi] = [r2((nd * c.desirableWeight) / nu / 1.33), r2((nd * c.desirableWeight) / nu)];
  if ((dLo <= c.desirableWeight && c.desirableWeight <= dHi) || (uLo <= c.undesirableWeight && c.undesirableWeight <= uHi)) return null;
  return `${nd} desirable and ${nu} undesirable judgments: with these weights one kind dominates the loss; set EITHER desirable_weight in [${dLo}, ${dHi}] ` +
    `OR undesirable_weight in [${uLo}, ${uHi}] (not both)`;
}

function loadAdapterToTrain(dir: string, model: CausalLM, c: TrainConfig, warn: (m: string) => void): LoraSet {
  if (!fs.existsSync(dir)) {
    throw new ShitateError('E_NOT_FOUND', `expected the starting adapter at ${dir}, found nothing`,
      c.from ? `--from expects a finished run folder (it holds adapter/); train one first with --method lora` : 'pass the folder that holds adapter_config.json');
  }
  return loadAdapter(dir, model, true, { onWarning: warn, baseDir: c.model });
}

function attachAdapters(model: CausalLM, c: TrainConfig, warn: (m: string) => void): { lora: LoraSet; reference: ReferencePolicy } {
  const start = startAdapter(c);
  if (start && c.out && path.resolve(start) === path.resolve(c.out, 'adapter')) {
    throw new ShitateError('E_USAGE', `the run would write its adapter over the one it starts from (${start})`, 'pass another --out');
  }
  const lora = start ? loadAdapterToTrain(start, model, c, warn)
    : attachLora(model, { r: c.loraR, alpha: c.loraAlpha, dropout: c.loraDropout, targetModules: c.targetModules, useRslora: c.useRslora }, c.seed);
  const reference = start && c.referenceModel === 'auto' ? ReferencePolicy.frozenCopy(lora) : ReferencePolicy.base(lora);
  return { lora, reference };
}

function planningBatch(c: TrainConfig, maxSeqLen: number, padId: number, longest: number, notes: string[]): BatchOptions {
  if (c.packing) notes.push('packing is off for preference training: each sequence is scored on its own');
  if (longest > c.batchTokens) notes.push(`batch_tokens raised from ${c.batchTokens} to ${longest}: one ${c.method === 'dpo' ? 'pair (chosen and rejected)' : 'example'} must fit a micro-batch`);
  return { batchTokens: Math.max(c.batchTokens, longest), packing: false, groupByLength: c.groupByLength, maxSeqLen, padId };
}

/** Phase one: read and tokenize the data; `attach` then sets up adapters, reference and objective. */
export function preparePreference(c: TrainConfig, tok: Tokenizer, endIds: number[], maxSeqLen: number, padId: number, embedSize?: number): PreparedRun {
  const warnings: string[] = [];
  const notes: string[] = [];
  const { vars: templateVars, note } = runTemplateVars(c, tok);
  const o: PrefTokenizeOptions = { templateVars, ...(embedSize !== undefined && embedSize < tok.vocabSize ? { embedSize } : {}) };
  let trainLines = readPreferenceLines(c.data);
  let valLines: PrefLine[] = [];
  if (c.val) valLines = readPreferenceLines(c.val);
  else {
    [trainLines, valLines] = splitByPrompt(trainLines, c.valSplit, c.seed);
    warnings.push(valLines.length ? `no --val given: held out ${valLines.length} of ${valLines.length + trainLines.length} records for validation (their prompts are not trained on)`
      : 'no validation data (fewer than 10 records, one prompt, or val_split 0): early stopping and the best checkpoint are off');
  }
  if (note && Array.isArray(trainLines[0].record.prompt)) notes.push(note);
  const tokenize = <E>(f: (l: PrefLine[], t: Tokenizer, e: number[], m: number, oo: PrefTokenizeOptions) => TokenizedPreference<E>) => {
    const train = f(trainLines, tok, endIds, maxSeqLen, o);
    const val = valLines.length ? f(valLines, tok, endIds, maxSeqLen, o) : null;
    dataWarnings('training', train, maxSeqLen, warnings);
    if (val) dataWarnings('validation', val, maxSeqLen, warnings);
    if (train.examples.length === 0) {
      throw new ShitateError('E_DATA', `${c.data}: expected preference records with completion tokens, found none after tokenization`, 'check that completions are not empty and fit max_seq_len');
    }
    return { train: train.examples, val: val?.examples ?? [] };
  };
  const settings = { beta: c.beta, lossType: c.lossType, labelSmoothing: c.labelSmoothing, desirableWeight: c.desirableWeight, undesirableWeight: c.undesirableWeight };
  const build = (longest: number, make: (model: CausalLM, ref: ReferencePolicy, b: BatchOptions) => Objective): PreparedRun => {
    const batch = planningBatch(c, maxSeqLen, padId, longest, notes);
    return {
      notes, warnings, templateVars, batch, longest,
      attach(model, warn) {
        const { lora, reference } = attachAdapters(model, c, warn);
        return { params: lora.params(), lora, objective: make(model, reference, batch) };
      },
    };
  };
  if (c.method === 'dpo') {
    const d = tokenize<PairExample>(tokenizePairs);
    return build(Math.max(...d.train.map(pairLength)), (m, r, b) => dpoObjective(m, r, d.train, d.val, b, settings));
  }
  const d = tokenize<LabelExample>(tokenizeLabels);
  const balance = labelBalance(d.train, c);
  if (balance) warnings.push(balance);
  if (d.train.length > 1 && d.train.some((e) => e.seq.ids.length * 2 > c.batchTokens)) {
    warnings.push(`some micro-batches may hold a single example, whose KL estimate is then its own reward: raise batch_tokens (now ${c.batchTokens}) so each holds several`);
  }
  return build(Math.max(...d.train.map((e) => e.seq.ids.length)), (m, r, b) => ktoObjective(m, r, d.train, d.val, b, settings));
}
