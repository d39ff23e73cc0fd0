// The train/validation split: deterministic for a seed, stratified by category, and grouped so that
// duplicates and same-question pairs land on the same side (no leakage by construction).
import { fmix32 } from './normalize.js';
import type { Validator } from './validator.js';

export interface SplitPlan {
  /** 1 where the example goes to validation (only meaningful for kept examples). */
  isVal: Uint8Array;
  train: number;
  val: number;
  stratified: boolean;
}

/**
 * Per-stratum validation targets that add up to round(total * ratio) (at least 1 when ratio > 0 and
 * there are two or more examples): floors first, then the largest remainders (Hamilton's method).
 */
export function valTargets(sizes: number[], ratio: number): number[] {
  const total = sizes.reduce((s, n) => s + n, 0);
  let want = Math.round(total * ratio);
  if (ratio > 0 && want === 0 && total >= 2) want = 1;
  if (want >= total && total > 0) want = total - 1; // always leave something to train on
  const exact = sizes.map((n) => n * ratio);
  const out = exact.map((x) => Math.floor(x));
  let left = want - out.reduce((s, n) => s + n, 0);
  const order = exact.map((x, k) => ({ k, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.k - b.k);
  for (let i = 0; left > 0 && order.length > 0; i = (i + 1) % order.length) {
    const k = order[i].k;
    if (out[k] < sizes[k]) { out[k]++; left--; }
    else if (out.every((v, kk) => v >= sizes[kk])) break;
  }
  while (left < 0) {
    const k = out.indexOf(Math.max(...out));
    out[k]--;
    left++;
  }
  return out;
}

/** Order key of a group: its content hash mixed with the seed (stable when other rows change). */
function orderKey(contentKey: number, seed: number): number {
  const lo = contentKey >>> 0;
  const hi = Math.floor(contentKey / 4294967296) >>> 0;
  return fmix32(fmix32(lo ^ seed) ^ Math.imul(hi, 0x9e3779b1) ^ seed) * 4 + (hi & 3);
}

export function planSplit(v: Validator, keep: (i: number) => boolean, valRatio: number, seed: number): SplitPlan {
  const n = v.count;
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) if (keep(i)) size[v.find(i)]++;
  // strata: one per category (examples without one share a stratum), groups listed by their root
  const strata = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (size[i] === 0) continue;
    const cat = v.categoryOf.get(i);
    let list = strata.get(cat);
    if (!list) strata.set(cat, (list = []));
    list.push(i);
  }
  const keys = [...strata.keys()].sort((a, b) => a - b);
  const targets = valTargets(keys.map((k) => strata.get(k)!.reduce((s, r) => s + size[r], 0)), valRatio);
  const rootVal = new Uint8Array(n);
  const order = new Float64Array(n); // order key per group root (typed: no object per example)
  keys.forEach((k, idx) => {
    const roots = strata.get(k)!;
    for (const r of roots) order[r] = orderKey(v.keyOf.get(r), seed);
    roots.sort((a, b) => order[a] - order[b] || a - b);
    let taken = 0;
    for (const r of roots) {
      if (taken >= targets[idx]) break;
      rootVal[r] = 1;
      taken += size[r];
    }
  });
  const isVal = new Uint8Array(n);
  let train = 0;
  let val = 0;
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    isVal[i] = rootVal[v.find(i)];
    if (isVal[i]) val++;
    else train++;
  }
  return { isVal, train, val, stratified: keys.some((k) => k >= 0) && keys.length > 1 };
}
