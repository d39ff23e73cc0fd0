// `shitate import-run` on what the GPU engines write, reproduced from their documented formats: PEFT adapters
// (adapter_config.json with PEFT 0.21's fields, adapter_model.safetensors in f32 or bf16), transformers'
// trainer_state.json (log_history, stateful_callbacks) at the output root or in checkpoint-N folders (Axolotl),
// LLaMA-Factory's trainer_log.jsonl; the run folder it writes then merges and evaluates like a local run.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { loadModel } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { importRun } from '../../src/export/jobs/import-run.js';
import { writeBundle } from '../../src/export/jobs/write.js';
import type { JobFile } from '../../src/export/jobs/types.js';
import { tempDir, tinyModelDir, writeJsonl } from '../helpers/tiny-model.js';
import { peftAdapter, text, tinyJob, type AdapterSpec } from './job-helpers.js';

interface StateSpec { steps: number; maxSteps: number; evalEvery: number; batch: number; patience?: number; counter?: number }

/** transformers' TrainerState.save_to_json(): a loss per logged step, an eval entry per evaluation, the closing summary */
function trainerState(s: StateSpec): Record<string, unknown> {
  const log: Record<string, unknown>[] = [];
  let best = Infinity;
  let bestStep = 0;
  for (let step = 1; step <= s.steps; step++) {
    log.push({ epoch: step / 4, grad_norm: 1 / step, learning_rate: 2e-4 * Math.min(1, step / 2), loss: 3 / step, step });
    if (step % s.evalEvery === 0) {
      const ev = 2 + (step - 6) ** 2 / 10;
      if (ev < best) [best, bestStep] = [ev, step];
      log.push({ epoch: step / 4, eval_loss: ev, eval_runtime: 0.4, eval_samples_per_second: 10, eval_steps_per_second: 2.5, step });
    }
  }
  log.push({ epoch: s.steps / 4, step: s.steps, total_flos: 1.2e12, train_loss: 1.1, train_runtime: 42.5, train_samples_per_second: 3, train_steps_per_second: 0.2 });
  return {
    best_global_step: bestStep, best_metric: best, best_model_checkpoint: `output/checkpoint-${bestStep}`, epoch: s.steps / 4, eval_steps: s.evalEvery,
    global_step: s.steps, is_hyper_param_search: false, is_local_process_zero: true, is_world_process_zero: true, log_history: log, logging_steps: 1,
    max_steps: s.maxSteps, num_input_tokens_seen: 8192, num_train_epochs: 2, save_steps: s.evalEvery,
    stateful_callbacks: {
      ...(s.patience ? { EarlyStoppingCallback: { args: { early_stopping_patience: s.patience, early_stopping_threshold: 0 }, attributes: { early_stopping_patience_counter: s.counter ?? 0 } } } : {}),
      TrainerControl: { args: { should_epoch_stop: false, should_evaluate: false, should_log: false, should_save: true, should_training_stop: true }, attributes: {} },
    },
    total_flos: 1.2e12, train_batch_size: s.batch, trial_name: null, trial_params: null,
  };
}

/** A job folder as export-job writes it, with `output/` as the engine left it. */
function jobWithOutput(engine: 'hf' | 'axolotl' | 'llama-factory', output: (out: string, job: JobFile) => void): string {
  const dir = path.join(tempDir(), 'job');
  const b = tinyJob({ engine });
  writeBundle(dir, b.files);
  output(path.join(dir, 'output'), JSON.parse(text(b, 'job.json')) as JobFile);
  return dir;
}

const lines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('import-run: transformers Trainer + PEFT (hf job)', () => {
  it('writes a run folder whose adapter merges and evaluates like a local run', async () => {
    let plan: JobFile['plan'] | null = null;
    const jobDir = jobWithOutput('hf', (out, job) => {
      plan = job.plan;
      peftAdapter(path.join(out, 'adapter'));
      fs.writeFileSync(path.join(out, 'trainer_state.json'), JSON.stringify(trainerState({ steps: job.plan.totalSteps, maxSteps: job.plan.totalSteps, evalEvery: 1, batch: job.plan.perDeviceBatch, patience: 3 })));
      fs.mkdirSync(path.join(out, 'checkpoint-1'));
    });
    const runDir = path.join(tempDir(), 'run');
    const r = importRun({ source: jobDir, out: runDir });
    expect(r.engine).toBe('hf');
    expect(r.differences).toEqual([]);
    for (const f of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'adapter/chat_template.jinja', 'adapter/shitate.json', 'metrics.jsonl', 'loss.svg', 'summary.json', 'licence.json']) {
      expect(fs.existsSync(path.join(runDir, f)), f).toBe(true);
    }
    const events = lines(path.join(runDir, 'metrics.jsonl'));
    expect(events.filter((e) => e.type === 'step')).toHaveLength(plan!.totalSteps);
    expect(events[0]).toMatchObject({ type: 'step', step: 1, loss: 3, lr: 1e-4, gradNorm: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'completed', step: plan!.totalSteps });
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ steps: plan!.totalSteps, elapsedSec: 42.5, tokensSeen: 8192, imported: { engine: 'hf', gpus: 1 } });
    const meta = JSON.parse(fs.readFileSync(path.join(runDir, 'adapter/shitate.json'), 'utf8')) as { endTokenIds: number[] };
    expect(meta.endTokenIds.length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(runDir, 'loss.svg'), 'utf8')).toContain('<path');
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'licence.json'), 'utf8'))).toHaveProperty('decision');

    // merge and eval take the imported adapter like a local one
    const merged = path.join(tempDir(), 'merged');
    expect(await run(['merge', '--model', tinyModelDir(), '--adapter', r.adapterDir, '--out', merged])).toBe(0);
    const evalData = writeJsonl(path.join(tempDir(), 'val.jsonl'), [{ messages: [{ role: 'user', content: 'Q?' }, { role: 'assistant', content: 'A.' }] }]);
    expect(await run(['eval', '--model', tinyModelDir(), '--adapter', r.adapterDir, '--data', evalData, '--out', path.join(tempDir(), 'eval'), '--max-tokens', '4', '--samples', '0'])).toBe(0);
    const { model } = loadModel(tinyModelDir());
    expect(loadAdapter(r.adapterDir, model).params().length).toBe(2 * 7 * 2);
  });

  it('reports an early stop and an adapter or schedule that differs from the local config', () => {
    const jobDir = jobWithOutput('hf', (out, job) => {
      peftAdapter(path.join(out, 'adapter'), { r: 16, alpha: 32 });
      fs.writeFileSync(path.join(out, 'trainer_state.json'), JSON.stringify(trainerState({ steps: 2, maxSteps: job.plan.totalSteps + 5, evalEvery: 1, batch: job.plan.perDeviceBatch + 1, patience: 1, counter: 1 })));
    });
    const r = importRun({ source: jobDir, out: path.join(tempDir(), 'run') });
    const d = r.differences.join('\n');
    expect(d).toContain('LoRA r: 16 in the imported adapter, 8 in the local config');
    expect(d).toContain('lora_alpha: 32 in the imported adapter, 16 in the local config');
    expect(d).toMatch(/rows per GPU micro-batch in the GPU run/);
    expect(d).toMatch(/stopped early at step 2/);
    const done = lines(path.join(r.runDir, 'metrics.jsonl')).at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'early-stop' });
  });
});

describe('import-run: Axolotl and LLaMA-Factory output folders', () => {
  it('Axolotl: the adapter at the output root in bf16, the log in the newest checkpoint', () => {
    const jobDir = jobWithOutput('axolotl', (out, job) => {
      peftAdapter(out, { dtype: 'BF16' });
      for (const step of [2, 4]) {
        fs.mkdirSync(path.join(out, `checkpoint-${step}`), { recursive: true });
        fs.writeFileSync(path.join(out, `checkpoint-${step}`, 'trainer_state.json'), JSON.stringify(trainerState({ steps: step, maxSteps: 4, evalEvery: 2, batch: job.plan.perDeviceBatch })));
      }
    });
    const r = importRun({ source: jobDir, out: path.join(tempDir(), 'run') });
    expect(r.engine).toBe('axolotl');
    expect(r.steps).toBe(4);
    const evals = lines(path.join(r.runDir, 'metrics.jsonl')).filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([2, 4]);
    expect(evals[1]).toMatchObject({ trainLoss: 0.75, improved: true });
  });

  it('LLaMA-Factory, interrupted: the newest checkpoint\'s adapter and trainer_log.jsonl', () => {
    const jobDir = jobWithOutput('llama-factory', (out) => {
      peftAdapter(path.join(out, 'checkpoint-3'));
      const log = [1, 2, 3].map((s) => JSON.stringify({ current_steps: s, total_steps: 8, loss: 2 / s, lr: 1e-4, epoch: s / 4, percentage: (100 * s) / 8, elapsed_time: '0:00:0' + s, remaining_time: '0:00:10' }));
      log.push(JSON.stringify({ current_steps: 3, total_steps: 8, eval_loss: 1.5, epoch: 0.75, percentage: 37.5, elapsed_time: '0:00:04', remaining_time: '0:00:09' }));
      fs.writeFileSync(path.join(out, 'trainer_log.jsonl'), log.join('\n') + '\n{"current_steps": 4, "tot');
    });
    const r = importRun({ source: jobDir, out: path.join(tempDir(), 'run') });
    expect(r.notes.join('\n')).toContain('took checkpoint-3');
    expect(r.differences.join('\n')).toContain('the log ends at step 3 of 8');
    const ev = lines(path.join(r.runDir, 'metrics.jsonl'));
    expect(ev.filter((e) => e.type === 'step').map((e) => e.loss)).toEqual([2, 1, 2 / 3]);
    expect(ev.find((e) => e.type === 'eval')).toMatchObject({ valLoss: 1.5, step: 3 });
    expect(ev.at(-1)).toMatchObject({ type: 'done', reason: 'interrupted' });
  });
});

describe('import-run: an adapter folder alone, and what it refuses', () => {
  it('compares with --config settings and records the licence from --model', async () => {
    const dir = path.join(tempDir(), 'trained');
    peftAdapter(dir, { r: 4, alpha: 8 });
    fs.writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify(trainerState({ steps: 3, maxSteps: 3, evalEvery: 3, batch: 2 })));
    const yaml = path.join(tempDir(), 'train.yaml');
    fs.writeFileSync(yaml, 'lora_r: 4\nlora_alpha: 8\nlearning_rate: 0.001\n');
    const out = path.join(tempDir(), 'run');
    expect(await run(['import-run', dir, '--model', tinyModelDir(), '--config', yaml, '--out', out])).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as { differences: string[] };
    expect(summary.differences).toEqual(['peak learning rate 0.000200 in the GPU run, 0.001 in the local config']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'licence.json'), 'utf8'))).toHaveProperty('evidence');
    expect(await run(['import-run', dir, '--out', out])).toBe(1); // never into a folder with files
  });

  it('refuses pickle weights, DoRA, embedding factors and an adapter for another model', () => {
    const cases: [AdapterSpec & { bin?: boolean }, RegExp][] = [
      [{ bin: true }, /adapter_model\.bin \(pickle\)/],
      [{ config: { use_dora: true } }, /DoRA/],
      [{ extraTensor: 'base_model.model.model.embed_tokens.lora_embedding_A' }, /not a LoRA factor/],
      [{ config: { modules_to_save: ['lm_head'] } }, /modules_to_save/],
    ];
    for (const [spec, err] of cases) {
      const dir = path.join(tempDir(), 'a');
      peftAdapter(dir, spec);
      if (spec.bin) fs.renameSync(path.join(dir, 'adapter_model.safetensors'), path.join(dir, 'adapter_model.bin'));
      expect(() => importRun({ source: dir, out: path.join(tempDir(), 'run'), model: tinyModelDir() })).toThrow(err);
    }
    const other = path.join(tempDir(), 'b');
    peftAdapter(other);
    const bigger = tinyModelDir({ hidden: 64, heads: 4, kvHeads: 2, intermediate: 96 });
    expect(() => importRun({ source: other, out: path.join(tempDir(), 'run'), model: bigger })).toThrow(/expected \[8, 96\] for this model/);
    expect(() => importRun({ source: tempDir(), out: path.join(tempDir(), 'run') })).toThrow(/expected an adapter/);
  });
});
