// vLLM's adapter rules (vllm-check.ts), the vLLM bundle (serve.sh with every adapter of a project as
// --lora-modules and shitate's chat template), and export-job through the CLI.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { checkVllmAdapter, vllmAdapterProblems, vllmMaxLoraRank, VLLM_MAX_LORA_RANKS } from '../../src/export/vllm-check.js';
import { buildVllmBundle, projectAdapters } from '../../src/export/jobs/vllm.js';
import { tempDir, tinyModelDir } from '../helpers/tiny-model.js';
import { faqFile, peftAdapter } from './job-helpers.js';

const CLEAN = { peft_type: 'LORA', r: 16, lora_alpha: 32, bias: 'none', use_dora: false, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, target_modules: ['q_proj', 'v_proj'] };
const NAMES = ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
  'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight', 'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight'];
const rules = (cfg: Record<string, unknown>, names = NAMES) => vllmAdapterProblems(cfg, names).map((p) => p.rule);

describe('vLLM adapter rules', () => {
  it('--max-lora-rank: the smallest of vLLM\'s allowed values that holds the rank', () => {
    expect(VLLM_MAX_LORA_RANKS).toEqual([1, 8, 16, 32, 64, 128, 256, 320, 512]);
    expect([1, 2, 8, 9, 16, 300, 320, 512, 513].map(vllmMaxLoraRank)).toEqual([1, 8, 8, 16, 16, 320, 320, 512, null]);
  });

  it('accepts plain LoRA on the projections and names each refusal', () => {
    expect(rules(CLEAN)).toEqual([]);
    expect(rules({ ...CLEAN, r: 640 })).toEqual(['rank']);
    expect(rules({ ...CLEAN, use_dora: true })).toEqual(['dora']);
    expect(rules({ ...CLEAN, modules_to_save: ['lm_head'] })).toEqual(['modules_to_save']);
    expect(rules({ ...CLEAN, bias: 'lora_only' })).toEqual(['bias']);
    expect(rules({ ...CLEAN, rank_pattern: { q_proj: 4 } })).toEqual(['pattern']);
    expect(rules({ ...CLEAN, peft_type: 'IA3' })).toEqual(['peft_type']);
    expect(rules(CLEAN, [...NAMES, 'base_model.model.model.embed_tokens.lora_embedding_A'])).toEqual(['embedding']);
    expect(rules(CLEAN, [...NAMES, 'base_model.model.lm_head.lora_A.weight'])).toEqual(['embedding']);
    expect(rules(CLEAN, [...NAMES, 'base_model.model.model.layers.0.mlp.fc1.lora_A.weight'])).toEqual(['module']);
  });

  it('reads an adapter folder: an engine\'s PEFT save passes, a pickle-only one does not', () => {
    const ok = path.join(tempDir(), 'ok');
    peftAdapter(ok);
    expect(checkVllmAdapter(ok)).toEqual({ rank: 8, problems: [] });
    fs.renameSync(path.join(ok, 'adapter_model.safetensors'), path.join(ok, 'adapter_model.bin'));
    expect(checkVllmAdapter(ok).problems.map((p) => p.rule)).toEqual(['weights']);
  });
});

describe('vLLM bundle', () => {
  it('serves every adapter of a project with the model\'s chat template', () => {
    const runs = tempDir();
    peftAdapter(path.join(runs, 'faq', 'adapter'));
    peftAdapter(path.join(runs, 'support', 'adapter'), { r: 12, alpha: 24 });
    fs.mkdirSync(path.join(runs, 'not-a-run'));
    const adapters = projectAdapters(runs);
    expect(adapters.map((a) => a.name)).toEqual(['faq', 'support']);
    const b = buildVllmBundle({ model: tinyModelDir(), remoteModel: 'acme/tiny', adapters, gpus: 2, port: 8001 });
    const sh = b.files['serve.sh'] as string;
    expect(sh).toContain('MODEL="${MODEL:-acme/tiny}"');
    expect(sh).toContain('--lora-modules faq=adapters/faq support=adapters/support');
    expect(sh).toContain('--max-lora-rank 16'); // r 12 needs the next allowed value
    expect(sh).toContain('--max-loras 2');
    expect(sh).toContain('--chat-template ./chat_template.jinja');
    expect(sh).toContain('--tensor-parallel-size 2');
    expect(sh).toContain('--port 8001');
    expect(b.files['chat_template.jinja']).toContain('<|im_start|>');
    expect(Buffer.from(b.files['adapters/support/adapter_model.safetensors'] as Uint8Array))
      .toEqual(fs.readFileSync(path.join(runs, 'support', 'adapter', 'adapter_model.safetensors')));
    expect(b.modes['serve.sh']).toBe(0o755);
  });

  it('refuses adapters vLLM cannot serve, naming each', () => {
    const runs = tempDir();
    peftAdapter(path.join(runs, 'good'));
    peftAdapter(path.join(runs, 'dora'), { config: { use_dora: true } });
    expect(() => buildVllmBundle({ model: tinyModelDir(), adapters: projectAdapters(runs), gpus: 1, port: 8000 })).toThrow(/dora \(.*\): use_dora is true/);
  });
});

describe('shitate export-job', () => {
  it('writes an hf job for 2 GPUs, then a vLLM bundle, and never writes into a folder with files', async () => {
    const out = path.join(tempDir(), 'job');
    const args = ['export-job', '--engine', 'hf', '--model', tinyModelDir(), '--data', faqFile(), '--gpus', '2', '--gpu', 'a100-80', '--lora-r', '16', '--out', out];
    expect(await run(args)).toBe(0);
    for (const f of ['train.py', 'requirements.txt', 'chat_template.jinja', 'data/train.jsonl', 'data/val.jsonl', 'job.json', 'README.md', 'deepspeed/zero2.json']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(fs.statSync(path.join(out, 'train.py')).mode & 0o111).not.toBe(0);
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(readme).toContain('torchrun --nproc_per_node 2 train.py');
    expect(readme).toMatch(/peak allocated \(torch\.cuda\.max_memory_allocated\) \| \d+\.\d\d GiB/);
    expect(readme).toContain('NVIDIA A100 80GB');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'job.json'), 'utf8'))).toMatchObject({ engine: 'hf', config: { loraR: 16 }, plan: { gpus: 2, strategy: 'zero2' } });
    expect(await run(args)).toBe(1);
    expect(await run([...args.slice(0, -1), path.join(tempDir(), 'x'), '--engine', 'nope'])).toBe(2);
    expect(await run([...args.slice(0, -1), path.join(tempDir(), 'x'), '--gpu', 'tpu'])).toBe(2);

    const runs = tempDir();
    peftAdapter(path.join(runs, 'faq', 'adapter'));
    const served = path.join(tempDir(), 'serve');
    expect(await run(['export-job', '--engine', 'vllm', '--model', tinyModelDir(), '--runs', runs, '--out', served])).toBe(0);
    expect(fs.statSync(path.join(served, 'serve.sh')).mode & 0o111).not.toBe(0);
    expect(fs.existsSync(path.join(served, 'adapters/faq/adapter_config.json'))).toBe(true);
  });
});
