// The demo's evaluation and closing questions: base and tuned adapter answer the held-out questions as they
// are and with what the knowledge base retrieves in the prompt (four systems, recall@k beside them; table,
// eval.json, eval.html), then the closing questions go to the base model and to the grounded tuned
// assistant, which cites the FAQ row it used. One model load serves both steps: the adapter is attached
// unfused and taken off again, so "base" is always the exact base weights.
import path from 'node:path';
import { evalWithKnowledge, groundedPrompt, groundingSources, quoteOf, type Grounding } from '../assistants/index.js';
import { citationNumbers, readEvalItems, terminalTable, writeReport, type EvalEvent, type EvalReport, type SystemSummary } from '../eval/index.js';
import { chatPrompt, generateText, openModel, type GenerateOptions, type OpenedModel } from '../generate/index.js';
import { loadAdapter } from '../lora/index.js';
import type { ChatMessage } from '../tokenizer/index.js';
import type { DemoOptions } from './options.js';

export interface Evaluated {
  report: EvalReport;
  table: string;
  html: string;
  json: string;
  base: SystemSummary;
  tuned: SystemSummary;
  /** the same two with the retrieved entries in the prompt */
  baseKb: SystemSummary;
  tunedKb: SystemSummary;
  /** and quoting them (null when the demo's quoting is off) */
  baseKbQuote: SystemSummary | null;
  tunedKbQuote: SystemSummary | null;
}

export interface EvalHooks {
  onEvent?: (e: EvalEvent) => void;
  stopRequested?: () => boolean;
}

export function openBase(o: DemoOptions): OpenedModel {
  return openModel(o.model, { adapter: null });
}

/** Base, tuned, base+kb and tuned+kb on the held-out questions, with retrieval's recall. */
export async function evaluate(o: DemoOptions, opened: OpenedModel, heldout: string, adapterDir: string, g: Grounding, hooks: EvalHooks = {}): Promise<Evaluated> {
  const items = readEvalItems(heldout, o.limit);
  const report = await evalWithKnowledge({
    opened, modelLabel: o.model, dataLabel: heldout, items, adapters: [adapterDir],
    settings: { maxTokens: null, samples: 0, temperature: 0.7, seed: o.seed, maxSeqLen: o.maxSeqLen, judge: null, quote: g.profile.knowledge.quote },
  }, g, { onEvent: hooks.onEvent, stopRequested: hooks.stopRequested });
  const files = writeReport(path.join(o.out, 'eval'), report);
  const [base, tuned, baseKb, tunedKb, baseKbQuote = null, tunedKbQuote = null] = report.systems;
  return { report, table: terminalTable(report), html: files.html, json: files.json, base, tuned, baseKb, tunedKb, baseKbQuote, tunedKbQuote };
}

export interface Answered {
  question: string;
  base: string;
  /** the grounded tuned assistant's answer, as generated (citation markers kept) */
  tuned: string;
  /** whether each answer hit the token budget instead of ending by itself */
  baseCut: boolean;
  tunedCut: boolean;
  /** the FAQ row the tuned answer cites ("faq.csv, row 17"); null when it cites none of the prompt's entries */
  cited: string | null;
  /** what the prompt held, best first */
  sources: string[];
}

type Reply = { text: string; cut: boolean };

async function answer(opened: OpenedModel, messages: ChatMessage[], maxNewTokens: number, quote?: GenerateOptions['quote']): Promise<Reply> {
  const ids = chatPrompt(opened.tokenizer, messages, opened.templateVars);
  const budget = Math.max(1, Math.min(maxNewTokens, opened.config.maxPositions - ids.length));
  const g = await generateText(opened, ids, { maxNewTokens: budget, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, ...(quote ? { quote } : {}) });
  return { text: g.text.trim(), cut: g.finishReason !== 'stop' };
}

/** The entry an answer cites: its first in-range [n] marker. */
export function citedSource(text: string, sources: readonly string[]): string | null {
  const n = citationNumbers(text).find((i) => i >= 1 && i <= sources.length);
  return n === undefined ? null : sources[n - 1];
}

/** Greedy answers of the base model as it is and of the grounded tuned assistant (base + adapter, the
 *  retrieved entries in its prompt as an assistant with this knowledge base lays them out). */
export async function askBoth(opened: OpenedModel, adapterDir: string, g: Grounding, questions: string[], maxNewTokens: number): Promise<Answered[]> {
  const base: Reply[] = [];
  for (const q of questions) base.push(await answer(opened, [{ role: 'user', content: q }], maxNewTokens));
  const prompts: ReturnType<typeof groundedPrompt>[] = [];
  for (const q of questions) prompts.push(groundedPrompt(g, [{ role: 'user', content: q }], await groundingSources(g, q)));
  const lora = loadAdapter(adapterDir, opened.model);
  const tuned: Reply[] = [];
  try {
    // the grounded assistant as the demo sets it up: quoting its sources when its profile says so
    for (const p of prompts) tuned.push(await answer(opened, p.messages, Math.min(maxNewTokens, g.window.defaultAnswer), quoteOf(g.profile, p.sources) ?? undefined));
  } finally {
    lora.detach();
  }
  return questions.map((question, i) => {
    const sources = prompts[i].sources.map((s) => s.cite);
    return { question, base: base[i].text, tuned: tuned[i].text, baseCut: base[i].cut, tunedCut: tuned[i].cut, cited: citedSource(tuned[i].text, sources), sources };
  });
}
