// The `axolotl` engine: one axolotl.yaml (keys as axolotl's pydantic schema names them, src/axolotl/utils/
// schemas/) with the chat data as `type: chat_template`, shitate's exact Jinja template, loss on the assistant
// turns (roles_to_train) and on each turn's end token (train_on_eos / train_on_eot: turn).
import YAML from 'yaml';
import { ShitateError } from '../../errors.js';
import { commonDifferences, loraTargets, lrSchedulerName, type EngineOutput, type JobContext } from './context.js';
import { decoderLayerClass, deepspeedConfig, deepspeedFile } from './distributed.js';

function dataset(path: string, x: JobContext): Record<string, unknown> {
  const d: Record<string, unknown> = {
    path, ds_type: 'json', split: 'train', type: 'chat_template', field_messages: 'messages',
    message_property_mappings: { role: 'role', content: 'content' }, roles_to_train: ['assistant'], train_on_eos: 'turn',
  };
  if (x.endTexts.length) d.train_on_eot = 'turn';
  return d;
}

/** axolotl.yaml as an object (the tests check it against axolotl's schema). */
export function axolotlConfig(x: JobContext): Record<string, unknown> {
  const c = x.config;
  const p = x.plan;
  if (x.data.mode !== 'chat') {
    throw new ShitateError('E_USAGE', `export-job --engine axolotl: expected chat data ({"messages": [...]}), found ${x.data.mode} records`,
      'use --engine hf, which reproduces prompt/completion and text training exactly');
  }
  if (!Number.isInteger(c.loraAlpha)) {
    throw new ShitateError('E_CONFIG', `export-job --engine axolotl: axolotl takes an integer lora_alpha, found ${c.loraAlpha}`,
      'set lora_alpha to a whole number (the scaling is alpha / r), or use --engine hf');
  }
  const targets = loraTargets(c);
  const hasVal = x.data.val !== null;
  const cfg: Record<string, unknown> = {
    base_model: x.model.remote,
    chat_template: 'jinja', chat_template_jinja: x.chatTemplateFile,
    ...(Object.keys(x.templateVars).length ? { chat_template_kwargs: x.templateVars } : {}),
    ...(x.endTexts.length ? { eot_tokens: x.endTexts } : {}),
    datasets: [dataset(x.data.train, x)],
    ...(hasVal ? { test_datasets: [dataset(x.data.val!, x)] } : { val_set_size: 0 }),
    dataset_prepared_path: 'output/prepared', output_dir: 'output',
    sequence_len: x.data.maxSeqLen, sample_packing: c.packing, pad_to_sequence_len: c.packing, train_on_inputs: false,
    adapter: 'lora', lora_r: c.loraR, lora_alpha: c.loraAlpha, lora_dropout: c.loraDropout,
    ...(targets === 'all-linear' ? { lora_target_linear: true } : { lora_target_modules: targets }),
    peft_use_rslora: c.useRslora,
    micro_batch_size: p.perDeviceBatch, gradient_accumulation_steps: p.gradAccum, num_epochs: c.epochs,
    ...(p.maxSteps !== null ? { max_steps: p.maxSteps } : {}),
    optimizer: 'adamw_torch', learning_rate: c.learningRate, lr_scheduler: lrSchedulerName(c, p.warmupSteps), warmup_steps: p.warmupSteps,
    weight_decay: c.weightDecay, adam_beta1: c.adamBeta1, adam_beta2: c.adamBeta2, adam_epsilon: c.adamEps, max_grad_norm: c.maxGradNorm,
    bf16: true, sdp_attention: true, gradient_checkpointing: p.gradientCheckpointing && p.strategy !== 'fsdp',
    group_by_length: c.groupByLength, seed: c.seed, logging_steps: 1,
    ...(hasVal ? { eval_steps: p.evalSteps, save_steps: p.saveSteps, load_best_model_at_end: true, metric_for_best_model: 'eval_loss', greater_is_better: false } : { save_steps: p.saveSteps }),
    ...(hasVal && c.earlyStoppingPatience !== null ? { early_stopping_patience: c.earlyStoppingPatience } : {}),
    save_total_limit: 2, save_safetensors: true,
  };
  const ds = deepspeedFile(p);
  if (ds) cfg.deepspeed = ds;
  if (p.strategy === 'fsdp') {
    cfg.fsdp_version = 2;
    cfg.fsdp_config = {
      offload_params: false, cpu_ram_efficient_loading: true, auto_wrap_policy: 'TRANSFORMER_BASED_WRAP',
      transformer_layer_cls_to_wrap: decoderLayerClass(x.model), state_dict_type: 'FULL_STATE_DICT', reshard_after_forward: true,
      activation_checkpointing: p.gradientCheckpointing,
    };
  }
  return cfg;
}

export function axolotlEngine(x: JobContext): EngineOutput {
  const cfg = axolotlConfig(x);
  const files: Record<string, string> = { 'axolotl.yaml': YAML.stringify(cfg, { lineWidth: 0 }) };
  const ds = deepspeedFile(x.plan);
  if (ds) files[ds] = JSON.stringify(deepspeedConfig(x.plan.strategy === 'zero2' ? 2 : 3), null, 2) + '\n';
  const launch = ['pip install axolotl', x.plan.gpus > 1
    ? `axolotl train axolotl.yaml --launcher torchrun -- --nproc_per_node=${x.plan.gpus}`
    : 'axolotl train axolotl.yaml'];
  const differences = [
    ...commonDifferences(x),
    'axolotl trains each assistant turn\'s content and its end-of-turn token; text a template puts between the generation prompt and the answer (an empty <think></think> block) is not trained, while shitate trains it',
    'the early-stopping threshold (early_stopping_min_delta) has no axolotl setting: any improvement resets the patience',
  ];
  if (x.config.earlyStoppingMinDelta === 0) differences.pop();
  return { files, launch, differences };
}
