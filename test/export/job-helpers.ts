// Shared by the job bundle tests: a small bilingual FAQ in a temp folder and a job built from it on the tiny
// test model, with any train setting or GPU layout overridden.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildJob, type BuiltJob } from '../../src/export/jobs/build.js';
import { gpuKind } from '../../src/catalog/calibrate-gpu.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/config.js';
import type { Engine, Strategy } from '../../src/export/jobs/types.js';
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
