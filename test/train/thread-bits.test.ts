// LoRA training gives the same adapter bits on 1 and 8 threads, in float32 and bf16, on the families whose shapes
// reach the kernels' other paths at 8 threads: multi-query attention (Falcon, one kv head: attention's backward in two
// passes), Gemma 3 and 4 (sliding windows, soft caps), the hybrid families (delta rule, short convolution). Every
// sum in the step is ordered by the shape alone; the build before this test differed on the first three in float32.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { attachLora } from '../../src/lora/index.js';
import { adamwUpdate, backward, setComputePrecision, withStepPool } from '../../src/tensor/index.js';
import { nativeBenchHooks } from '../../src/kernels/native.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const hooks = nativeBenchHooks();
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'query_key_value', 'dense',
  'dense_h_to_4h', 'dense_4h_to_h', 'in_proj', 'out_proj', 'w1', 'w2', 'w3'];

/** Three AdamW steps of LoRA on a fixed batch (3 rows of 70 tokens) at `threads`: the losses and the adapter's bits. */
function train(dir: string, threads: number): { losses: number[]; bits: number[][] } {
  hooks!.setThreads(threads);
  const { model } = loadModel(dir);
  const lora = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: TARGETS, useRslora: false }, 1);
  lora.setTraining(true, 1);
  const params = lora.params().map((p) => ({ t: p.tensor, m: new Float32Array(p.tensor.size), v: new Float32Array(p.tensor.size) }));
  const [B, T] = [3, 70];
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % 256); // every fixture here has at least 256 tokens
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 104729 + 5) % 256);
  const losses: number[] = [];
  for (let step = 1; step <= 3; step++) {
    for (const p of params) p.t.grad = null;
    withStepPool(() => {
      const { loss } = model.forward({ ids, batch: B, seqLen: T, targets });
      losses.push(loss!.item());
      backward(loss!);
    });
    for (const p of params) adamwUpdate(p.t, p.m, p.v, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, step);
  }
  return { losses, bits: params.map((p) => Array.from(new Uint32Array(Float32Array.from(p.t.data).buffer))) };
}

describe.skipIf(!hooks)('LoRA training on any thread count', () => {
  it.each([
    ['falcon-mq-tiny', 'fp32'], ['gemma3-tiny', 'fp32'], ['gemma4-tiny', 'fp32'], ['qwen3_5-tiny', 'fp32'], ['lfm2-tiny', 'fp32'],
    ['falcon-mq-tiny', 'bf16'], ['gemma3-tiny', 'bf16'], ['qwen3_5-tiny', 'bf16'],
  ] as const)('%s, %s: the same losses and adapter bits on 1 and 8 threads', (name, precision) => {
    const before = hooks!.info().threads;
    const was = setComputePrecision(precision);
    try {
      const dir = path.join(FIX, name);
      const one = train(dir, 1);
      const eight = train(dir, 8);
      expect(eight.losses).toEqual(one.losses);
      one.bits.forEach((b, i) => expect(eight.bits[i], `adapter tensor ${i}`).toEqual(b));
    } finally {
      setComputePrecision(was);
      hooks!.setThreads(before);
    }
  });
});
