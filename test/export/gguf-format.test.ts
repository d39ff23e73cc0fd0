// The GGUF container and block formats without llama.cpp: writer/reader round trip, alignment, what each
// quantized format keeps of the data, Q8_0 and Q4_K on hand-checked blocks, and the q4_k_m type mix.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GGUF_ALIGNMENT, writeGguf } from '../../src/export/gguf-writer.js';
import { readGguf } from '../../src/export/gguf-reader.js';
import { encodeTensor } from '../../src/export/gguf-quants.js';
import { decodeTensor } from '../../src/export/gguf-dequant.js';
import { GgmlType, typeName } from '../../src/export/gguf-types.js';
import { chooseTypes, checkQuantFits, useMoreBits } from '../../src/export/gguf-mix.js';
import { permuteRows } from '../../src/export/gguf-arch.js';
import { Rng } from '../../src/kernels/rng.js';
import { exportGguf } from '../../src/export/gguf-export.js';
import { familyModelDir } from '../helpers/family-model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-gguf-'));

function randomRows(n: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, (_, i) => 0.05 * rng.normal() + (i % 97 === 0 ? 0.4 : 0));
}

function relRmse(x: Float32Array, y: Float32Array): number {
  let e = 0;
  let r = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i] - y[i]) ** 2;
    r += x[i] ** 2;
  }
  return Math.sqrt(e / r);
}

describe('GGUF container', () => {
  it('writes header, metadata and aligned tensors that read back exactly', () => {
    const file = path.join(tmp(), 'a.gguf');
    const w = randomRows(64 * 3);
    writeGguf(file, [
      ['general.architecture', { type: 'string', value: 'llama' }],
      ['llama.block_count', { type: 'u32', value: 2 }],
      ['llama.rope.freq_base', { type: 'f32', value: 500000 }],
      ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
      ['tokenizer.ggml.tokens', { type: 'strings', value: ['a', 'Ġb', '<|im_end|>', '日本'] }],
      ['tokenizer.ggml.token_type', { type: 'i32s', value: [1, 1, 3, 1] }],
    ], [
      { name: 'norm.weight', ne: [5], type: GgmlType.F32, data: () => encodeTensor(GgmlType.F32, Float32Array.from([1, 2, 3, 4, 5]), 5) },
      { name: 'w.weight', ne: [64, 3], type: GgmlType.F16, data: () => encodeTensor(GgmlType.F16, w, 64) },
    ]);
    const g = readGguf(file);
    expect(g.version).toBe(3);
    expect(g.metadata.get('llama.block_count')).toBe(2);
    expect(g.metadata.get('llama.rope.freq_base')).toBe(500000);
    expect(g.metadata.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(g.metadata.get('tokenizer.ggml.tokens')).toEqual(['a', 'Ġb', '<|im_end|>', '日本']);
    expect(g.metadata.get('tokenizer.ggml.token_type')).toEqual([1, 1, 3, 1]);
    for (const t of g.tensors) expect(t.offset % GGUF_ALIGNMENT).toBe(0);
    expect([...decodeTensor(GgmlType.F32, g.read('norm.weight'), 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(relRmse(w, decodeTensor(GgmlType.F16, g.read('w.weight'), w.length))).toBeLessThan(1e-3);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['a.gguf']); // no temp file left
  });

  it('leaves nothing behind when a tensor fails while writing', () => {
    const dir = tmp();
    const file = path.join(dir, 'b.gguf');
    expect(() => writeGguf(file, [], [{ name: 'x', ne: [32], type: GgmlType.F32, data: () => { throw new Error('disk gone'); } }])).toThrow(/disk gone/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('block formats', () => {
  const x = randomRows(256 * 32, 7);
  // what each type keeps of N(0, 0.05) weights with outliers: about its bits' worth, never worse
  const bound: [GgmlType, number][] = [[GgmlType.F16, 1e-3], [GgmlType.BF16, 5e-3], [GgmlType.Q8_0, 1e-2], [GgmlType.Q6_K, 4e-2], [GgmlType.Q5_0, 8e-2], [GgmlType.Q5_1, 8e-2],
    [GgmlType.Q5_K, 6e-2], [GgmlType.Q4_K, 1.2e-1]];
  for (const [t, b] of bound) {
    it(`${typeName(t)} round trip stays within ${b} relative RMS`, () => {
      const bytes = encodeTensor(t, x, 512);
      const err = relRmse(x, decodeTensor(t, bytes, x.length));
      expect(err).toBeLessThan(b);
      expect(err).toBeGreaterThan(0);
    });
  }

  it('Q8_0 stores d = amax / 127 as f16 and rounds halves away from zero', () => {
    const v = new Float32Array(32);
    v[0] = 1.27;
    v[1] = -0.635; // exactly -63.5 steps of 0.01 before f16 rounding of d
    v[2] = 0.004;
    const b = encodeTensor(GgmlType.Q8_0, v, 32);
    expect(b.length).toBe(34);
    const d = decodeTensor(GgmlType.Q8_0, b, 32);
    const q = new Int8Array(b.buffer, 2, 32);
    expect(q[0]).toBe(127);
    expect(Math.abs(q[1])).toBeGreaterThanOrEqual(63);
    expect(q[2]).toBe(0);
    expect(d[0]).toBeCloseTo(1.27, 3);
  });

  it('K-quant blocks of zeros decode to zeros, a constant block to itself', () => {
    for (const t of [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]) {
      expect([...decodeTensor(t, encodeTensor(t, new Float32Array(256), 256), 256)].every((y) => y === 0)).toBe(true);
    }
    const c = new Float32Array(256).fill(0.25);
    const y = decodeTensor(GgmlType.Q4_K, encodeTensor(GgmlType.Q4_K, c, 256), 256);
    expect(Math.max(...y.map((v) => Math.abs(v - 0.25)))).toBeLessThan(0.25 / 63);
  });

  it('refuses a K-quant row that is not a whole number of 256-wide blocks', () => {
    expect(() => encodeTensor(GgmlType.Q4_K, new Float32Array(128 * 2), 128)).toThrow(/multiple of 256/);
  });
});

describe('q4_k_m tensor mix (llama-quantize rules)', () => {
  const L = 16;
  const layer = (i: number, C: number, F: number) => [
    { name: `blk.${i}.attn_norm.weight`, ne: [C] }, { name: `blk.${i}.attn_q.weight`, ne: [C, C] }, { name: `blk.${i}.attn_v.weight`, ne: [C, C / 4] },
    { name: `blk.${i}.ffn_down.weight`, ne: [F, C] }, { name: `blk.${i}.ffn_up.weight`, ne: [C, F] },
  ];

  it('puts Q6_K on the output, on attn_v and ffn_down of use_more_bits layers, Q4_K elsewhere, F32 on norms', () => {
    const tensors = [{ name: 'token_embd.weight', ne: [512, 1000] }, ...Array.from({ length: L }, (_, i) => layer(i, 512, 1536)).flat(),
      { name: 'output_norm.weight', ne: [512] }, { name: 'output.weight', ne: [512, 1000] }];
    const types = new Map(chooseTypes('q4_k_m', tensors).map((c, i) => [tensors[i].name, c.type]));
    expect(types.get('token_embd.weight')).toBe(GgmlType.Q4_K);
    expect(types.get('output.weight')).toBe(GgmlType.Q6_K);
    expect(types.get('output_norm.weight')).toBe(GgmlType.F32);
    const more = Array.from({ length: L }, (_, i) => useMoreBits(i, L));
    expect(more).toEqual([true, true, false, false, true, false, false, true, false, false, true, false, false, true, true, true]);
    for (let i = 0; i < L; i++) {
      expect(types.get(`blk.${i}.attn_v.weight`)).toBe(more[i] ? GgmlType.Q6_K : GgmlType.Q4_K);
      expect(types.get(`blk.${i}.ffn_down.weight`)).toBe(more[i] ? GgmlType.Q6_K : GgmlType.Q4_K);
      expect(types.get(`blk.${i}.attn_q.weight`)).toBe(GgmlType.Q4_K);
      expect(types.get(`blk.${i}.attn_norm.weight`)).toBe(GgmlType.F32);
    }
  });

  it('puts Q5_K on a fused attn_qkv (Q5_1 where 256 does not divide it) and follows Falcon\'s own ffn_down rule', () => {
    const qkv = (i: number, C: number) => ({ name: `blk.${i}.attn_qkv.weight`, ne: [C, 3 * C] });
    expect(chooseTypes('q4_k_m', [qkv(0, 512)])[0]).toEqual({ type: GgmlType.Q5_K });
    expect(chooseTypes('q4_k_m', [qkv(0, 96)])[0]).toEqual({ type: GgmlType.Q5_1, fallbackFrom: GgmlType.Q5_K });
    const n = 32;
    const downs = Array.from({ length: n }, (_, i) => ({ name: `blk.${i}.ffn_down.weight`, ne: [1024, 256] }));
    const falcon = chooseTypes('q4_k_m', downs, 'falcon').map((c) => c.type);
    const llama = chooseTypes('q4_k_m', downs, 'llama').map((c) => c.type);
    for (let i = 0; i < n; i++) {
      // Falcon: Q6_K in the first sixteenth, Q5_K where use_more_bits says, else Q4_K
      expect(falcon[i]).toBe(i < 2 ? GgmlType.Q6_K : useMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K);
      expect(llama[i]).toBe(useMoreBits(i, n) ? GgmlType.Q6_K : GgmlType.Q4_K);
    }
  });

  it('quantizes a tied embedding as the output, and falls back on widths 256 does not divide', () => {
    const tensors = [{ name: 'token_embd.weight', ne: [512, 1000] }, ...layer(0, 512, 1376)];
    const c = chooseTypes('q4_k_m', tensors);
    expect(c[0].type).toBe(GgmlType.Q6_K);
    const down = c[tensors.findIndex((t) => t.name.includes('ffn_down'))];
    expect(down).toEqual({ type: GgmlType.Q8_0, fallbackFrom: GgmlType.Q6_K }); // 1376 = 43 * 32
    expect(chooseTypes('q4_k_m', [{ name: 'blk.0.ffn_up.weight', ne: [288, 64] }])[0]).toEqual({ type: GgmlType.Q5_0, fallbackFrom: GgmlType.Q4_K });
    expect(chooseTypes('q4_k_m', [{ name: 'blk.0.ffn_up.weight', ne: [100, 64] }])[0]).toEqual({ type: GgmlType.F16, fallbackFrom: GgmlType.Q4_K });
    expect(() => checkQuantFits('q4_k_m', 576)).not.toThrow(); // SmolLM2-135M: llama-quantize falls back per tensor
    expect(() => checkQuantFits('q4_k_m', 100)).toThrow(/multiple of 32/);
    expect(() => checkQuantFits('q8_0', 100)).toThrow(/multiple of 32/);
    expect(() => checkQuantFits('f16', 100)).not.toThrow();
  });

  it('f16/bf16/q8_0 keep 1-D tensors and norms in F32', () => {
    const t = [{ name: 'blk.0.attn_q.bias', ne: [64] }, { name: 'blk.0.attn_q_norm.weight', ne: [16] }, { name: 'blk.0.attn_q.weight', ne: [64, 64] }];
    expect(chooseTypes('q8_0', t).map((c) => c.type)).toEqual([GgmlType.F32, GgmlType.F32, GgmlType.Q8_0]);
    expect(chooseTypes('bf16', t).map((c) => c.type)).toEqual([GgmlType.F32, GgmlType.F32, GgmlType.BF16]);
  });
});

describe('tensor order', () => {
  it("is convert_hf_to_gguf's (sorted HF names), and llama-quantize's layer counters follow it", () => {
    const config = { model_type: 'llama', hidden_act: 'silu', hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2,
      num_hidden_layers: 12, vocab_size: 8192, max_position_embeddings: 128, rms_norm_eps: 1e-5, tie_word_embeddings: false, torch_dtype: 'float32' };
    const dir = familyModelDir({ config, tokenizerDir: path.join(import.meta.dirname, '..', '..', 'models', 'shitate-mini') });
    const file = path.join(tmp(), 'order.gguf');
    exportGguf({ model: dir, quant: 'q4_k_m', out: file });
    const g = readGguf(file);
    const v = g.tensors.filter((t) => t.name.endsWith('attn_v.weight'));
    expect(v.map((t) => t.name.split('.')[1])).toEqual(['0', '1', '10', '11', '2', '3', '4', '5', '6', '7', '8', '9']);
    // use_more_bits(i, 12) for the i-th attn_v in file order -> Q6_K, here falling back to Q8_0 (64 wide)
    const more = new Set(v.filter((_, i) => useMoreBits(i, 12)).map((t) => t.name));
    expect([...more].sort()).toEqual(['blk.0.attn_v.weight', 'blk.11.attn_v.weight', 'blk.4.attn_v.weight', 'blk.7.attn_v.weight', 'blk.8.attn_v.weight', 'blk.9.attn_v.weight']);
    for (const t of v) expect(typeName(t.type)).toBe(more.has(t.name) ? 'Q8_0' : 'Q5_0');
    expect(g.tensors[0].name).toBe('output.weight'); // lm_head.weight sorts first
  });
});

describe('q/k permutation for llama-style RoPE', () => {
  it('interleaves the two halves of every head, rows and biases alike', () => {
    const heads = 2;
    const D = 4;
    const width = 3;
    const x = Float32Array.from({ length: heads * D * width }, (_, i) => i);
    const y = permuteRows(x, heads, heads * D, width);
    // head h, pair i, half s: new row h*D + 2i + s = old row h*D + s*D/2 + i
    const rowOf = (a: Float32Array, r: number) => [...a.subarray(r * width, (r + 1) * width)];
    expect(rowOf(y, 1)).toEqual(rowOf(x, 2));
    expect(rowOf(y, 2)).toEqual(rowOf(x, 1));
    expect(rowOf(y, 5)).toEqual(rowOf(x, 6));
    expect([...permuteRows(Float32Array.from([0, 1, 2, 3]), 1, 4, 1)]).toEqual([0, 2, 1, 3]);
  });
});
