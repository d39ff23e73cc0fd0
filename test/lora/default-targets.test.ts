// The default LoRA targets (the seven Llama projections) on models whose projections are fused or named otherwise:
// they resolve to every projection of that model, written under its own module names, while any other list (and
// the default on Llama-shaped models) is used as given.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { DEFAULT_LORA, attachLora, loraConfigToPeft } from '../../src/lora/index.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const config = { ...DEFAULT_LORA, dropout: 0 };
const kinds = (names: Iterable<string>) => [...new Set([...names].map((n) => n.split('.').pop()))];

describe('default LoRA targets', () => {
  it.each([
    ['phi3-tiny', ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']],
    ['falcon-tiny', ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h']],
    ['bloom-tiny', ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h']],
    ['llama-tiny', DEFAULT_LORA.targetModules],
    // hybrids: the seven exist in the attention layers only; the linear-attention and short-conv projections join them
    ['qwen3_5-tiny', ['out_proj', 'in_proj_qkv', 'in_proj_z', 'in_proj_b', 'in_proj_a', 'gate_proj', 'up_proj', 'down_proj', 'q_proj', 'k_proj', 'v_proj', 'o_proj']],
    ['lfm2-tiny', ['in_proj', 'out_proj', 'w1', 'w3', 'w2', 'q_proj', 'k_proj', 'v_proj']],
  ])('%s: every attention and MLP projection', (name, want) => {
    const { model } = loadModel(path.join(FIX, name));
    const set = attachLora(model, config);
    expect(kinds(set.layers.keys())).toEqual(want);
    expect(set.layers.size).toBe(model.linears().length);
    expect(loraConfigToPeft(set.config, name).target_modules).toEqual(want);
  });

  it('an explicit list is PEFT\'s: matching names only, and none is an error', () => {
    const { model } = loadModel(path.join(FIX, 'phi3-tiny'));
    expect(kinds(attachLora(model, { ...config, targetModules: ['o_proj', 'down_proj'] }).layers.keys())).toEqual(['o_proj', 'down_proj']);
    const falcon = loadModel(path.join(FIX, 'falcon-tiny')).model;
    expect(() => attachLora(falcon, { ...config, targetModules: ['q_proj', 'v_proj'] })).toThrow(expect.objectContaining({
      code: 'E_CONFIG', hint: expect.stringContaining('query_key_value'),
    }));
  });
});
