// The job bundle's shapes: job.json (read by the bundle's own train.py, by `shitate import-run` and by people),
// and the plan that turns shitate's token-budget settings into the GPU engines' batch and step numbers.
import type { DataMode } from '../../train/dataset.js';
import type { TrainConfig } from '../../train/config.js';
import type { ModelShape } from '../../train/estimate.js';
import type { GpuEstimate } from '../../catalog/estimate-gpu.js';

export const ENGINES = ['hf', 'axolotl', 'llama-factory'] as const;
export type Engine = (typeof ENGINES)[number];

/** none: one GPU; ddp: replicas; zero2 / zero3: DeepSpeed; fsdp: PyTorch FSDP full_shard */
export const STRATEGIES = ['none', 'ddp', 'zero2', 'zero3', 'fsdp'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface JobPlan {
  gpus: number;
  gpu: { id: string; name: string; memoryGB: number };
  strategy: Strategy;
  gradientCheckpointing: boolean;
  /** rows per micro-batch on each GPU */
  perDeviceBatch: number;
  gradAccum: number;
  /** rows per optimizer step over all GPUs */
  globalBatch: number;
  /** examples per optimizer step that shitate's token budget gives on this data */
  shitateExamplesPerStep: number;
  shitateStepsPerEpoch: number;
  stepsPerEpoch: number;
  /** null: num_train_epochs decides */
  maxSteps: number | null;
  totalSteps: number;
  warmupSteps: number;
  /** null when there is no validation data */
  evalSteps: number | null;
  saveSteps: number;
  /** padded row length the memory figure assumes (the longest example, or max_seq_len when packing) */
  memorySeqLen: number;
  memory: GpuEstimate;
  /** whether `memory.peakBytes` fits the GPU */
  fits: boolean;
  tokensPerSecond: number;
  secondsPerEpoch: number;
  notes: string[];
}

export interface JobData {
  mode: DataMode;
  /** paths inside the job folder */
  train: string;
  val: string | null;
  trainExamples: number;
  valExamples: number;
  /** the effective max_seq_len: the config's, capped at the model's context */
  maxSeqLen: number;
  longest: number;
  meanLength: number;
  truncated: number;
  dropped: number;
  appendedEos: number;
  targetTokens: number;
  /** where the validation examples came from */
  valSource: 'file' | 'split' | 'none';
}

export interface JobModel {
  /** the folder shitate read here */
  local: string;
  /** what the GPU machine loads (a folder there, or a Hub id) */
  remote: string;
  modelType: string;
  architecture: string | null;
  shape: Omit<ModelShape, 'counts'>;
  qkNorm: boolean;
  maxPositions: number;
}

/** job.json, snake_case where train.py reads it */
export interface JobFile {
  format: 'shitate-job';
  version: 1;
  engine: Engine;
  created_at: string;
  model: JobModel;
  data: JobData & { max_seq_len: number };
  config: TrainConfig;
  sources: Record<string, string>;
  plan: JobPlan;
  end_ids: number[];
  end_texts: string[];
  pad_id: number;
  unicode_form: string | null;
  chat_template_file: string;
  template_source: 'model' | 'fallback';
  template_vars: Record<string, unknown>;
  base_template_vars: Record<string, unknown>;
  licence: Record<string, unknown> | null;
  /** where the engine's run will differ from `shitate train` with the same config */
  differences: string[];
  /** the engine's config files in the bundle */
  files: string[];
  hf?: HfSection;
}

export interface HfSection {
  training_args: Record<string, unknown>;
  lora: { r: number; alpha: number; dropout: number; target_modules: string[] | 'all-linear'; use_rslora: boolean };
  early_stopping: { patience: number; threshold: number } | null;
}
