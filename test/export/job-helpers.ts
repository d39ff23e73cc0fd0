// Shared by the job bundle tests: a small bilingual FAQ in a temp folder, a job built from it on the tiny test
// model with any train setting or GPU layout overridden, and PEFT adapters as the GPU engines save them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildJob, type BuiltJob } from '../../src/export/jobs/build.js';
import { gpuKind } from '../../src/catalog/calibrate-gpu.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import type { Engine, Strategy } from '../../src/export/jobs/types.js';
import { loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { Rng } from '../../src/kernels/rng.js';
import { tinyModelDir } from '../helpers/tiny-model.js';

export function faqFile(n = 40, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-job-'))): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const messages = [
      ...(i % 3 === 0 ? [{ role: 'system', content: 'You answer for ACME support.' }] : []),
      { role: 'user', content: i % 2 ? `営業時間は？ (${i})` : `Can I return item ${i}?` },
      { role: 'assistant', content: i % 2 ? `平日9時から18時です。${'詳しくはお問い合わせください。'.repeat(i % 4)}` : `Yes, within ${i} days.` },
    ];
    rows.push(JSON.stringify({ messages }));
  }
  const file = path.join(dir, 'train.jsonl');
  fs.writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

export interface JobSpec {
  engine: Engine;
  gpus?: number;
  gpu?: string;
  strategy?: Strategy | 'auto';
  checkpointing?: 'auto' | 'on' | 'off';
  config?: Partial<TrainConfig>;
  data?: string;
}

export function tinyJob(s: JobSpec): BuiltJob {
  const config: TrainConfig = { ...TRAIN_DEFAULTS, model: tinyModelDir(), data: s.data ?? faqFile(), ...s.config };
  return buildJob({
    engine: s.engine, config, sources: {}, gpus: s.gpus ?? 1, gpu: gpuKind(s.gpu ?? 'h100')!, strategy: s.strategy ?? 'auto',
    checkpointing: s.checkpointing ?? 'auto', licence: null, now: new Date('2026-01-01T00:00:00Z'),
  });
}

export const text = (b: BuiltJob, file: string): string => {
  const v = b.files[file];
  if (v === undefined) throw new Error(`the bundle has no ${file}; it has ${Object.keys(b.files).join(', ')}`);
  return v;
};

export interface AdapterSpec { r?: number; alpha?: number; dtype?: 'F32' | 'BF16'; config?: Record<string, unknown>; extraTensor?: string }

/** A PEFT LoRA adapter for the tiny model as save_pretrained writes it, with nonzero B so it changes outputs. */
export function peftAdapter(dir: string, s: AdapterSpec = {}): void {
  const { model } = loadModel(tinyModelDir());
  const r = s.r ?? 8;
  const set = attachLora(model, { r, alpha: s.alpha ?? 16, dropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], useRslora: false }, 3);
  const rng = new Rng(11);
  const tensors = set.params().map(({ name, tensor }) => ({
    name, shape: [...tensor.shape], dtype: s.dtype ?? 'F32' as const,
    data: name.includes('lora_B') ? Float32Array.from(tensor.data, () => 0.05 * rng.normal()) : Float32Array.from(tensor.data),
  }));
  if (s.extraTensor) tensors.push({ name: s.extraTensor, shape: [8, 4], dtype: 'F32', data: new Float32Array(32) });
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: '/models/tiny', bias: 'none', corda_config: null, eva_config: null,
    exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null,
    layers_to_transform: null, loftq_config: {}, lora_alpha: s.alpha ?? 16, lora_bias: false, lora_dropout: 0.05, megatron_config: null,
    megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', peft_version: '0.21.0', qalora_group_size: 16, r, rank_pattern: {},
    revision: null, target_modules: ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'], target_parameters: null,
    task_type: 'CAUSAL_LM', trainable_token_indices: null, use_dora: false, use_qalora: false, use_rslora: false, ...s.config,
  }, null, 2));
}

