// `shitate train` and `shitate merge` through the CLI's own entry (flags, YAML config, env), then the merged
// folder loads as a plain model whose logits equal base + adapter.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { loadModel } from '../../src/models/index.js';
import { loadAdapter } from '../../src/lora/index.js';
import { noGrad } from '../../src/tensor/index.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';

const rows = Array.from({ length: 12 }, (_, i) => ({
  messages: [{ role: 'user', content: `Question ${i % 4}?` }, { role: 'assistant', content: `Answer number ${i % 4}.` }],
}));

describe('shitate train + merge', () => {
  it('trains from flags + YAML + env, saves the resolved config, and merges into an equivalent model', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), rows);
    const yaml = path.join(dir, 'train.yaml');
    fs.writeFileSync(yaml, 'learning_rate: 0.02\nlora_r: 4\nepochs: 2\nprecision: bf16\n');
    const out = path.join(dir, 'run');
    process.env.SHITATE_LORA_ALPHA = '8';
    try {
      const code = await run(['train', '--model', tinyModelDir(), '--data', data, '--config', yaml, '--out', out, '--max-steps', '6', '--batch-tokens', '256']);
      expect(code).toBe(0);
    } finally {
      delete process.env.SHITATE_LORA_ALPHA;
    }
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { config: Record<string, unknown>; sources: Record<string, string> };
    expect(saved.config).toMatchObject({ learningRate: 0.02, loraR: 4, loraAlpha: 8, maxSteps: 6, precision: 'bf16' });
    expect(saved.sources).toMatchObject({ precision: 'file', learningRate: 'file', loraAlpha: 'env', maxSteps: 'flag', seed: 'default' });
    const peft = JSON.parse(fs.readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(peft).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM' });

    const merged = path.join(dir, 'merged');
    expect(await run(['merge', '--model', tinyModelDir(), '--adapter', path.join(out, 'adapter'), '--out', merged])).toBe(0);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) expect(fs.existsSync(path.join(merged, f)), f).toBe(true);
    const ids = Int32Array.from([5, 9, 17, 33, 2, 8]);
    const a = loadModel(tinyModelDir());
    loadAdapter(path.join(out, 'adapter'), a.model);
    const withAdapter = noGrad(() => a.model.forward({ ids, batch: 1, seqLen: ids.length }).logits!.data);
    const m = loadModel(merged);
    const fused = noGrad(() => m.model.forward({ ids, batch: 1, seqLen: ids.length }).logits!.data);
    let diff = 0;
    for (let i = 0; i < fused.length; i++) diff = Math.max(diff, Math.abs(fused[i] - withAdapter[i]));
    expect(diff).toBeLessThan(1e-4);
    // the output folder is never overwritten
    expect(await run(['merge', '--model', tinyModelDir(), '--adapter', path.join(out, 'adapter'), '--out', merged])).toBe(1);
  });

  it('refuses to start a second run in an existing run folder, and explains how to resume', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), rows);
    const out = path.join(dir, 'run');
    expect(await run(['train', '--model', tinyModelDir(), '--data', data, '--out', out, '--max-steps', '2'])).toBe(0);
    expect(await run(['train', '--model', tinyModelDir(), '--data', data, '--out', out, '--max-steps', '2'])).toBe(1);
    expect(await run(['train', '--resume', out])).toBe(0);
    expect(await run(['train', '--model', tinyModelDir()])).toBe(2);
    expect(await run(['train', '--model', tinyModelDir(), '--data', data, '--out', path.join(dir, 'r2'), '--precision', 'fp16'])).toBe(1); // E_CONFIG, like any bad setting
  });

  it('gates commercial use on the model licence: unknown needs --accept-licence, non-commercial is blocked', async () => {
    const dir = tempDir();
    const data = writeJsonl(path.join(dir, 'train.jsonl'), rows);
    const base = ['train', '--model', tinyModelDir(), '--data', data, '--max-steps', '1', '--purpose', 'commercial'];
    expect(await run([...base, '--out', path.join(dir, 'a')])).toBe(1);
    expect(fs.existsSync(path.join(dir, 'a', 'checkpoints'))).toBe(false);
    expect(await run([...base, '--out', path.join(dir, 'b'), '--accept-licence'])).toBe(0);
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'b', 'licence.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(rec)).toMatch(/commercial/);
    const nc = path.join(dir, 'nc-model');
    fs.cpSync(tinyModelDir(), nc, { recursive: true });
    fs.writeFileSync(path.join(nc, 'README.md'), '---\nlicense: cc-by-nc-4.0\n---\n# a research model\n');
    expect(await run(['train', '--model', nc, '--data', data, '--max-steps', '1', '--purpose', 'commercial', '--accept-licence', '--out', path.join(dir, 'c')])).toBe(1);
    expect(await run(['merge', '--model', nc, '--adapter', path.join(dir, 'b', 'adapter'), '--out', path.join(dir, 'm'), '--purpose', 'commercial', '--accept-licence'])).toBe(1);
    expect(await run(['merge', '--model', nc, '--adapter', path.join(dir, 'b', 'adapter'), '--out', path.join(dir, 'm'), '--purpose', 'research'])).toBe(0);
  });
});
