// Every family's tiny checkpoint against the PyTorch reference (scripts/reference): logits within 1e-4 abs, loss within
// 1e-5 rel, greedy tokens exact — with full recompute and with the model's cache (keys and values, or recurrent state).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, shiftLabels, type CausalLM } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures');

interface Golden {
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss: number;
  greedy: { prompt: number[]; max_new_tokens: number; tokens: number[] };
}

function argmaxLast(logits: Float32Array, V: number): number {
  let best = 0;
  const off = logits.length - V;
  for (let i = 1; i < V; i++) if (logits[off + i] > logits[off + best]) best = i;
  return best;
}

function greedyRecompute(m: CausalLM, prompt: number[], n: number): number[] {
  const ids = [...prompt];
  for (let i = 0; i < n; i++) {
    const { logits } = noGrad(() => m.forward({ ids: Int32Array.from(ids), batch: 1, seqLen: ids.length, logits: 'last' }));
    ids.push(argmaxLast(logits!.data, m.config.vocabSize));
  }
  return ids.slice(prompt.length);
}

function greedyCached(m: CausalLM, prompt: number[], n: number): number[] {
  const c = m.config;
  const cache = m.createCache(1, prompt.length + n); // per-layer keys and values, or recurrent state (hybrids)
  const out: number[] = [];
  let step = Int32Array.from(prompt);
  for (let i = 0; i < n; i++) {
    const { logits } = noGrad(() => m.forward({ ids: step, batch: 1, seqLen: step.length, cache, logits: 'last' }));
    const next = argmaxLast(logits!.data, c.vocabSize);
    out.push(next);
    step = Int32Array.of(next);
  }
  return out;
}

describe.each(['llama-tiny', 'llama3-tiny', 'llama-linear-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'qwen3-yarn-tiny', 'smollm3-tiny', 'granite-tiny', 'phi3-tiny', 'phi3-mini-tiny', 'falcon-tiny', 'falcon-mq-tiny', 'falcon-alibi-tiny', 'bloom-tiny', 'bloom-postln-tiny', 'qwen3_5-tiny', 'qwen3_5-mm-tiny', 'lfm2-tiny', 'lfm2-bias-tiny'])('%s matches the PyTorch reference', (name) => {
  const dir = join(FIX, name);
  const g = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  const { model } = loadModel(dir);
  const B = g.input_ids.length;
  const T = g.input_ids[0].length;
  const ids = Int32Array.from(g.input_ids.flat());

  it('logits within 1e-4 and loss within 1e-5 relative', () => {
    const targets = shiftLabels(Int32Array.from(g.labels.flat()), B, T);
    const { logits, loss } = noGrad(() => model.forward({ ids, batch: B, seqLen: T, targets, logits: 'all' }));
    let maxDiff = 0;
    for (let i = 0; i < g.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits!.data[i] - g.logits[i]));
    console.log(`${name}: logits max abs diff ${maxDiff.toExponential(2)}, loss ${loss!.item()} vs ${g.loss}`);
    expect(logits!.size).toBe(g.logits.length);
    expect(maxDiff).toBeLessThan(1e-4);
    expect(Math.abs(loss!.item() - g.loss) / g.loss).toBeLessThan(1e-5);
  });

  it('greedy generation equals the reference, with and without the KV cache', () => {
    const { prompt, max_new_tokens: n, tokens } = g.greedy;
    expect(greedyRecompute(model, prompt, n)).toEqual(tokens);
    expect(greedyCached(model, prompt, n)).toEqual(tokens);
  });
});
