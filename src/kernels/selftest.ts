// A quick kernel self-test for `shitate doctor`: runs each kernel on the native and the reference
// implementation with the same seeded inputs and reports the max abs difference per op.
import type { Kernels } from './types.js';
import { Rng } from './rng.js';

export interface SelfTestResult {
  op: string;
  maxAbsDiff: number;
  tolerance: number;
  pass: boolean;
}

function randn(n: number, seed: number, s = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => s * r.normal());
}

type Case = { op: string; tol: number; run: (k: Kernels) => Float32Array[] };

const [B, T, H, Hkv, D, C, F, V] = [2, 9, 4, 2, 8, 32, 48, 67];
const N = B * T;

function cases(): Case[] {
  const x = randn(N * C, 1);
  const w = randn(C, 2);
  const b = randn(C, 3);
  const g = randn(N * F, 4);
  const u = randn(N * F, 5);
  const q = randn(N * H * D, 6);
  const kk = randn(N * Hkv * D, 7);
  const vv = randn(N * Hkv * D, 8);
  const ids = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);
  const pos = Int32Array.from({ length: N }, (_, i) => 3 + (i % T));
  const cos = Float32Array.from({ length: 16 * (D / 2) }, (_, i) => Math.cos(i * 0.1));
  const sin = Float32Array.from({ length: 16 * (D / 2) }, (_, i) => Math.sin(i * 0.1));
  const logits = randn(N * V, 9, 2);
  const targets = Int32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? -100 : (i * 13) % V));
  const wM = randn(F * C, 10);
  return [
    { op: 'gemm', tol: 1e-4, run: (k) => { const o = new Float32Array(N * F); k.gemm(o, x, wM, 1, N, F, C, false, true, 0, 0, 0); return [o]; } },
    { op: 'gemmI8', tol: 1e-4, run: (k) => {
      const q8 = Int8Array.from(wM, (v) => Math.max(-127, Math.min(127, Math.round(v * 40))));
      const sc = Float32Array.from({ length: F }, (_, i) => 0.01 + 0.001 * i);
      const o = new Float32Array(N * F); k.gemmI8(o, x, q8, sc, N, F, C, 0); // N rows: widened blocks on sgemm
      const d = new Float32Array(2 * F); k.gemmI8(d, x, q8, sc, 2, F, C, 0); // decode rows
      return [o, d];
    } },
    { op: 'gemmRowsBf16', tol: 1e-4, run: (k) => {
      const w16 = new Uint16Array(F * C);
      k.f32ToBf16(w16, wM, F * C);
      const o = new Float32Array(N * F); k.gemmRowsBf16(o, x, w16, N, F, C, false); // batched decode rows, bf16 weights
      return [o];
    } },
    { op: 'add', tol: 1e-6, run: (k) => { const o = new Float32Array(N * C); k.add(o, x, w, N * C, C); return [o]; } },
    { op: 'silu', tol: 1e-5, run: (k) => { const o = new Float32Array(N * F); k.silu(o, g, N * F); return [o]; } },
    { op: 'swiglu', tol: 1e-5, run: (k) => { const o = new Float32Array(N * F); k.swiglu(o, g, u, N * F); return [o]; } },
    { op: 'gelu', tol: 1e-5, run: (k) => { const o = new Float32Array(N * F); k.gelu(o, g, N * F, 0); const t = new Float32Array(N * F); k.gelu(t, g, N * F, 1); return [o, t]; } },
    { op: 'geglu', tol: 1e-5, run: (k) => { const o = new Float32Array(N * F); k.geglu(o, g, u, N * F, 1); return [o]; } },
    { op: 'softcap', tol: 1e-5, run: (k) => { const o = new Float32Array(N * F); k.softcap(o, g, N * F, 2); return [o]; } },
    { op: 'softmax', tol: 1e-6, run: (k) => { const o = new Float32Array(N * C); k.softmax(o, x, N, C); return [o]; } },
    { op: 'rmsnorm', tol: 1e-5, run: (k) => { const o = new Float32Array(N * C); const r = new Float32Array(N); k.rmsnorm(o, r, x, w, N, C, 1e-5); return [o, r]; } },
    { op: 'layernorm', tol: 1e-5, run: (k) => { const o = new Float32Array(N * C); k.layernorm(o, new Float32Array(N), new Float32Array(N), x, w, b, N, C, 1e-5); return [o]; } },
    { op: 'embedding', tol: 0, run: (k) => { const o = new Float32Array(N * C); k.embedding(o, randn(V * C, 11), ids, N, C); return [o]; } },
    { op: 'rope', tol: 1e-6, run: (k) => { const o = new Float32Array(N * H * D); k.rope(o, q, cos, sin, pos, N, H, D); return [o]; } },
    { op: 'attention', tol: 1e-5, run: (k) => {
      const o = new Float32Array(N * H * D); const lse = new Float32Array(B * H * T);
      k.attention(o, lse, q, kk, vv, null, null, B, T, T, H, Hkv, D, 1 / Math.sqrt(D), 1, 0, 0);
      const dq = new Float32Array(q.length); const dk = new Float32Array(kk.length); const dv = new Float32Array(vv.length);
      k.attentionBackward(dq, dk, dv, randn(o.length, 12), q, kk, vv, o, lse, null, null, B, T, T, H, Hkv, D, 1 / Math.sqrt(D), 1, 0, 0);
      return [o, dq, dk, dv];
    } },
    { op: 'crossEntropy', tol: 1e-5, run: (k) => { const l = new Float32Array(N); const d = new Float32Array(N * V); k.crossEntropy(l, d, logits, targets, N, V, 0.5); return [l, d]; } },
    { op: 'softcapCrossEntropy', tol: 1e-5, run: (k) => { const l = new Float32Array(N); const d = new Float32Array(N * V); k.softcapCrossEntropy(l, d, logits, targets, N, V, 0.5, 3); return [l, d]; } },
    { op: 'adamw', tol: 1e-6, run: (k) => { const p = x.slice(); const m = new Float32Array(p.length); const v = new Float32Array(p.length); k.adamw(p, g.subarray(0, p.length), m, v, p.length, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1); return [p, m, v]; } },
    { op: 'bf16ToF32', tol: 0, run: (k) => { const h = new Uint16Array(N * C); k.f32ToBf16(h, x, N * C); const o = new Float32Array(N * C); k.bf16ToF32(o, h, N * C); return [o]; } },
  ];
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length && i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Compares `impl` against `ref` on every case. */
export function kernelSelfTest(impl: Kernels, ref: Kernels): SelfTestResult[] {
  return cases().map((c) => {
    const a = c.run(impl);
    const r = c.run(ref);
    const diff = Math.max(...a.map((o, i) => maxAbsDiff(o, r[i])));
    return { op: c.op, maxAbsDiff: diff, tolerance: c.tol, pass: diff <= c.tol };
  });
}
