// The `llama-factory` engine: llamafactory.yaml (LLaMA-Factory's model/data/finetuning arguments plus the
// transformers TrainingArguments it passes through) and data/dataset_info.json describing the OpenAI-style
// messages files, with the named chat template that renders as the model's own (lf-template.ts).
import YAML from 'yaml';
import { ShitateError } from '../../errors.js';
import { commonDifferences, loraTargets, lrSchedulerName, type EngineOutput, type JobContext } from './context.js';
import { decoderLayerClass, deepspeedConfig, deepspeedFile, fsdpTrainingArgs } from './distributed.js';

const TAGS = { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system', observation_tag: 'tool' };

/** data/dataset_info.json: one entry per file, in the sharegpt formatting with OpenAI role names */
export function datasetInfo(x: JobContext): Record<string, unknown> {
  const entry = (file: string) => ({ file_name: file.replace(/^data\//, ''), formatting: 'sharegpt', columns: { messages: 'messages' }, tags: TAGS });
  return { shitate_train: entry(x.data.train), ...(x.data.val ? { shitate_val: entry(x.data.val) } : {}) };
}

export function llamaFactoryConfig(x: JobContext): Record<string, unknown> {
  const c = x.config;
  const p = x.plan;
  if (x.data.mode !== 'chat') {
    throw new ShitateError('E_USAGE', `export-job --engine llama-factory: expected chat data ({"messages": [...]}), found ${x.data.mode} records`,
      'use --engine hf, which reproduces prompt/completion and text training exactly');
  }
  if (x.templateSource === 'fallback') {
    throw new ShitateError('E_USAGE', 'export-job --engine llama-factory: the model ships no chat template, so shitate trains with its plain fallback format, which LLaMA-Factory has no template for',
      'use --engine hf or axolotl (both take the template file), or give the model folder a chat_template.jinja');
  }
  if (!Number.isInteger(c.loraAlpha)) {
    throw new ShitateError('E_CONFIG', `export-job --engine llama-factory: LLaMA-Factory takes an integer lora_alpha, found ${c.loraAlpha}`,
      'set lora_alpha to a whole number (the scaling is alpha / r), or use --engine hf');
  }
  const targets = loraTargets(c);
  const hasVal = x.data.val !== null;
  const cfg: Record<string, unknown> = {
    model_name_or_path: x.model.remote, trust_remote_code: false,
    stage: 'sft', do_train: true, finetuning_type: 'lora',
    lora_rank: c.loraR, lora_alpha: c.loraAlpha, lora_dropout: c.loraDropout, lora_target: targets === 'all-linear' ? 'all' : targets.join(','),
    use_rslora: c.useRslora,
    dataset: 'shitate_train', ...(hasVal ? { eval_dataset: 'shitate_val' } : {}), dataset_dir: 'data',
    ...(x.lfTemplate?.name ? { template: x.lfTemplate.name } : {}),
    ...(x.lfTemplate?.enableThinking !== undefined ? { enable_thinking: x.lfTemplate.enableThinking } : {}),
    cutoff_len: x.data.maxSeqLen, train_on_prompt: false, mask_history: false, ...(c.packing ? { neat_packing: true } : {}),
    output_dir: 'output', overwrite_output_dir: true, logging_steps: 1, save_strategy: 'steps', save_steps: p.saveSteps, save_total_limit: 2, plot_loss: true, report_to: 'none',
    per_device_train_batch_size: p.perDeviceBatch, gradient_accumulation_steps: p.gradAccum,
    learning_rate: c.learningRate, num_train_epochs: c.epochs, ...(p.maxSteps !== null ? { max_steps: p.maxSteps } : {}),
    lr_scheduler_type: lrSchedulerName(c, p.warmupSteps), warmup_steps: p.warmupSteps, optim: 'adamw_torch',
    weight_decay: c.weightDecay, adam_beta1: c.adamBeta1, adam_beta2: c.adamBeta2, adam_epsilon: c.adamEps, max_grad_norm: c.maxGradNorm,
    bf16: true, disable_gradient_checkpointing: !p.gradientCheckpointing || p.strategy === 'fsdp', seed: c.seed, ddp_timeout: 180000000,
  };
  if (hasVal) {
    Object.assign(cfg, {
      per_device_eval_batch_size: p.perDeviceBatch, eval_strategy: 'steps', eval_steps: p.evalSteps,
      load_best_model_at_end: true, metric_for_best_model: 'eval_loss', greater_is_better: false,
    });
    if (c.earlyStoppingPatience !== null) cfg.early_stopping_steps = c.earlyStoppingPatience;
  }
  const ds = deepspeedFile(p);
  if (ds) cfg.deepspeed = ds;
  if (p.strategy === 'fsdp') Object.assign(cfg, fsdpTrainingArgs(p, decoderLayerClass(x.model)));
  return cfg;
}

export function llamaFactoryEngine(x: JobContext): EngineOutput {
  const files: Record<string, string> = {
    'llamafactory.yaml': YAML.stringify(llamaFactoryConfig(x), { lineWidth: 0 }),
    'data/dataset_info.json': JSON.stringify(datasetInfo(x), null, 2) + '\n',
  };
  const ds = deepspeedFile(x.plan);
  if (ds) files[ds] = JSON.stringify(deepspeedConfig(x.plan.strategy === 'zero2' ? 2 : 3), null, 2) + '\n';
  const launch = [`pip install llamafactory${ds ? ' deepspeed' : ''}`,
    x.plan.gpus > 1 ? `FORCE_TORCHRUN=1 NPROC_PER_NODE=${x.plan.gpus} llamafactory-cli train llamafactory.yaml` : 'llamafactory-cli train llamafactory.yaml'];
  const differences = [...commonDifferences(x).filter((d) => !d.startsWith('length grouping')), 'LLaMA-Factory renders chats with its own named templates, not the model\'s Jinja template'];
  if (x.lfTemplate?.exact) differences[differences.length - 1] += `: "${x.lfTemplate.name}" renders the probe conversations exactly as the model's template`;
  else if (x.lfTemplate?.note) differences.push(x.lfTemplate.note);
  if (x.nonAlternating?.length) {
    differences.push(`${x.nonAlternating.length} training conversation(s) do not alternate user/assistant turns (lines ${x.nonAlternating.slice(0, 5).join(', ')}${x.nonAlternating.length > 5 ? ', ...' : ''}); LLaMA-Factory skips them`);
  }
  if (x.config.earlyStoppingMinDelta > 0) differences.push('the early-stopping threshold (early_stopping_min_delta) has no LLaMA-Factory setting: any improvement resets the patience');
  if (x.config.groupByLength) differences.push('length grouping is not set (its TrainingArguments name changed between transformers 4 and 5): examples come in random order');
  return { files, launch, differences };
}
