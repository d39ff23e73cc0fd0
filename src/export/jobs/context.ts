// What every engine writer gets (the resolved config, the plan, the data and the model) and gives back (its
// files, how to launch them, and where its run will differ from `shitate train`).
import type { TrainConfig } from '../../train/config.js';
import type { LfTemplateChoice } from './lf-template.js';
import type { HfSection, JobData, JobModel, JobPlan } from './types.js';

export interface JobContext {
  config: TrainConfig;
  plan: JobPlan;
  data: JobData;
  model: JobModel;
  /** texts of the end-of-turn tokens (<|im_end|>, <|eot_id|>, ...) */
  endTexts: string[];
  /** the template file in the bundle */
  chatTemplateFile: string;
  /** chat template variables training renders with (enable_thinking, ...) */
  templateVars: Record<string, unknown>;
  /** 'fallback': the model ships no template and shitate trains with its plain format */
  templateSource: 'model' | 'fallback';
  /** for llama-factory */
  lfTemplate?: LfTemplateChoice;
  /** chat examples LLaMA-Factory would drop (line numbers in the training file) */
  nonAlternating?: number[];
}

export interface EngineOutput {
  /** path inside the job folder -> contents */
  files: Record<string, string>;
  /** shell lines, in order, to run from the job folder */
  launch: string[];
  differences: string[];
  hf?: HfSection;
}

export const lrSchedulerName = (c: TrainConfig, warmupSteps: number): string =>
  c.schedule === 'constant' ? (warmupSteps > 0 ? 'constant_with_warmup' : 'constant') : c.schedule;

export const loraTargets = (c: TrainConfig): string[] | 'all-linear' =>
  c.targetModules.length === 1 && c.targetModules[0] === 'all-linear' ? 'all-linear' : [...c.targetModules];

/** Differences every GPU engine shares with the others. */
export function commonDifferences(x: JobContext): string[] {
  const c = x.config;
  const p = x.plan;
  const out = [
    `batches are rows, not a token budget: ${p.globalBatch} examples per optimizer step (shitate: about ${p.shitateExamplesPerStep.toFixed(1)} with batch_tokens ${c.batchTokens}), ${p.totalSteps} steps in all; the loss is still normalised by the target tokens of the whole step`,
    `bf16 autocast with bf16 base weights on the GPU (shitate here: ${c.precision}); losses agree to about 1e-3 relative`,
    'LoRA A is initialised and dropout is drawn from the GPU run\'s own random numbers (same distributions, other draws)',
  ];
  if (c.groupByLength) out.push('length grouping follows transformers\' LengthGroupedSampler (megabatches of 50 batches), not shitate\'s groups of 64 rows');
  if (p.gradientCheckpointing) out.push('gradient checkpointing is on: the same numbers, about a third more compute');
  if (c.maxSteps !== null && p.maxSteps !== null) out.push(`max_steps ${c.maxSteps} of shitate's steps becomes ${p.maxSteps} GPU steps (the same number of examples)`);
  if (c.evalEvery !== null && p.evalSteps !== null) out.push(`eval_every ${c.evalEvery} of shitate's steps becomes every ${p.evalSteps} GPU steps`);
  return out;
}
