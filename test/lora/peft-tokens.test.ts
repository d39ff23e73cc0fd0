// Adapters beyond the projections and their safety checks: PEFT LoRA on lm_head and embed_tokens (PEFT's names,
// with the saved base layers) reproduces the PyTorch reference logits on a tied and an untied model, detaches
// exactly, and merges (a tied base is untied in the merged folder); exact messages for what does not load; an
// `r` that disagrees with the weights is refused with both numbers; a base with another config.json warns.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { attachLora, DEFAULT_LORA, loadAdapter, saveAdapter, BASE_FILE, canonicalConfig, configSha256 } from '../../src/lora/index.js';
import { AdapterBank } from '../../src/serve/adapters.js';
import { noGrad } from '../../src/tensor/index.js';
import { ShitateError } from '../../src/errors.js';
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../helpers/tiny-model.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');

interface TokenGolden { input_ids: number[][]; logits: number[] }

function logitsOf(model: ReturnType<typeof loadModel>['model'], ids: number[][]): Float32Array {
  const flat = Int32Array.from(ids.flat());
  return noGrad(() => model.forward({ ids: flat, batch: ids.length, seqLen: ids[0].length })).logits!.data;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A copy of a fixture folder with some files changed. */
function copyFolder(from: string, edit: (dir: string) => void = () => {}): string {
  const dir = tempDir('shitate-adapter-');
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  edit(dir);
  return dir;
}

function editJson(file: string, f: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  f(o);
  fs.writeFileSync(file, JSON.stringify(o, null, 2));
}

describe.each([['llama-tiny', 'tied'], ['llama3-tiny', 'untied']])('LoRA on lm_head and embed_tokens (%s, %s)', (base) => {
  const golden = JSON.parse(fs.readFileSync(path.join(FIX, `${base}-lora-tokens`, 'token_golden.json'), 'utf8')) as TokenGolden;
  const adapter = path.join(FIX, `${base}-lora-tokens`);

  it('loads as PEFT applies it and reproduces the reference logits; detaching restores the base exactly', () => {
    const { model } = loadModel(path.join(FIX, base));
    const before = logitsOf(model, golden.input_ids);
    const set = loadAdapter(adapter, model, false, { onWarning: (m) => { throw new Error(m); } });
    expect(set.tokens.map((t) => t.module).sort()).toEqual(['embed_tokens', 'lm_head']);
    const diff = maxAbs(logitsOf(model, golden.input_ids), golden.logits);
    console.log(`${base}-lora-tokens: max |logit - reference| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    set.fuse(); // what generation does: the projections fuse, the token matrices are already applied
    expect(maxAbs(logitsOf(model, golden.input_ids), golden.logits)).toBeLessThan(1e-4);
    set.detach();
    expect(maxAbs(logitsOf(model, golden.input_ids), before)).toBeLessThan(1e-5);
  });

  it('merges into a folder that reproduces the reference logits', async () => {
    const out = path.join(tempDir('shitate-merge-tokens-'), 'merged');
    const r = await runCli(['merge', '--model', path.join(FIX, base), '--adapter', adapter, '--out', out, '--dtype', 'f32']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('and LoRA on embed_tokens and lm_head');
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { tie_word_embeddings: boolean };
    expect(config.tie_word_embeddings).toBe(false);
    if (base === 'llama-tiny') expect(r.stderr).toContain('tie_word_embeddings false');
    expect(maxAbs(logitsOf(loadModel(out).model, golden.input_ids), golden.logits)).toBeLessThan(1e-4);
  });
});

describe('what does not load, said exactly', () => {
  it('refuses training or resuming LoRA on the token matrices, and the server cannot switch them per request', () => {
    const { model } = loadModel(path.join(FIX, 'llama-tiny'));
    expect(() => attachLora(model, { ...DEFAULT_LORA, targetModules: ['q_proj', 'lm_head'] })).toThrow(/does not train LoRA on the embedding or the LM head/);
    expect(() => loadAdapter(path.join(FIX, 'llama-tiny-lora-tokens'), model, true)).toThrow(/does not train them/);
    const bank = new AdapterBank(model);
    expect(() => bank.load('t', path.join(FIX, 'llama-tiny-lora-tokens'))).toThrow(/cannot switch per request[\s\S]*/);
    expect(model.linears().every((l) => l.adapter === null)).toBe(true);
  });

  it('names a module this model lacks, or a layer past its depth, instead of blaming the base', () => {
    const { model } = loadModel(path.join(FIX, 'llama-tiny'));
    const rename = (from: string, to: string) => copyFolder(path.join(FIX, 'llama-tiny-lora'), (dir) => {
      const file = path.join(dir, 'adapter_model.safetensors');
      const buf = fs.readFileSync(file);
      fs.writeFileSync(file, Buffer.from(buf.toString('latin1').split(from).join(to), 'latin1'));
    });
    const err = (dir: string) => { try { loadAdapter(dir, model); } catch (e) { return e as ShitateError; } return null; };
    // same byte length keeps the safetensors header valid
    const vision = err(rename('model.layers.1.self_attn.q_proj', 'vision.blocks.1.attn.qkv_proj.xx'));
    expect(vision?.message).toMatch(/"vision\.blocks\.1\.attn\.qkv_proj\.xx", which is not a layer of this model: LoRA loads here on q_proj, k_proj/);
    const deeper = err(rename('model.layers.1.', 'model.layers.7.'));
    expect(deeper?.message).toContain('but this model has 2 layers (0-1)');
  });

  it('refuses an r that disagrees with the weights, with both numbers', () => {
    const dir = copyFolder(path.join(FIX, 'llama-tiny-lora'), (d) => editJson(path.join(d, 'adapter_config.json'), (o) => { o.r = 8; }));
    const { model } = loadModel(path.join(FIX, 'llama-tiny'));
    expect(() => loadAdapter(dir, model)).toThrow(/adapter_config\.json says r = 8 for "model\.layers\.\d\.[a-z_.]+", but lora_A \/ lora_B of "model\.layers\.\d\.[a-z_.]+" in .* have rank 4/);
  });
});

describe('the base an adapter belongs to', () => {
  function savedAdapter(): string {
    const baseDir = path.join(FIX, 'llama-tiny');
    const { model } = loadModel(baseDir);
    const set = attachLora(model, DEFAULT_LORA, 1);
    const dir = tempDir('shitate-adapter-base-');
    saveAdapter(dir, set, baseDir);
    return dir;
  }

  it('records the base name and a hash of its config.json beside the PEFT files, not inside them', () => {
    const dir = savedAdapter();
    const rec = JSON.parse(fs.readFileSync(path.join(dir, BASE_FILE), 'utf8')) as { base_model_name_or_path: string; config_sha256: string };
    const config = JSON.parse(fs.readFileSync(path.join(FIX, 'llama-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(rec.base_model_name_or_path).toBe(path.join(FIX, 'llama-tiny'));
    expect(rec.config_sha256).toBe(configSha256(canonicalConfig(config)));
    // adapter_config.json keeps PEFT's own keys only, so PEFT loads it without an unexpected-key warning
    const peft = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(peft).filter((k) => k.includes('sha') || k.includes('hash'))).toEqual([]);
  });

  it('warns when loading or merging onto a base of the same shape with another config, not onto a re-saved copy', async () => {
    const dir = savedAdapter();
    const other = copyFolder(path.join(FIX, 'llama-tiny'), (d) => editJson(path.join(d, 'config.json'), (o) => { o.rope_theta = 500000; o.eos_token_id = 3; }));
    const same = copyFolder(path.join(FIX, 'llama-tiny'), (d) => editJson(path.join(d, 'config.json'), (o) => { o.transformers_version = '5.0.0'; o.torch_dtype = 'bfloat16'; }));
    const warnings = (baseDir: string) => {
      const got: string[] = [];
      loadAdapter(dir, loadModel(baseDir).model, false, { baseDir, onWarning: (m) => got.push(m) }).detach();
      return got;
    };
    expect(warnings(same)).toEqual([]);
    const w = warnings(other);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(`was trained on ${path.join(FIX, 'llama-tiny')}`);
    expect(w[0]).toContain('eos_token_id 2 -> 3; rope_theta 10000 -> 500000');
    const r = await runCli(['merge', '--model', other, '--adapter', dir, '--out', path.join(tempDir('shitate-merge-'), 'm')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: adapter .* was trained on .*rope_theta 10000 -> 500000/);
  });
});
