// Phi-3, Falcon and BLOOM through the KV cache and with packed sequences: every decode step's logits equal the full
// recompute's (Phi-3's LongRoPE crossing original_max_position_embeddings included, where the cache is rebuilt on
// the long factors), rows of a batch decode independently, and two sequences packed in one row (segments, restarted
// positions) give the logits each gives alone — ALiBi and sliding windows included; the summed target
// log-probabilities preference training asks for agree with the logits.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, type CausalLM } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const NAMES = ['phi3-tiny', 'phi3-mini-tiny', 'falcon-tiny', 'falcon-mq-tiny', 'falcon-alibi-tiny', 'bloom-tiny', 'bloom-postln-tiny'];

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function lastLogits(m: CausalLM, ids: number[]): Float32Array {
  return noGrad(() => m.forward({ ids: Int32Array.from(ids), batch: 1, seqLen: ids.length, logits: 'last' })).logits!.data;
}

/** Prompt ids of a fixture's golden greedy run (5 tokens) followed by its 10 greedy tokens. */
function sequence(name: string): number[] {
  const g = JSON.parse(fs.readFileSync(path.join(FIX, name, 'golden.json'), 'utf8')) as { greedy: { prompt: number[]; tokens: number[] } };
  return [...g.greedy.prompt, ...g.greedy.tokens];
}

describe.each(NAMES)('%s', (name) => {
  const { model } = loadModel(path.join(FIX, name));
  const seq = sequence(name);

  it('every cached decode step gives the logits of a full recompute', () => {
    const cache = model.createCache(1, seq.length);
    let worst = 0;
    const first = noGrad(() => model.forward({ ids: Int32Array.from(seq.slice(0, 5)), batch: 1, seqLen: 5, cache, logits: 'last' }));
    worst = Math.max(worst, maxAbs(first.logits!.data, lastLogits(model, seq.slice(0, 5))));
    for (let t = 5; t < seq.length; t++) {
      const step = noGrad(() => model.forward({ ids: Int32Array.of(seq[t]), batch: 1, seqLen: 1, cache, logits: 'last' }));
      worst = Math.max(worst, maxAbs(step.logits!.data, lastLogits(model, seq.slice(0, t + 1))));
    }
    expect(cache.length).toBe(seq.length);
    expect(worst).toBeLessThan(1e-4);
  });

  it('two rows decode in one cache as each does alone', () => {
    const other = [...seq].reverse();
    const cache = model.createCache(2, 9);
    const V = model.config.vocabSize;
    noGrad(() => model.forward({ ids: Int32Array.from([...seq.slice(0, 6), ...other.slice(0, 6)]), batch: 2, seqLen: 6, cache, logits: 'last' }));
    let out: Float32Array = new Float32Array(0);
    for (let t = 6; t < 9; t++) {
      out = noGrad(() => model.forward({ ids: Int32Array.of(seq[t], other[t]), batch: 2, seqLen: 1, cache, logits: 'last' })).logits!.data;
    }
    expect(maxAbs(out.subarray(0, V), lastLogits(model, seq.slice(0, 9)))).toBeLessThan(1e-4);
    expect(maxAbs(out.subarray(V), lastLogits(model, other.slice(0, 9)))).toBeLessThan(1e-4);
  });

  it('per-row summed target log-probabilities (preference training) agree with the logits', () => {
    const [B, T] = [2, 6];
    const ids = Int32Array.from([...seq.slice(0, T), ...seq.slice(T, 2 * T)]);
    const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 || i % T === 0 ? -100 : ids[i + 1]));
    const { sequenceLogps } = noGrad(() => model.forward({ ids, batch: B, seqLen: T, targets, sequenceLogps: true }));
    const logits = noGrad(() => model.forward({ ids, batch: B, seqLen: T, logits: 'all' })).logits!.data;
    const V = model.config.vocabSize;
    for (let b = 0; b < B; b++) {
      let want = 0;
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (targets[i] < 0) continue;
        const row = logits.subarray(i * V, (i + 1) * V);
        const max = Math.max(...row);
        want += row[targets[i]] - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      }
      expect(Math.abs(sequenceLogps!.data[b] - want)).toBeLessThan(1e-4);
    }
  });

  it('two sequences packed in one row (segments, restarted positions) give the logits of each alone', () => {
    // phi3-tiny's long factors depend on the longest segment, so its packed pieces stay within the short range
    const [a, b] = name === 'phi3-tiny' ? [seq.slice(0, 4), seq.slice(4, 8)] : [seq.slice(0, 5), seq.slice(5, 12)];
    const T = a.length + b.length;
    const ids = Int32Array.from([...a, ...b]);
    const positions = Int32Array.from([...a.keys(), ...b.keys()]);
    const segments = Int32Array.from([...a.map(() => 0), ...b.map(() => 1)]);
    const packed = noGrad(() => model.forward({ ids, batch: 1, seqLen: T, positions, segments, logits: 'all' })).logits!.data;
    const V = model.config.vocabSize;
    const alone = (s: number[]) => noGrad(() => model.forward({ ids: Int32Array.from(s), batch: 1, seqLen: s.length, logits: 'all' })).logits!.data;
    expect(maxAbs(packed.subarray(0, a.length * V), alone(a))).toBeLessThan(1e-4);
    expect(maxAbs(packed.subarray(a.length * V), alone(b))).toBeLessThan(1e-4);
  });
});

describe('Phi-3 LongRoPE switch', () => {
  it('a forward whose largest position passes original_max_position_embeddings runs on the long factors', () => {
    const { model } = loadModel(path.join(FIX, 'phi3-tiny'));
    const seq = sequence('phi3-tiny'); // original_max_position_embeddings is 8
    // the first 8 positions alone (short factors) differ from the same positions inside a 9-token forward (long)
    const short = noGrad(() => model.forward({ ids: Int32Array.from(seq.slice(0, 8)), batch: 1, seqLen: 8, logits: 'all' })).logits!.data;
    const long = noGrad(() => model.forward({ ids: Int32Array.from(seq.slice(0, 9)), batch: 1, seqLen: 9, logits: 'all' })).logits!.data;
    expect(maxAbs(long.subarray(0, short.length), short)).toBeGreaterThan(1e-2);
  });
});
