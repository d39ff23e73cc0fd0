// Every training setting with its default and meaning. Resolved through defaults < --config YAML <
// SHITATE_* env < flags (config/resolve.ts) and saved as config.json in the run folder.
import type { Schema } from '../config/resolve.js';

export const TRAIN_SCHEMA = {
  model: { type: 'string', help: 'base model folder (Hugging Face layout)' },
  data: { type: 'string', help: 'training data, JSONL (messages / prompt+completion / text; for dpo: preference pairs, for kto: judgments with "label")' },
  val: { type: 'string', nullable: true, help: 'validation JSONL; default: a held-out split of --data' },
  valSplit: { type: 'number', min: 0, max: 0.5, help: 'share of --data held out for validation when --val is not given' },
  out: { type: 'string', nullable: true, help: 'run folder (default runs/<date>-<time>)' },
  mode: { type: 'string', choices: ['auto', 'chat', 'completion', 'text'], help: 'data mode; auto detects from the records' },
  task: { type: 'string', choices: ['generate', 'classify'], help: 'generate: tune a language model to write answers; classify: tune an encoder (BERT, RoBERTa, XLM-R, ModernBERT) to put texts into the labels of {"text", "label"} JSONL (LoRA + a classification head)' },
  classWeights: { type: 'string', choices: ['auto', 'balanced', 'none'], help: 'classify: weight each label\'s loss by examples / (labels x its count) (balanced), not at all (none), or balanced when the commonest label has 3x the examples of the rarest (auto)' },
  chatTemplateKwargs: { type: 'json', nullable: true, help: 'chat template variables as JSON, e.g. {"enable_thinking": true} (a template with a thinking switch trains with it off by default)' },
  method: { type: 'string', choices: ['lora', 'full', 'dpo', 'kto'], help: 'LoRA adapters, full fine-tuning (small models only), or preference tuning of LoRA adapters: dpo (chosen/rejected pairs), kto (answers judged good or bad)' },
  from: { type: 'string', nullable: true, help: 'dpo/kto: continue from this run folder\'s adapter (and its base model when --model is not given)' },
  adapter: { type: 'string', nullable: true, help: 'dpo/kto: continue from this PEFT adapter folder' },
  referenceModel: { type: 'string', choices: ['auto', 'base'], help: 'dpo/kto reference: auto = the starting adapter kept frozen when continuing from one (as TRL does), else the base; base = adapters switched off' },
  beta: { type: 'number', min: 0, help: 'dpo/kto: how far the tuned model may move from the reference (higher = less); IPO: the regularisation tau' },
  lossType: { type: 'string', choices: ['sigmoid', 'ipo', 'hinge', 'robust'], help: 'dpo loss: sigmoid (DPO; with label_smoothing: conservative DPO), ipo, hinge or robust' },
  labelSmoothing: { type: 'number', min: 0, max: 0.499, help: 'dpo: assumed share of flipped preference labels (sigmoid: conservative DPO; robust: robust DPO)' },
  desirableWeight: { type: 'number', min: 0, help: 'kto: weight of the losses of desirable (👍) answers' },
  undesirableWeight: { type: 'number', min: 0, help: 'kto: weight of the losses of undesirable (👎) answers' },
  loraR: { type: 'int', min: 1, help: 'LoRA rank r' },
  loraAlpha: { type: 'number', min: 0, help: 'LoRA alpha (scaling = alpha / r)' },
  loraDropout: { type: 'number', min: 0, max: 0.99, help: 'dropout on the LoRA input' },
  targetModules: { type: 'list', help: 'linear layers to adapt (q_proj,k_proj,...) or all-linear' },
  useRslora: { type: 'boolean', help: 'rank-stabilised scaling alpha / sqrt(r)' },
  learningRate: { type: 'number', min: 0, help: 'peak learning rate' },
  schedule: { type: 'string', choices: ['cosine', 'linear', 'constant'], help: 'learning-rate schedule after warmup' },
  warmupRatio: { type: 'number', min: 0, max: 1, help: 'share of steps for linear warmup' },
  weightDecay: { type: 'number', min: 0, help: 'AdamW decoupled weight decay' },
  adamBeta1: { type: 'number', min: 0, max: 1, help: 'AdamW beta1' },
  adamBeta2: { type: 'number', min: 0, max: 1, help: 'AdamW beta2' },
  adamEps: { type: 'number', min: 0, help: 'AdamW epsilon' },
  maxGradNorm: { type: 'number', min: 0, help: 'clip gradients to this global norm (0 = off)' },
  epochs: { type: 'number', min: 0, help: 'passes over the training data' },
  maxSteps: { type: 'int', min: 1, nullable: true, help: 'stop after this many optimizer steps (overrides epochs)' },
  batchTokens: { type: 'int', min: 1, help: 'token budget of one micro-batch, padding included' },
  gradAccum: { type: 'int', min: 1, help: 'micro-batches per optimizer step' },
  maxSeqLen: { type: 'int', min: 2, help: 'examples longer than this are truncated' },
  packing: { type: 'boolean', help: 'pack several examples per row (attention stays inside each)' },
  groupByLength: { type: 'boolean', help: 'batch examples of similar length together' },
  evalEvery: { type: 'int', min: 1, nullable: true, help: 'validate every N steps (default: 4 times per epoch)' },
  earlyStoppingPatience: { type: 'int', min: 1, nullable: true, help: 'stop after N validations without improvement (null = never)' },
  earlyStoppingMinDelta: { type: 'number', min: 0, help: 'an improvement must beat the best by this much' },
  saveEvery: { type: 'int', min: 1, nullable: true, help: 'write the resumable checkpoint every N steps (default: at each validation)' },
  seed: { type: 'int', min: 0, help: 'seed for data order, LoRA init and dropout' },
  threads: { type: 'int', min: 1, nullable: true, help: 'compute threads (default: all cores)' },
  precision: { type: 'string', choices: ['fp32', 'bf16'], help: 'fp32, or bf16 mixed precision: frozen base weights multiply as bfloat16 (about 2x faster GEMMs on CPUs with AVX512-BF16/AMX), adapters and optimizer stay float32' },
  maxMemoryGb: { type: 'number', min: 0, nullable: true, help: 'memory the run may use (default: available RAM)' },
  force: { type: 'boolean', help: 'train even when the estimate says it will not fit' },
} as const satisfies Schema;

export interface TrainConfig {
  [k: string]: number | string | boolean | string[] | null;
  model: string;
  data: string;
  val: string | null;
  valSplit: number;
  out: string | null;
  mode: 'auto' | 'chat' | 'completion' | 'text';
  task: 'generate' | 'classify';
  classWeights: 'auto' | 'balanced' | 'none';
  /** JSON text of the chat template variables, or null */
  chatTemplateKwargs: string | null;
  method: 'lora' | 'full' | 'dpo' | 'kto';
  from: string | null;
  adapter: string | null;
  referenceModel: 'auto' | 'base';
  beta: number;
  lossType: 'sigmoid' | 'ipo' | 'hinge' | 'robust';
  labelSmoothing: number;
  desirableWeight: number;
  undesirableWeight: number;
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: string[];
  useRslora: boolean;
  learningRate: number;
  schedule: 'cosine' | 'linear' | 'constant';
  warmupRatio: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  maxGradNorm: number;
  epochs: number;
  maxSteps: number | null;
  batchTokens: number;
  gradAccum: number;
  maxSeqLen: number;
  packing: boolean;
  groupByLength: boolean;
  evalEvery: number | null;
  earlyStoppingPatience: number | null;
  earlyStoppingMinDelta: number;
  saveEvery: number | null;
  seed: number;
  threads: number | null;
  precision: 'fp32' | 'bf16';
  maxMemoryGb: number | null;
  force: boolean;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  model: '',
  data: '',
  val: null,
  valSplit: 0.1,
  out: null,
  mode: 'auto',
  task: 'generate',
  classWeights: 'auto',
  chatTemplateKwargs: null,
  method: 'lora',
  from: null,
  adapter: null,
  referenceModel: 'auto',
  beta: 0.1,
  lossType: 'sigmoid',
  labelSmoothing: 0,
  desirableWeight: 1,
  undesirableWeight: 1,
  loraR: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  useRslora: false,
  learningRate: 2e-4,
  schedule: 'cosine',
  warmupRatio: 0.03,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEps: 1e-8,
  maxGradNorm: 1,
  epochs: 3,
  maxSteps: null,
  batchTokens: 4096,
  gradAccum: 1,
  maxSeqLen: 1024,
  packing: false,
  groupByLength: true,
  evalEvery: null,
  earlyStoppingPatience: 3,
  earlyStoppingMinDelta: 0,
  saveEvery: null,
  seed: 42,
  threads: null,
  precision: 'fp32',
  maxMemoryGb: null,
  force: false,
};

/** DPO and KTO train LoRA adapters against a reference (preference-setup.ts). */
export function isPreferenceMethod(m: TrainConfig['method']): m is 'dpo' | 'kto' {
  return m === 'dpo' || m === 'kto';
}
