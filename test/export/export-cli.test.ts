// `shitate export` through the real CLI: a GGUF with its Modelfile and the ollama create line, the GGUF LoRA, the
// vLLM check with its serve line (and its refusals), `train`'s note about settings vLLM cannot load, and usage errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../../src/export/gguf-reader.js';
import { VLLM_DEFAULT_MAX_LORA_RANK, vllmRankVerdict, vllmServeLine, vllmTrainNotes } from '../../src/export/vllm-check.js';
import { runCli } from '../cli/run-cli.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MINI = path.join(ROOT, 'models', 'shitate-mini');
const LORA = path.join(ROOT, 'test', 'fixtures', 'llama-tiny-lora');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-export-cli-'));

/** A copy of an adapter folder with adapter_config.json changed. */
function adapterWith(change: Record<string, unknown>): string {
  const dir = tmp();
  for (const f of fs.readdirSync(LORA)) fs.copyFileSync(path.join(LORA, f), path.join(dir, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, ...change }));
  return dir;
}

describe('shitate export --format gguf', () => {
  it('writes the GGUF and its Modelfile and prints how to create the Ollama model', async () => {
    const dir = tmp();
    const out = path.join(dir, 'mini.gguf');
    const r = await runCli(['export', '--model', MINI, '--format', 'gguf', '--quant', 'q8_0', '--out', out, '--ollama', '--system', 'ACMEの窓口です。']);
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stdout).toContain(`ollama create mini -f ${path.join(dir, 'mini.Modelfile')}`);
    const mf = fs.readFileSync(path.join(dir, 'mini.Modelfile'), 'utf8');
    expect(mf).toMatch(/^FROM \.\/mini\.gguf$/m);
    expect(mf).toContain('PARAMETER stop "<|im_end|>"');
    expect(mf).toContain('SYSTEM """ACMEの窓口です。"""');
    expect(mf).toContain('PARAMETER num_ctx 512');
    const g = readGguf(out);
    expect(g.metadata.get('general.architecture')).toBe('llama');
    expect(g.metadata.get('general.file_type')).toBe(7);
    // an existing file is not replaced without --force
    const again = await runCli(['export', '--model', MINI, '--format', 'gguf', '--quant', 'q8_0', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('E_OUT_EXISTS');
  });

  it('writes a GGUF LoRA adapter', async () => {
    const out = path.join(tmp(), 'lora.gguf');
    const r = await runCli(['export', '--model', path.join(ROOT, 'test', 'fixtures', 'llama-tiny'), '--adapter', LORA, '--format', 'gguf-lora', '--out', out]);
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/LoRA adapter, \d+ layers, rank 4/);
    const g = readGguf(out);
    expect(g.metadata.get('adapter.type')).toBe('lora');
    expect(g.tensors.some((t) => t.name === 'blk.0.attn_q.weight.lora_a')).toBe(true);
  });

  it('says what is missing or wrong in the flags', async () => {
    const none = await runCli(['export', '--model', MINI]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--format gguf, --format gguf-lora or --check vllm is required');
    const q = await runCli(['export', '--model', MINI, '--format', 'gguf', '--quant', 'q3_k', '--out', path.join(tmp(), 'x.gguf')]);
    expect(q.code).toBe(2);
    expect(q.stderr).toContain('--quant must be one of f32, f16, bf16, q8_0, q4_k_m');
  });
});

describe('shitate export --check vllm', () => {
  it('passes a plain LoRA adapter and prints the vllm serve line', async () => {
    const r = await runCli(['export', '--check', 'vllm', '--adapter', LORA, '--model', 'meta-llama/Llama-3.2-1B']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vLLM loads');
    expect(r.stdout).toContain(`vllm serve meta-llama/Llama-3.2-1B --enable-lora --lora-modules llama-tiny-lora=${LORA} --max-lora-rank 16`);
  });

  it('lists every reason vLLM would refuse an adapter', async () => {
    const bad = adapterWith({ use_dora: true, r: 1024, modules_to_save: ['lm_head'] });
    const r = await runCli(['export', '--check', 'vllm', '--adapter', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('vLLM will not load');
    for (const what of ['DoRA', 'modules_to_save', 'above vLLM\'s largest --max-lora-rank (512)']) expect(r.stdout).toContain(what);
  });

  it("checks the rank against the server's --max-lora-rank when told, else notes vLLM's default", async () => {
    const r32 = adapterWith({ r: 32 });
    const told = await runCli(['export', '--check', 'vllm', '--adapter', r32, '--max-lora-rank', '16']);
    expect(told.code).toBe(1);
    expect(told.stdout).toContain("r 32 is above the server's --max-lora-rank 16");
    const untold = await runCli(['export', '--check', 'vllm', '--adapter', r32]);
    expect(untold.code).toBe(0);
    expect(untold.stdout).toContain(`above vLLM's default --max-lora-rank ${VLLM_DEFAULT_MAX_LORA_RANK}`);
    expect(untold.stdout).toContain('--max-lora-rank 32');
  });
});

describe('vLLM rules in one place', () => {
  it('rank verdicts and serve lines', () => {
    expect(vllmRankVerdict(8, null)).toEqual({ problem: null, note: null });
    expect(vllmRankVerdict(20, null).note).toContain('--max-lora-rank 32');
    expect(vllmRankVerdict(20, 64)).toEqual({ problem: null, note: null });
    expect(vllmRankVerdict(300, 256).problem?.hint).toContain('--max-lora-rank 320');
    expect(vllmServeLine('Qwen/Qwen2.5-0.5B-Instruct', 'faq', '/runs/my run/adapter', 64))
      .toBe("vllm serve Qwen/Qwen2.5-0.5B-Instruct --enable-lora --lora-modules 'faq=/runs/my run/adapter' --max-lora-rank 64");
  });

  it('train notes the settings that make an adapter vLLM cannot load as it is', () => {
    const base = { method: 'lora', loraR: 8, loraAlpha: 16, targetModules: ['q_proj', 'v_proj'], useRslora: false };
    expect(vllmTrainNotes(base)).toEqual([]);
    expect(vllmTrainNotes({ ...base, targetModules: ['all-linear'] })).toEqual([]);
    expect(vllmTrainNotes({ ...base, method: 'full', loraR: 4096 })).toEqual([]);
    expect(vllmTrainNotes({ ...base, loraR: 64 }).join('\n')).toContain('--max-lora-rank 64');
    expect(vllmTrainNotes({ ...base, loraR: 1024 }).join('\n')).toContain("vLLM will not load this adapter: r 1024 is above vLLM's largest");
    expect(vllmTrainNotes({ ...base, targetModules: ['q_proj', 'embed_tokens'] }).join('\n')).toContain('embedding or LM head');
  });
});
