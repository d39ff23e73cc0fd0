// MinHash estimates Jaccard similarity of character 3-grams without bias, and the LSH index finds
// near-duplicate questions among many unrelated ones while comparing each example with few others;
// length statistics are exact without one number per example.
import { describe, expect, it } from 'vitest';
import { BANDS, BUCKET_WALK, K, NearDupIndex, signature } from '../../src/data/minhash.js';
import { foldForMatch } from '../../src/data/normalize.js';
import { LengthCounter } from '../../src/data/stats.js';
import fc from 'fast-check';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function grams(s: string): Set<string> {
  const out = new Set<string>();
  if (s.length <= 3) { if (s) out.add(s); return out; }
  for (let i = 0; i + 3 <= s.length; i++) out.add(s.slice(i, i + 3));
  return out;
}

function jaccard(a: string, b: string): number {
  const A = grams(a);
  const B = grams(b);
  let inter = 0;
  for (const g of A) if (B.has(g)) inter++;
  return inter / (A.size + B.size - inter);
}

const KANA = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん送料返品支払配達保証';

function randomText(r: () => number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += KANA[Math.floor(r() * KANA.length)];
  return s;
}

function mutate(r: () => number, s: string, share: number): string {
  const c = [...s];
  for (let e = 0; e < Math.floor(c.length * share); e++) c[Math.floor(r() * c.length)] = KANA[Math.floor(r() * KANA.length)];
  return c.join('');
}

describe('MinHash', () => {
  it('estimates the Jaccard similarity of 3-gram sets without bias', () => {
    const r = rng(1);
    const a = new Uint32Array(K);
    const b = new Uint32Array(K);
    const errs: number[] = [];
    for (let n = 0; n < 400; n++) {
      const s = randomText(r, 20 + Math.floor(r() * 60));
      const t = mutate(r, s, r() * 0.3);
      signature(s, a);
      signature(t, b);
      const est = a.reduce((acc, v, i) => acc + (v === b[i] ? 1 : 0), 0) / K;
      errs.push(est - jaccard(s, t));
    }
    const mean = errs.reduce((x, y) => x + y, 0) / errs.length;
    const sd = Math.sqrt(errs.reduce((x, y) => x + (y - mean) ** 2, 0) / errs.length);
    console.log(`MinHash K=${K}: bias ${mean.toFixed(4)}, sd ${sd.toFixed(4)} (binomial sd at J=0.5: ${Math.sqrt(0.25 / K).toFixed(4)})`);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(sd).toBeLessThan(Math.sqrt(0.25 / K) * 1.2);
  });

  it('gives equal texts equal signatures, and empty text the all-max signature', () => {
    const a = new Uint32Array(K);
    const b = new Uint32Array(K);
    signature(foldForMatch('送料は　いくらですか？'), a);
    signature(foldForMatch('送料はいくらですか'), b);
    expect(a).toEqual(b);
    signature('', a);
    expect([...a].every((v) => v === 0xffffffff)).toBe(true);
  });
});

describe('LSH index', () => {
  it('finds planted near-duplicates among unrelated texts', () => {
    const r = rng(2);
    const idx = new NearDupIndex();
    const sig = new Uint32Array(K);
    const empty = new Uint32Array(K);
    signature('', empty);
    const base: string[] = [];
    let found = 0;
    let planted = 0;
    for (let i = 0; i < 3000; i++) {
      const dup = i > 100 && r() < 0.1;
      const text = dup ? mutate(r, base[Math.floor(r() * base.length)], 0.03) : randomText(r, 40);
      if (!dup) base.push(text);
      signature(text, sig);
      // a threshold well below the planted pairs' similarity (~0.85), so this measures LSH recall, not estimate noise
      const m = idx.best(sig, empty, 0, 0.6);
      idx.insert(idx.store(sig, empty), sig, 0);
      if (dup) {
        planted++;
        if (m) found++;
      } else {
        expect(m).toBeNull(); // unrelated random texts share almost no 3-grams
      }
    }
    expect(found / planted).toBeGreaterThan(0.97);
  });

  it('looks at a bounded number of earlier examples however many share a bucket', () => {
    const idx = new NearDupIndex();
    const sig = new Uint32Array(K);
    signature('同じ質問です', sig);
    const empty = new Uint32Array(K);
    for (let i = 0; i < 2000; i++) idx.insert(idx.store(sig, empty), sig, 0);
    expect(idx.best(sig, empty, 0, 0.8)).not.toBeNull();
    expect(idx.visited).toBeGreaterThan(0);
    expect(idx.visited).toBeLessThanOrEqual(BANDS * BUCKET_WALK);
  });

  it('keeps examples with different salts (numbers) apart', () => {
    const idx = new NearDupIndex();
    const sig = new Uint32Array(K);
    signature('プランの料金はいくらですか', sig);
    idx.insert(idx.store(sig, sig), sig, 1);
    expect(idx.best(sig, sig, 2, 0.8)).toBeNull();
    expect(idx.best(sig, sig, 1, 0.8)?.question).toBe(1);
  });
});

describe('length statistics', () => {
  it('match sorting every length, long ones included', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat({ max: 3000 }), fc.integer({ min: 60000, max: 200000 })), { minLength: 1, maxLength: 200 }), (lens) => {
      const c = new LengthCounter();
      for (const l of lens) c.add(l);
      const s = c.stats('tokens');
      const sorted = [...lens].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(lens.length - 1, Math.floor(q * (lens.length - 1) + 0.5))];
      expect([s.median, s.p95, s.max, s.total]).toEqual([at(0.5), at(0.95), sorted[sorted.length - 1], lens.reduce((a, b) => a + b, 0)]);
      expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(lens.length);
      expect(s.histogram.counts[0]).toBe(lens.filter((l) => l <= 32).length);
    }));
  });
});
