// PEFT's rank_pattern and alpha_pattern (an adapter written by PEFT 0.21 with {q_proj: 2, down_proj: 8} ranks and
// {v_proj: 3, model.layers.1.mlp.up_proj: 20} alphas; its logits are checked in test/models/hf-golden.test.ts):
// each module gets its own r and alpha as PEFT's get_pattern_key picks them, saving keeps the patterns, and what
// cannot carry them says so.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { ADAPTER_CONFIG, loadAdapter, saveAdapter } from '../../src/lora/index.js';
import { moduleLora, type LoraConfig } from '../../src/lora/config.js';
import { exportGgufLora } from '../../src/export/gguf-lora.js';
import { noGrad } from '../../src/tensor/index.js';
import { expectShitateError, tempDir } from '../io/helpers.js';

const HF = path.join(import.meta.dirname, '..', 'fixtures', 'hf');
const BASE = path.join(HF, 'llama-patterns');
const ADAPTER = path.join(HF, 'llama-patterns-lora');
const ids = Int32Array.from([5, 17, 42, 9, 3, 77, 120]);

function logits(adapter: string): Float32Array {
  const { model } = loadModel(BASE);
  loadAdapter(adapter, model);
  return noGrad(() => model.forward({ ids, batch: 1, seqLen: ids.length, logits: 'all' })).logits!.data;
}

describe('rank_pattern and alpha_pattern', () => {
  it('match module paths as PEFT does: the whole path or its last components, first key first', () => {
    const c: LoraConfig = { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false,
      rankPattern: { q_proj: 2, 'layers\\.1\\..*proj': 6 }, alphaPattern: { 'model.layers.1.mlp.up_proj': 20 } };
    expect(moduleLora(c, 'model.layers.0.self_attn.q_proj')).toEqual({ r: 2, alpha: 8 });
    expect(moduleLora(c, 'model.layers.1.self_attn.q_proj')).toEqual({ r: 2, alpha: 8 }); // q_proj is listed first
    expect(moduleLora(c, 'model.layers.1.mlp.up_proj')).toEqual({ r: 6, alpha: 20 });
    expect(moduleLora(c, 'model.layers.0.mlp.up_proj')).toEqual({ r: 4, alpha: 8 });
    expect(moduleLora(c, 'model.layers.0.self_attn.xq_proj')).toEqual({ r: 4, alpha: 8 }); // not a whole component
  });

  it('give each layer its own rank and scaling', () => {
    const { model } = loadModel(BASE);
    const set = loadAdapter(ADAPTER, model);
    const layer = (n: string) => set.layers.get(n)!;
    expect(layer('model.layers.0.self_attn.q_proj').A.shape[0]).toBe(2);
    expect(layer('model.layers.0.mlp.down_proj').A.shape[0]).toBe(8);
    expect(layer('model.layers.0.self_attn.k_proj').scaling).toBe(2);
    expect(layer('model.layers.0.self_attn.q_proj').scaling).toBe(4); // alpha 8 over rank 2
    expect(layer('model.layers.1.self_attn.v_proj').scaling).toBe(0.75);
    expect(layer('model.layers.1.mlp.up_proj').scaling).toBe(5);
    expect(layer('model.layers.0.mlp.up_proj').scaling).toBe(2);
  });

  it('are kept when the adapter is saved again', () => {
    const { model } = loadModel(BASE);
    const set = loadAdapter(ADAPTER, model);
    const dir = tempDir('shitate-patterns-');
    saveAdapter(dir, set, BASE);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    const src = JSON.parse(fs.readFileSync(path.join(ADAPTER, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    expect(cfg.rank_pattern).toEqual(src.rank_pattern);
    expect(cfg.alpha_pattern).toEqual(src.alpha_pattern);
    expect(Array.from(logits(dir))).toEqual(Array.from(logits(ADAPTER)));
  });

  it('refuse what they cannot be: a rank that is not a positive integer, an alpha per module in a GGUF adapter', () => {
    const bad = tempDir('shitate-patterns-');
    for (const f of fs.readdirSync(ADAPTER)) fs.copyFileSync(path.join(ADAPTER, f), path.join(bad, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(ADAPTER, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(bad, ADAPTER_CONFIG), JSON.stringify({ ...cfg, rank_pattern: { q_proj: 2.5 } }));
    expectShitateError(() => loadAdapter(bad, loadModel(BASE).model), 'E_ADAPTER', 'rank_pattern', 'q_proj');
    expectShitateError(() => exportGgufLora({ model: BASE, adapter: ADAPTER, out: path.join(bad, 'x.gguf') }), 'E_ADAPTER', 'alpha_pattern', 'llama.cpp');
  });
});
