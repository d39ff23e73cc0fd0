// Steps 4 and 5 of the demo: the base model and the tuned adapter answer the held-out questions (table,
// eval.json, eval.html), then a few scripted questions side by side. One model load serves both steps:
// the adapter is attached unfused and taken off again, so "base" is always the exact base weights.
import path from 'node:path';
import { EvalRun, readEvalItems, terminalTable, writeReport, type EvalEvent, type EvalReport, type SystemSummary } from '../eval/index.js';
import { chatPrompt, generateText, openModel, type OpenedModel } from '../generate/index.js';
import { loadAdapter } from '../lora/index.js';
import type { DemoOptions } from './options.js';

export interface Evaluated {
  report: EvalReport;
  table: string;
  html: string;
  json: string;
  base: SystemSummary;
  tuned: SystemSummary;
}

export interface EvalHooks {
  onEvent?: (e: EvalEvent) => void;
  stopRequested?: () => boolean;
}

export function openBase(o: DemoOptions): OpenedModel {
  return openModel(o.model, { adapter: null });
}

export async function evaluate(o: DemoOptions, opened: OpenedModel, heldout: string, adapterDir: string, hooks: EvalHooks = {}): Promise<Evaluated> {
  const items = readEvalItems(heldout, o.limit);
  const run = new EvalRun({
    opened, modelLabel: o.model, dataLabel: heldout, items, adapters: [adapterDir],
    settings: { maxTokens: null, samples: 0, temperature: 0.7, seed: o.seed, maxSeqLen: o.maxSeqLen, judge: null },
  });
  run.checkAdapters();
  const report = await run.execute({ onEvent: hooks.onEvent, stopRequested: hooks.stopRequested });
  const files = writeReport(path.join(o.out, 'eval'), report);
  const [base, tuned] = report.systems;
  return { report, table: terminalTable(report), html: files.html, json: files.json, base, tuned };
}

export interface Answered {
  question: string;
  base: string;
  tuned: string;
  /** whether each answer hit the token budget instead of ending by itself */
  baseCut: boolean;
  tunedCut: boolean;
}

async function answerAll(opened: OpenedModel, questions: string[], maxNewTokens: number): Promise<{ text: string; cut: boolean }[]> {
  const out: { text: string; cut: boolean }[] = [];
  for (const q of questions) {
    const ids = chatPrompt(opened.tokenizer, [{ role: 'user', content: q }], opened.templateVars);
    const budget = Math.max(1, Math.min(maxNewTokens, opened.config.maxPositions - ids.length));
    const g = await generateText(opened, ids, { maxNewTokens: budget, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 });
    out.push({ text: g.text.trim(), cut: g.finishReason !== 'stop' });
  }
  return out;
}

/** Greedy answers of the base model and of base + adapter to the same questions. */
export async function askBoth(opened: OpenedModel, adapterDir: string, questions: string[], maxNewTokens: number): Promise<Answered[]> {
  const base = await answerAll(opened, questions, maxNewTokens);
  const lora = loadAdapter(adapterDir, opened.model);
  let tuned: { text: string; cut: boolean }[];
  try {
    tuned = await answerAll(opened, questions, maxNewTokens);
  } finally {
    lora.detach();
  }
  return questions.map((question, i) => ({ question, base: base[i].text, tuned: tuned[i].text, baseCut: base[i].cut, tunedCut: tuned[i].cut }));
}
