// The `hf` engine: transformers' Trainer + PEFT driven by the bundle's train.py, which tokenizes and masks
// exactly as shitate does. This module writes the Trainer's arguments (in job.json), requirements and launch.
import fs from 'node:fs';
import type { TrainConfig } from '../../train/config.js';
import { commonDifferences, loraTargets, lrSchedulerName, type EngineOutput, type JobContext } from './context.js';
import { decoderLayerClass, deepspeedConfig, deepspeedFile, fsdpTrainingArgs } from './distributed.js';
import type { HfSection, JobPlan } from './types.js';

/** train.py and the masking it imports (job_mask.py), shipped beside this module (copied into dist/ with the
 *  other assets) */
export function pythonSource(file: 'train.py' | 'job_mask.py'): string {
  return fs.readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
}

/** TrainingArguments as transformers 5 names them (train.py drops, with a note, any the installed version lacks). */
export function hfTrainingArgs(c: TrainConfig, p: JobPlan, hasVal: boolean, layer: string): Record<string, unknown> {
  const fsdp = p.strategy === 'fsdp';
  const args: Record<string, unknown> = {
    per_device_train_batch_size: p.perDeviceBatch, per_device_eval_batch_size: p.perDeviceBatch,
    gradient_accumulation_steps: p.gradAccum, num_train_epochs: c.epochs, max_steps: p.maxSteps ?? -1,
    learning_rate: c.learningRate, lr_scheduler_type: lrSchedulerName(c, p.warmupSteps), warmup_steps: p.warmupSteps,
    optim: 'adamw_torch', weight_decay: c.weightDecay, adam_beta1: c.adamBeta1, adam_beta2: c.adamBeta2, adam_epsilon: c.adamEps,
    max_grad_norm: c.maxGradNorm, bf16: true,
    // FSDP checkpoints activations itself (fsdp_config), the trainer's flag must then stay off
    gradient_checkpointing: p.gradientCheckpointing && !fsdp,
    ...(p.gradientCheckpointing && !fsdp ? { gradient_checkpointing_kwargs: { use_reentrant: false } } : {}),
    logging_steps: 1, eval_strategy: hasVal ? 'steps' : 'no', ...(hasVal ? { eval_steps: p.evalSteps } : {}),
    save_strategy: 'steps', save_steps: p.saveSteps, save_total_limit: 2,
    load_best_model_at_end: hasVal, ...(hasVal ? { metric_for_best_model: 'eval_loss', greater_is_better: false } : {}),
    seed: c.seed, data_seed: c.seed, train_sampling_strategy: c.groupByLength ? 'group_by_length' : 'random',
    average_tokens_across_devices: true, include_num_input_tokens_seen: true,
    remove_unused_columns: false, report_to: 'none', ddp_find_unused_parameters: false,
  };
  const ds = deepspeedFile(p);
  if (ds) args.deepspeed = ds;
  if (fsdp) Object.assign(args, fsdpTrainingArgs(p, layer));
  return args;
}

function launchLines(p: JobPlan): string[] {
  const install = `pip install -r requirements.txt${p.strategy === 'zero2' || p.strategy === 'zero3' ? ' deepspeed' : ''}`;
  return [install, p.gpus > 1 ? `torchrun --nproc_per_node ${p.gpus} train.py` : 'python train.py'];
}

export function hfEngine(x: JobContext): EngineOutput {
  const c = x.config;
  const hasVal = x.data.val !== null;
  const hf: HfSection = {
    training_args: hfTrainingArgs(c, x.plan, hasVal, decoderLayerClass(x.model)),
    lora: { r: c.loraR, alpha: c.loraAlpha, dropout: c.loraDropout, target_modules: loraTargets(c), use_rslora: c.useRslora },
    early_stopping: c.earlyStoppingPatience !== null ? { patience: c.earlyStoppingPatience, threshold: c.earlyStoppingMinDelta } : null,
  };
  const files: Record<string, string> = {
    'train.py': pythonSource('train.py'),
    'job_mask.py': pythonSource('job_mask.py'),
    'requirements.txt': ['torch>=2.4', 'transformers>=5.0,<6', 'peft>=0.17', 'accelerate>=1.3', 'safetensors'].join('\n') + '\n',
  };
  const ds = deepspeedFile(x.plan);
  if (ds) files[ds] = JSON.stringify(deepspeedConfig(x.plan.strategy === 'zero2' ? 2 : 3), null, 2) + '\n';
  const differences = commonDifferences(x);
  if (c.packing) differences.push('packing is off: train.py gives every example its own row (shitate packed rows of max_seq_len)');
  return { files, launch: launchLines(x.plan), differences, hf };
}
