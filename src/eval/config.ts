// Every evaluation setting with its default and meaning, resolved through defaults < --config YAML <
// SHITATE_* environment < flags (config/resolve.ts). The judge's URL, model and key can come from any
// layer, e.g. SHITATE_JUDGE_URL, SHITATE_JUDGE_MODEL and SHITATE_JUDGE_API_KEY.
import fs from 'node:fs';
import type { Schema } from '../config/resolve.js';
import { ShitateError } from '../errors.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { DEFAULT_RUBRIC, type JudgeSettings } from './judge.js';
import type { EvalSettings } from './run.js';

export const EVAL_SCHEMA = {
  model: { type: 'string', help: 'base model folder (Hugging Face layout)' },
  adapter: { type: 'list', help: 'LoRA adapter folder(s) to compare with the base (repeat --adapter)' },
  data: { type: 'string', help: 'held-out JSONL: chat (last assistant message = reference) or prompt/completion' },
  out: { type: 'string', nullable: true, help: 'report folder (default evals/<date>-<time>)' },
  limit: { type: 'int', min: 1, nullable: true, help: 'evaluate only the first N records' },
  maxTokens: { type: 'int', min: 1, nullable: true, help: 'token budget per answer (default: twice the reference + 16, at most 512)' },
  samples: { type: 'int', min: 0, help: 'sampled answers per question for consistency; 0 or 1 turns it off' },
  temperature: { type: 'number', min: 0, help: 'temperature of the consistency samples' },
  seed: { type: 'int', min: 0, help: 'seed of the samples (same seed, same report)' },
  maxSeqLen: { type: 'int', min: 2, help: 'conversations longer than this are truncated for the loss, as in training' },
  chatTemplateKwargs: { type: 'json', nullable: true, help: 'chat template variables as JSON, e.g. {"enable_thinking": false} (default: the ones the adapters were trained with)' },
  threads: { type: 'int', min: 1, nullable: true, help: 'compute threads (default: all cores)' },
  judge: { type: 'boolean', help: 'also grade answers with an LLM judge (any OpenAI-compatible API)' },
  judgeUrl: { type: 'string', nullable: true, help: 'judge API base URL, e.g. https://api.openai.com/v1' },
  judgeModel: { type: 'string', nullable: true, help: 'judge model name' },
  judgeApiKey: { type: 'string', nullable: true, help: 'judge API key (better in the environment: SHITATE_JUDGE_API_KEY)' },
  judgeRubric: { type: 'string', nullable: true, help: 'file with the grading rubric (default: the built-in 1-5 rubric)' },
  minChange: { type: 'number', min: 0, max: 1, help: 'a question counts as better or worse when its ROUGE-L (chars) changed by at least this (0.05 = 5 points); identical answers never do' },
  bootstrapResamples: { type: 'int', min: 0, help: 'resamples of the paired bootstrap interval of each difference (seeded with seed; 0: no intervals)' },
  lang: { type: 'string', choices: ['auto', 'en', 'ja'], help: 'language of the report (table, eval.json sentences, eval.html); auto: Japanese when most references are' },
  kb: { type: 'list', help: 'knowledge base(s): also ask base and adapters with what retrieval finds in the prompt, and report retrieval recall@k (repeat --kb)' },
  quote: { type: 'number', min: 0, max: 100, help: 'with --kb: also answer a third time quoting the retrieved passages (source-anchored decoding; this is the logit bonus, 10 suits small models; 0: off)' },
  assistant: { type: 'string', nullable: true, help: 'with --kb: lay prompts out as this assistant does (instructions, language, top_k, max_tokens)' },
} as const satisfies Schema;

export interface EvalConfig {
  [k: string]: number | string | boolean | string[] | null;
  model: string;
  adapter: string[];
  data: string;
  out: string | null;
  limit: number | null;
  maxTokens: number | null;
  samples: number;
  temperature: number;
  seed: number;
  maxSeqLen: number;
  /** JSON text of the chat template variables, or null */
  chatTemplateKwargs: string | null;
  threads: number | null;
  judge: boolean;
  judgeUrl: string | null;
  judgeModel: string | null;
  judgeApiKey: string | null;
  judgeRubric: string | null;
  minChange: number;
  bootstrapResamples: number;
  lang: string;
  kb: string[];
  assistant: string | null;
  quote: number;
}

export const EVAL_DEFAULTS: EvalConfig = {
  model: '', adapter: [], data: '', out: null, limit: null, maxTokens: null, samples: 3, temperature: 0.7, seed: 0,
  maxSeqLen: TRAIN_DEFAULTS.maxSeqLen, chatTemplateKwargs: null, threads: null,
  judge: false, judgeUrl: null, judgeModel: null, judgeApiKey: null, judgeRubric: null,
  minChange: 0.05, bootstrapResamples: 1000, lang: 'auto', kb: [], assistant: null, quote: 0,
};

/** The judge to use, or null when judge is off; refuses a judge without URL or model. */
export function judgeSettings(c: EvalConfig): JudgeSettings | null {
  if (!c.judge) return null;
  if (!c.judgeUrl || !c.judgeModel) {
    throw new ShitateError('E_CONFIG', `judge: expected judge_url and judge_model, found ${c.judgeUrl ? 'no judge_model' : 'no judge_url'}`,
      'set them in the config file, as SHITATE_JUDGE_URL / SHITATE_JUDGE_MODEL, or with --judge-url / --judge-model');
  }
  let rubric = DEFAULT_RUBRIC;
  if (c.judgeRubric) {
    try {
      rubric = fs.readFileSync(c.judgeRubric, 'utf8');
    } catch (e) {
      throw new ShitateError('E_NOT_FOUND', `judge_rubric: expected a readable text file at ${c.judgeRubric}, found ${(e as NodeJS.ErrnoException).code}`,
        'write the rubric in a text file, or leave judge_rubric out for the built-in one');
    }
  }
  return { url: c.judgeUrl, model: c.judgeModel, apiKey: c.judgeApiKey, rubric };
}

export function evalSettings(c: EvalConfig): EvalSettings {
  return {
    maxTokens: c.maxTokens, samples: c.samples, temperature: c.temperature, seed: c.seed, maxSeqLen: c.maxSeqLen, judge: judgeSettings(c),
    minChange: c.minChange, bootstrapResamples: c.bootstrapResamples, lang: c.lang === 'en' || c.lang === 'ja' ? c.lang : 'auto',
    ...(c.quote > 0 ? { quote: c.quote } : {}),
  };
}
