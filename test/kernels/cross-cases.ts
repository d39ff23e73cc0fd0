// Inputs for comparing two kernel implementations: per kernel a list of shapes (odd sizes, widths that are
// not multiples of 8, zero sizes, GQA, offsets, windows, segments, alibi, ignored targets, aliasing).
// run(k, rng) builds its inputs from rng, so the same seed gives both implementations identical inputs.
import type { Kernels } from '../../src/kernels/types.js';
import { randInts, randn, ropeTables, type Rng } from './helpers.js';
import { decodeF16 } from './naive.js';
import { HYBRID_CASES } from './hybrid-cases.js';

type Output = Float32Array | Uint16Array | number[];
export interface CrossConfig { label: string; seed: number; run: (k: Kernels, rng: Rng) => Output[] }
export interface CrossKernel { tol: number; configs: CrossConfig[] }

/** max |a - b| and max |a - b| / (|b| + 1); NaN equals NaN, equal infinities match */
export function compareOutputs(got: Output[], want: Output[]): { maxAbsDiff: number; scaledErr: number } {
  let maxAbsDiff = 0;
  let scaledErr = 0;
  if (got.length !== want.length) return { maxAbsDiff: Infinity, scaledErr: Infinity };
  got.forEach((g, o) => {
    const w = want[o];
    if (g.length !== w.length) maxAbsDiff = scaledErr = Infinity;
    for (let i = 0; i < Math.min(g.length, w.length); i++) {
      if (g[i] === w[i] || (Number.isNaN(g[i]) && Number.isNaN(w[i]))) continue;
      const d = Math.abs(g[i] - w[i]);
      const e = Number.isNaN(d) ? Infinity : d;
      maxAbsDiff = Math.max(maxAbsDiff, e);
      scaledErr = Math.max(scaledErr, e / (Math.abs(w[i]) + 1));
    }
  });
  return { maxAbsDiff, scaledErr };
}

const SIZES = [0, 1, 7, 37, 1003];

function perSize(label: string, run: (k: Kernels, rng: Rng, n: number) => Output[]): CrossConfig[] {
  return SIZES.map((n, i) => ({ label: `${label} n=${n}`, seed: 100 + i, run: (k, rng) => run(k, rng, n) }));
}

function gemmConfigs(): CrossConfig[] {
  const shapes = [[1, 1, 1], [3, 5, 7], [17, 13, 9], [33, 65, 31], [8, 16, 64], [1, 50, 257], // odd, K up to 257
    [0, 4, 5], [4, 0, 5], [4, 5, 0]];
  const out: CrossConfig[] = [];
  shapes.forEach(([M, N, K], s) => {
    for (let combo = 0; combo < 8; combo++) {
      const [transA, transB, beta] = [(combo & 1) === 1, (combo & 2) === 2, combo >> 2];
      const batch = combo % 3 === 0 ? 3 : 1;
      const strideB = combo === 3 ? 0 : K * N; // one configuration broadcasts b over the batch
      out.push({
        label: `${M}x${N}x${K} batch=${batch} tA=${+transA} tB=${+transB} beta=${beta} strideB=${strideB}`,
        seed: 1000 + s * 8 + combo,
        run: (k, rng) => {
          const a = randn(rng, batch * M * K + 3).subarray(3); // offset views
          const b = randn(rng, batch * K * N);
          const c = randn(rng, batch * M * N);
          k.gemm(c, a, b, batch, M, N, K, transA, transB, beta, M * K, strideB);
          return [c];
        },
      });
    }
  });
  out.push({ label: 'batch=0', seed: 999, run: (k) => {
    const c = new Float32Array(4).fill(1);
    k.gemm(c, new Float32Array(4), new Float32Array(4), 0, 2, 2, 2, false, false, 0, 4, 4);
    return [c];
  } });
  return out;
}

function attentionConfigs(): CrossConfig[] {
  type A = [B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number, causal: number, window: number,
    seg: boolean, alibi: boolean, softcap?: number];
  const specs: A[] = [
    [2, 7, 7, 4, 4, 8, 1, 0, false, false], [1, 3, 9, 6, 2, 12, 1, 0, false, false],
    [2, 16, 16, 6, 2, 64, 1, 0, false, false],
    [1, 9, 9, 2, 1, 5, 1, 4, false, false], [2, 8, 8, 3, 3, 6, 1, 0, true, false], [1, 5, 11, 4, 2, 7, 1, 6, true, true],
    [1, 6, 6, 2, 2, 9, 0, 0, false, true], [1, 6, 6, 2, 1, 4, 0, 0, false, false], [1, 5, 3, 2, 1, 4, 1, 0, false, false],
    [1, 1, 13, 6, 2, 16, 1, 0, false, true], [0, 4, 4, 2, 2, 4, 1, 0, false, false],
    // Tq >= 16 takes the blocked sgemm path: sizes that are not multiples of its 32-key blocks, query heads
    // packed per kv group past one 256-row chunk (130 * 4), and every masking rule on that path
    [2, 37, 37, 6, 2, 16, 1, 0, false, false], [1, 40, 100, 4, 2, 8, 1, 0, false, false],
    [2, 70, 70, 3, 1, 12, 1, 20, false, false], [2, 50, 50, 4, 4, 7, 1, 0, true, false],
    [1, 33, 47, 6, 3, 9, 1, 13, true, true], [1, 20, 20, 4, 2, 5, 0, 0, false, true],
    [1, 24, 24, 2, 1, 6, 0, 5, false, false], [1, 40, 20, 2, 1, 4, 1, 0, false, false],
    [1, 130, 130, 4, 1, 8, 1, 0, false, false],
    // tanh soft-cap (Gemma 2) on both paths, with a window, segments and a decode step
    [2, 9, 9, 4, 2, 8, 1, 4, false, false, 1.5], [1, 1, 13, 4, 2, 16, 1, 0, false, false, 1.5],
    [2, 37, 37, 6, 2, 16, 1, 0, false, false, 1.5], [1, 70, 70, 4, 1, 12, 1, 20, true, false, 2],
    [1, 130, 130, 4, 2, 8, 1, 0, false, false, 0.7],
    // ALiBi as BLOOM (one kv head per query head) and Falcon multi-query decode it, on both paths
    [2, 24, 24, 6, 6, 8, 1, 0, false, true], [1, 1, 40, 4, 1, 8, 1, 0, false, true], [1, 3, 29, 6, 6, 8, 1, 0, false, true],
  ];
  return specs.map(([B, Tq, Tk, H, Hkv, D, causal, window, useSeg, useAlibi, softcap = 0], i) => ({
    label: `B${B} Tq${Tq} Tk${Tk} H${H}/${Hkv} D${D} causal${causal} win${window}` +
      `${useSeg ? ' seg' : ''}${useAlibi ? ' alibi' : ''}${softcap ? ` softcap${softcap}` : ''}`,
    seed: 2000 + i,
    run: (k, rng) => {
      const q = randn(rng, B * Tq * H * D);
      const kk = randn(rng, B * Tk * Hkv * D);
      const v = randn(rng, B * Tk * Hkv * D);
      const dout = randn(rng, B * Tq * H * D);
      // segments of 3 keys, numbered apart per batch item
      const seg = useSeg ? Int32Array.from({ length: B * Tk }, (_, j) => Math.floor((j % Tk) / 3) + 10 * Math.floor(j / Tk)) : null;
      const alibi = useAlibi ? Float32Array.from({ length: H }, (_, h) => 2 ** (-(h + 1))) : null;
      const out = new Float32Array(B * Tq * H * D);
      const lse = new Float32Array(B * H * Tq);
      const scale = 1 / Math.sqrt(D);
      k.attention(out, lse, q, kk, v, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
      const dq = randn(rng, q.length); // backward accumulates onto whatever is there
      const dk = randn(rng, kk.length);
      const dv = randn(rng, v.length);
      k.attentionBackward(dq, dk, dv, dout, q, kk, v, out, lse, alibi, seg, B, Tq, Tk, H, Hkv, D, scale, causal, window, softcap);
      return [out, lse, dq, dk, dv];
    },
  }));
}

function normShapes(): Array<[number, number]> {
  return [[0, 8], [1, 1], [3, 7], [5, 64], [2, 1003]];
}

function ropeConfigs(): CrossConfig[] {
  return [[1, 1, 2], [5, 3, 8], [4, 6, 64], [7, 2, 6], [0, 2, 8]].map(([N, H, D], i) => ({
    label: `N${N} H${H} D${D}${i === 2 ? ' in place' : ''}`, seed: 3000 + i,
    run: (k, rng) => {
      const P = 50;
      const { cos, sin } = ropeTables(P, D, 500000);
      const pos = randInts(rng, N, 0, P);
      const x = randn(rng, N * H * D);
      const out = i === 2 ? x : new Float32Array(N * H * D);
      const dout = randn(rng, N * H * D);
      const dx = randn(rng, N * H * D);
      const written = new Float32Array(N * H * D).fill(NaN); // accumulate false: every element written
      k.rope(out, x, cos, sin, pos, N, H, D);
      k.ropeBackward(dx, dout, cos, sin, pos, N, H, D, true);
      k.ropeBackward(written, dout, cos, sin, pos, N, H, D, false);
      return [out, dx, written];
    },
  }));
}

/** Partial rotary: R of D dims rotate (Phi-4-mini 96 of 128), R = D, odd head counts, in place. */
function ropePartialConfigs(): CrossConfig[] {
  return [[1, 1, 4, 2], [5, 3, 16, 12], [4, 6, 128, 96], [7, 2, 10, 10], [3, 5, 12, 4], [0, 2, 8, 6]].map(([N, H, D, R], i) => ({
    label: `N${N} H${H} D${D} R${R}${i === 2 ? ' in place' : ''}`, seed: 3500 + i,
    run: (k, rng) => {
      const P = 50;
      const { cos, sin } = ropeTables(P, R, 10000);
      const pos = randInts(rng, N, 0, P);
      const x = randn(rng, N * H * D);
      const out = i === 2 ? x : new Float32Array(N * H * D);
      const dx = randn(rng, N * H * D);
      k.ropePartial(out, x, cos, sin, pos, N, H, D, R);
      k.ropePartialBackward(dx, randn(rng, N * H * D), cos, sin, pos, N, H, D, R);
      return [out, dx];
    },
  }));
}

function crossEntropyConfigs(): CrossConfig[] {
  return [[0, 5], [1, 1], [6, 11], [9, 1003], [4, 32000]].flatMap(([N, V], i) => [0, 1, 2].map((mode) => ({
    label: `N${N} V${V} ${['separate dlogits', 'dlogits aliases logits', 'no dlogits'][mode]}`, seed: 4000 + i * 3 + mode,
    run: (k: Kernels, rng: Rng): Output[] => {
      const logits = randn(rng, N * V, 4);
      const targets = Int32Array.from({ length: N }, (_, n) => (n % 3 === 1 ? -100 : rng.int(0, V)));
      const losses = new Float32Array(N);
      const dlogits = mode === 0 ? new Float32Array(N * V).fill(NaN) : mode === 1 ? logits : null;
      k.crossEntropy(losses, dlogits, logits, targets, N, V, 1 / Math.max(1, N));
      return dlogits ? [losses, dlogits] : [losses];
    },
  })));
}

function softcapCrossEntropyConfigs(): CrossConfig[] {
  return [[0, 5], [1, 1], [6, 11], [9, 1003], [3, 32000]].flatMap(([N, V], i) => [0, 1, 2].map((mode) => ({
    label: `N${N} V${V} cap 30 ${['separate dlogits', 'dlogits aliases logits', 'no dlogits'][mode]}`, seed: 4500 + i * 3 + mode,
    run: (k: Kernels, rng: Rng): Output[] => {
      const logits = randn(rng, N * V, 20);
      const targets = Int32Array.from({ length: N }, (_, n) => (n % 3 === 1 ? -100 : rng.int(0, V)));
      const losses = new Float32Array(N);
      const dlogits = mode === 0 ? new Float32Array(N * V).fill(NaN) : mode === 1 ? logits : null;
      k.softcapCrossEntropy(losses, dlogits, logits, targets, N, V, 1 / Math.max(1, N), 30);
      return dlogits ? [losses, dlogits] : [losses];
    },
  })));
}

function conversionConfigs(): CrossConfig[] {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  return [
    { label: 'all 65536 codes -> f32 (bf16 and f16)', seed: 5000, run: (k) => {
      const a = new Float32Array(65536);
      const b = new Float32Array(65536);
      k.bf16ToF32(a, all, 65536);
      k.f16ToF32(b, all, 65536);
      return [a, b];
    } },
    { label: 'f32 -> bf16/f16 over 2^-30..2^20, specials, and bf16/f16 ties', seed: 5001, run: (k, rng) => {
      const vals: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65520, 65519.996, 3.4028234663852886e38];
      for (let i = 0; i < 20000; i++) vals.push((rng.uniform() - 0.5) * 2 ** rng.int(-30, 20));
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let h = 0; h < 0x7f80; h += 7) { u[0] = (h << 16) | 0x8000; vals.push(f[0]); } // bf16 ties
      // f16 ties: midpoints of neighbouring codes, exact in float32
      for (let h = 0; h < 0x7c00; h += 3) vals.push((decodeF16(h) + decodeF16(h + 1)) / 2);
      const src = Float32Array.from(vals);
      const a = new Uint16Array(src.length);
      const b = new Uint16Array(src.length);
      k.f32ToBf16(a, src, src.length);
      k.f32ToF16(b, src, src.length);
      // NaN codes may differ in payload: compare them as "is NaN"
      const nanAware = (x: Uint16Array, mask: number, exp: number): number[] =>
        Array.from(x, (c) => ((c & exp) === exp && (c & mask) !== 0 ? -1 : c));
      return [nanAware(a, 0x7f, 0x7f80), nanAware(b, 0x3ff, 0x7c00)];
    } },
  ];
}

export const CROSS_CASES: Record<string, CrossKernel> = {
  gemm: { tol: 5e-5, configs: gemmConfigs() },
  add: { tol: 1e-6, configs: perSize('add', (k, rng, n) => {
    const a = randn(rng, n); const o = new Float32Array(n); const o2 = new Float32Array(n);
    k.add(o, a, randn(rng, n), n, n);
    k.add(o2, a, randn(rng, 1), n, n === 0 ? 0 : 1);
    return [o, o2];
  }) },
  mul: { tol: 1e-6, configs: perSize('mul', (k, rng, n) => {
    const a = randn(rng, n); const o = new Float32Array(n); const o2 = new Float32Array(n);
    k.mul(o, a, randn(rng, n), n, n);
    k.mul(o2, a, randn(rng, 1), n, n === 0 ? 0 : 1);
    return [o, o2];
  }) },
  'add/mul rows': { tol: 1e-6, configs: normShapes().map(([N, C], i) => ({ label: `[${N}, ${C}]`, seed: 150 + i, run: (k, rng) => {
    const a = randn(rng, N * C); const b = randn(rng, C);
    const o = new Float32Array(N * C); const o2 = new Float32Array(N * C);
    k.add(o, a, b, N * C, C);
    k.mul(o2, a, b, N * C, C);
    return [o, o2];
  } })) },
  scale: { tol: 1e-6, configs: perSize('scale', (k, rng, n) => {
    const o = new Float32Array(n); k.scale(o, randn(rng, n), 0.3, n); return [o];
  }) },
  axpy: { tol: 1e-6, configs: perSize('axpy', (k, rng, n) => {
    const d = randn(rng, n); k.axpy(d, randn(rng, n), -1.7, n); return [d];
  }) },
  sumRows: { tol: 1e-5, configs: normShapes().map(([N, C], i) => ({ label: `[${N}, ${C}]`, seed: 200 + i, run: (k, rng) => {
    const o = randn(rng, C); k.sumRows(o, randn(rng, N * C), N, C); return [o];
  } })) },
  sumSquares: { tol: 1e-6, configs: perSize('sumSquares', (k, rng, n) => [[k.sumSquares(randn(rng, n), n) / Math.max(1, n)]]) },
  silu: { tol: 1e-5, configs: perSize('silu', (k, rng, n) => {
    const x = randn(rng, n, 4); const o = new Float32Array(n); const dx = randn(rng, n);
    k.silu(o, x, n); k.siluBackward(dx, randn(rng, n), x, n); return [o, dx];
  }) },
  swiglu: { tol: 1e-5, configs: perSize('swiglu', (k, rng, n) => {
    const g = randn(rng, n, 4); const u = randn(rng, n); const o = new Float32Array(n);
    const dg = randn(rng, n); const du = randn(rng, n);
    k.swiglu(o, g, u, n); k.swigluBackward(dg, du, randn(rng, n), g, u, n); return [o, dg, du];
  }) },
  gelu: { tol: 1e-5, configs: [0, 1].flatMap((approx) => perSize(`gelu approximate=${approx}`, (k, rng, n) => {
    const x = randn(rng, n, 4); const o = new Float32Array(n); const dx = randn(rng, n);
    k.gelu(o, x, n, approx); k.geluBackward(dx, randn(rng, n), x, n, approx); return [o, dx];
  })) },
  geglu: { tol: 1e-5, configs: [0, 1].flatMap((approx) => perSize(`geglu approximate=${approx}`, (k, rng, n) => {
    const g = randn(rng, n, 4); const u = randn(rng, n); const o = new Float32Array(n);
    const dg = randn(rng, n); const du = randn(rng, n);
    k.geglu(o, g, u, n, approx); k.gegluBackward(dg, du, randn(rng, n), g, u, n, approx); return [o, dg, du];
  })) },
  softcap: { tol: 1e-6, configs: [0.5, 30].flatMap((cap) => perSize(`softcap cap=${cap}`, (k, rng, n) => {
    const x = randn(rng, n, cap); const o = new Float32Array(n); const dx = randn(rng, n);
    k.softcap(o, x, n, cap); k.softcapBackward(dx, randn(rng, n), o, n, cap); return [o, dx];
  })) },
  softcapCrossEntropy: { tol: 1e-5, configs: softcapCrossEntropyConfigs() },
  softmax: { tol: 1e-5, configs: normShapes().map(([N, C], i) => ({ label: `[${N}, ${C}]`, seed: 300 + i, run: (k, rng) => {
    const x = randn(rng, N * C, 10); const y = new Float32Array(N * C); const dx = randn(rng, N * C);
    k.softmax(y, x, N, C); k.softmaxBackward(dx, randn(rng, N * C), y, N, C); return [y, dx];
  } })) },
  rmsnorm: { tol: 5e-5, configs: normShapes().flatMap(([N, C], i) => [true, false].map((withDw) => ({
    label: `[${N}, ${C}] dw=${withDw}`, seed: 400 + i * 2 + +withDw, run: (k: Kernels, rng: Rng): Output[] => {
      const x = randn(rng, N * C, 2); const w = randn(rng, C);
      const o = new Float32Array(N * C); const rstd = new Float32Array(N);
      const dx = randn(rng, N * C); const dw = withDw ? randn(rng, C) : null;
      k.rmsnorm(o, rstd, x, w, N, C, 1e-6);
      k.rmsnormBackward(dx, dw, randn(rng, N * C), x, w, rstd, N, C);
      return dw ? [o, rstd, dx, dw] : [o, rstd, dx];
    },
  }))) },
  layernorm: { tol: 5e-5, configs: normShapes().flatMap(([N, C], i) => [true, false].map((affine) => ({
    label: `[${N}, ${C}] bias/dw/db=${affine}`, seed: 500 + i * 2 + +affine, run: (k: Kernels, rng: Rng): Output[] => {
      const x = randn(rng, N * C, 2); const w = randn(rng, C); const b = affine ? randn(rng, C) : null;
      const o = new Float32Array(N * C); const mean = new Float32Array(N); const rstd = new Float32Array(N);
      const dx = randn(rng, N * C); const dw = affine ? randn(rng, C) : null; const db = affine ? randn(rng, C) : null;
      k.layernorm(o, mean, rstd, x, w, b, N, C, 1e-5);
      k.layernormBackward(dx, dw, db, randn(rng, N * C), x, w, mean, rstd, N, C);
      return [o, mean, rstd, dx, ...(dw && db ? [dw, db] : [])];
    },
  }))) },
  embedding: { tol: 1e-6, configs: [[0, 5, 3], [1, 1, 1], [20, 13, 7], [64, 100, 64]].map(([N, V, C], i) => ({
    label: `N${N} V${V} C${C}`, seed: 600 + i, run: (k, rng) => {
      const table = randn(rng, V * C); const ids = randInts(rng, N, 0, Math.min(V, 5)); // many repeats
      const o = new Float32Array(N * C); const dt = randn(rng, V * C);
      k.embedding(o, table, ids, N, C); k.embeddingBackward(dt, randn(rng, N * C), ids, N, C); return [o, dt];
    },
  })) },
  rope: { tol: 1e-5, configs: ropeConfigs() },
  ropePartial: { tol: 1e-5, configs: ropePartialConfigs() },
  attention: { tol: 1e-4, configs: attentionConfigs() },
  crossEntropy: { tol: 1e-5, configs: crossEntropyConfigs() },
  dropout: { tol: 1e-6, configs: [0, 0.1, 0.5, 0.9].flatMap((p, j) => perSize(`dropout p=${p}`, (k, rng, n) => {
    const x = randn(rng, n); const o = new Float32Array(n); const dx = randn(rng, n);
    k.dropout(o, x, n, p, 12345 + j); k.dropoutBackward(dx, x, n, p, 12345 + j);
    return [o, dx, Array.from(o, (v) => (v === 0 ? 0 : 1))];
  })) },
  adamw: { tol: 1e-5, configs: perSize('adamw', (k, rng, n) => {
    const p = randn(rng, n); const m = new Float32Array(n); const v = new Float32Array(n);
    for (let step = 1; step <= 3; step++) k.adamw(p, randn(rng, n), m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
    return [p, m, v];
  }) },
  conversions: { tol: 0, configs: conversionConfigs() },
  ...HYBRID_CASES,
};
