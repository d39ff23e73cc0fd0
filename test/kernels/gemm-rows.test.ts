// gemmRows, the decode-row GEMM (native/src/k_gemm_rows.cc and its reference twin): c = a w^T (+ c) against the
// plain formula, and the property batched decode rests on: a row's output is bit-identical whatever rows are
// beside it (M), and whatever the thread count.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { randn, Rng } from './helpers.js';
import { decodeBf16, dotI8, nearestBf16 } from './naive.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();
const threadsBefore = hooks?.info().threads ?? 1;
const impls: Kernels[] = [referenceKernels, ...(native ? [native] : [])];

afterAll(() => hooks?.setThreads(threadsBefore));

/** [M, N, K]: tails in k (K % 8; K % 32 above and below 16), an odd N (weight rows left after the tiles), M across
 *  the row tiles and their remainders; 20 x 410: more than 8 rows take blocks of 48 weight rows (on 2 threads two
 *  whole blocks in a chunk and a cut one), three groups of row pairs, the last of two */
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [9, 33, 64], [7, 129, 77], [16, 64, 300], [5, 1024, 520], [11, 37, 57], [20, 410, 72]];
/** LoRA-delta shapes (K <= 16, ranks 8 and 16: weights transposed in 8 x 8 blocks): more than one tile of 16 rows
 *  and of 64 columns, a last block of columns cut short */
const SHORT_K: [number, number, number][] = [[19, 70, 8], [17, 141, 16], [33, 9, 8]];

function naive(a: Float32Array, w: Float32Array, M: number, N: number, K: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[m * K + k] * w[n * K + k];
    out.push(s);
  }
  return out;
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmRows', ({ k }) => {
  it('equals a w^T, and adds it to c when accumulating', () => {
    const rng = new Rng(3);
    for (const [M, N, K] of [...SHAPES, ...SHORT_K]) {
      const a = randn(rng, M * K);
      const w = randn(rng, N * K);
      const c = new Float32Array(M * N).fill(NaN); // overwritten: nothing of c leaks
      k.gemmRows(c, a, w, M, N, K, false);
      const want = naive(a, w, M, N, K);
      const err = Math.max(...Array.from(c, (x, i) => Math.abs(x - want[i])));
      expect(err, `${M}x${N}x${K}`).toBeLessThan(1e-4 * Math.sqrt(K));
      const c0 = randn(rng, M * N);
      const acc = Float32Array.from(c0);
      k.gemmRows(acc, a, w, M, N, K, true);
      acc.forEach((x, i) => expect(x).toBe(Math.fround(c0[i] + c[i])));
    }
  });

  it('gives each row the same bits alone as among other rows', () => {
    const rng = new Rng(4);
    for (const [M, N, K] of [...SHAPES, ...SHORT_K]) {
      const a = randn(rng, M * K);
      const w = randn(rng, N * K);
      const all = new Float32Array(M * N);
      k.gemmRows(all, a, w, M, N, K, false);
      for (let m = 0; m < M; m++) {
        const one = new Float32Array(N);
        k.gemmRows(one, a.subarray(m * K, (m + 1) * K), w, 1, N, K, false);
        expect(Array.from(one), `${M}x${N}x${K} row ${m}`).toEqual(Array.from(all.subarray(m * N, (m + 1) * N)));
      }
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmRowsI8', ({ k }) => {
  it('equals a (scale q)^T, each row the same bits alone as among others, and adds to c when accumulating', () => {
    const rng = new Rng(6);
    for (const [M, N, K] of SHAPES) {
      const a = randn(rng, M * K);
      const q = Int8Array.from({ length: N * K }, () => Math.round((rng.next() * 2 - 1) * 127));
      const scale = Float32Array.from({ length: N }, () => 0.001 + rng.next() * 0.02);
      const all = new Float32Array(M * N).fill(NaN);
      k.gemmRowsI8(all, a, q, scale, M, N, K, false);
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          const { sum, mag } = dotI8(a, q, m, n, K);
          expect(Math.abs(all[m * N + n] - sum * scale[n]), `${M}x${N}x${K}`).toBeLessThanOrEqual(1e-6 * mag * scale[n] + 1e-7);
        }
        const one = new Float32Array(N);
        k.gemmRowsI8(one, a.subarray(m * K, (m + 1) * K), q, scale, 1, N, K, false);
        expect(Array.from(one), `${M}x${N}x${K} row ${m}`).toEqual(Array.from(all.subarray(m * N, (m + 1) * N)));
      }
      const c0 = randn(rng, M * N);
      const acc = Float32Array.from(c0);
      k.gemmRowsI8(acc, a, q, scale, M, N, K, true);
      acc.forEach((x, i) => expect(x).toBe(Math.fround(c0[i] + all[i])));
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmRowsBf16', ({ k }) => {
  it('equals r(a) w^T, each row the same bits alone as among others, and adds to c when accumulating', () => {
    const rng = new Rng(8);
    // K = 16 and 32: whole blocks of 16 only; 45: a tail; M = 17 spans three blocks of 8 rows (and tiles of 6);
    // 13 x 38: two tiles of 6 rows and one, two blocks of 16 weight rows, a block of 4 and two rows left
    for (const [M, N, K] of [...SHAPES, [17, 40, 16], [10, 9, 32], [12, 7, 45], [13, 38, 96]] as [number, number, number][]) {
      const a = randn(rng, M * K);
      const w = Uint16Array.from(randn(rng, N * K), (x) => nearestBf16(x));
      const all = new Float32Array(M * N).fill(NaN);
      k.gemmRowsBf16(all, a, w, M, N, K, false);
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let sum = 0;
          let mag = 0;
          for (let i = 0; i < K; i++) {
            const p = decodeBf16(nearestBf16(a[m * K + i])) * decodeBf16(w[n * K + i]);
            sum += p;
            mag += Math.abs(p);
          }
          expect(Math.abs(all[m * N + n] - sum), `${M}x${N}x${K}`).toBeLessThanOrEqual(1e-6 * mag + 1e-7);
        }
        const one = new Float32Array(N);
        k.gemmRowsBf16(one, a.subarray(m * K, (m + 1) * K), w, 1, N, K, false);
        expect(Array.from(one), `${M}x${N}x${K} row ${m}`).toEqual(Array.from(all.subarray(m * N, (m + 1) * N)));
      }
      const c0 = randn(rng, M * N);
      const acc = Float32Array.from(c0);
      k.gemmRowsBf16(acc, a, w, M, N, K, true);
      acc.forEach((x, i) => expect(x).toBe(Math.fround(c0[i] + all[i])));
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmRowsBf16 rounding of the activations', ({ k }) => {
  it('rounds ties to even and keeps NaN and infinity, alone and in blocks of many rows', () => {
    // one-hot weights (w[n, n] = 1): each output is one rounded activation, exact whatever the summation order
    const K = 40; // two blocks of 16 values and a tail of 8
    const ties = [1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), 3 * 2 ** -9 + 2 ** -17, 65535, 2 ** 100 * (1 + 2 ** -8), 1 - 2 ** -9];
    const w = new Uint16Array(K * K);
    for (let n = 0; n < K; n++) w[n * K + n] = 0x3f80;
    for (const M of [1, 3, 10, 17]) {
      const a = new Float32Array(M * K);
      for (let i = 0; i < a.length; i++) a[i] = ties[i % ties.length] * (1 + ((i * 7) % 5) * 2 ** -7);
      const finite = new Float32Array(M * K);
      k.gemmRowsBf16(finite, a, w, M, K, K, false);
      for (let i = 0; i < a.length; i++) expect(finite[i], `M ${M} value ${a[i]}`).toBe(decodeBf16(nearestBf16(a[i])));
      // a NaN activation makes its row NaN (0 * NaN); +infinity stays infinite in its own column
      a[K + 5] = NaN;
      a[(M - 1) * K + 33] = Infinity;
      const special = new Float32Array(M * K);
      k.gemmRowsBf16(special, a, w, M, K, K, false);
      if (M > 1) expect(special.subarray(K, 2 * K).every((x) => Number.isNaN(x)), `M ${M} NaN row`).toBe(true);
      expect(special[(M - 1) * K + 33], `M ${M} infinity`).toBe(Infinity);
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name loraRows', ({ k }) => {
  // groups of a step: ranks 8 (short K), 16 (two 8 x 8 blocks) and 20 (the general kernel), an empty group, and rows
  // 11..12 in no group (their y stays as it was)
  const [M, I, O] = [25, 72, 50];
  const groups = [{ start: 0, end: 7, R: 8, s: 2 }, { start: 7, end: 7, R: 4, s: 1 }, { start: 7, end: 11, R: 20, s: 0.5 }, { start: 13, end: 25, R: 16, s: 1.25 }];
  const rng = new Rng(21);
  const x = randn(rng, M * I);
  const y0 = randn(rng, M * O);
  const as = groups.map((g) => randn(rng, g.R * I));
  const bs = groups.map((g) => randn(rng, O * g.R));
  const call = (kern: Kernels, y: Float32Array, gs: typeof groups, rows = M, xs = x, ai = as, bi = bs) => kern.loraRows(y, xs, ai, bi,
    Float32Array.from(gs, (g) => g.s), Int32Array.from(gs, (g) => g.start), Int32Array.from(gs, (g) => g.end), Int32Array.from(gs, (g) => g.R), gs.length, rows, I, O);

  it('adds each group its delta as gemmRows, scale and an accumulating gemmRows do, and leaves other rows alone', () => {
    const y = Float32Array.from(y0);
    call(k, y, groups);
    const want = Float32Array.from(y0);
    groups.forEach((g, i) => {
      const n = g.end - g.start;
      if (n === 0) return;
      const u = new Float32Array(n * g.R);
      k.gemmRows(u, x.subarray(g.start * I, g.end * I), as[i], n, g.R, I, false);
      k.scale(u, u, g.s, n * g.R);
      k.gemmRows(want.subarray(g.start * O, g.end * O), u, bs[i], n, O, g.R, true);
    });
    expect(Array.from(y)).toEqual(Array.from(want));
    expect(Array.from(y.subarray(11 * O, 13 * O))).toEqual(Array.from(y0.subarray(11 * O, 13 * O)));
    // against the plain formula
    groups.forEach((g, i) => {
      for (let m = g.start; m < g.end; m++) for (let o = 0; o < O; o += 7) {
        let d = 0;
        for (let r = 0; r < g.R; r++) {
          let u = 0;
          for (let j = 0; j < I; j++) u += x[m * I + j] * as[i][r * I + j];
          d += g.s * u * bs[i][o * g.R + r];
        }
        expect(Math.abs(y[m * O + o] - (y0[m * O + o] + d)), `group ${i} row ${m}`).toBeLessThan(1e-3 * (1 + Math.abs(d)));
      }
    });
  });

  it('gives a row the same delta alone as in its group', () => {
    const all = Float32Array.from(y0);
    call(k, all, groups);
    for (const m of [0, 6, 8, 20]) {
      const i = groups.findIndex((g) => m >= g.start && m < g.end);
      const one = Float32Array.from(y0.subarray(m * O, (m + 1) * O));
      call(k, one, [{ ...groups[i], start: 0, end: 1 }], 1, x.subarray(m * I, (m + 1) * I), [as[i]], [bs[i]]);
      expect(Array.from(one), `row ${m}`).toEqual(Array.from(all.subarray(m * O, (m + 1) * O)));
    }
  });

  it('refuses a group outside the rows or a factor too short, naming the group', () => {
    expect(() => call(k, Float32Array.from(y0), [groups[0], { ...groups[3], end: M + 1 }])).toThrow(/group 1/);
    expect(() => call(k, Float32Array.from(y0), [groups[0]], M, x, [as[0].subarray(1)], [bs[0]])).toThrow(/as\[0\] is too short|group 0 needs/);
  });
});

/** Outputs of the *Many calls: an empty one, counts past the 6-row tiles, the 3-row and 48-row blocks, and one row */
const MANY_NS = [13, 0, 50, 1, 129];
/** [M, K]: one to three rows (narrow tiles), a group of 8 and more (blocks of 48; pairs, an odd row), a tail in k,
 *  a LoRA rank (K <= 16), whole blocks of 16 and 32 for bf16 */
const MANY_SHAPES: [number, number][] = [[1, 72], [2, 77], [3, 40], [5, 300], [9, 64], [20, 57], [7, 8], [13, 96]];

describe.each(impls.map((k) => ({ name: k.name, k })))('$name gemmRowsMany, gemmRowsBf16Many and gemmRowsI8Many', ({ k }) => {
  it('give each output the bits of its own gemmRows call, written or added', () => {
    const rng = new Rng(31);
    const Ns = Int32Array.from(MANY_NS);
    for (const [M, K] of MANY_SHAPES) {
      const a = randn(rng, M * K);
      const ws = MANY_NS.map((n) => randn(rng, n * K));
      const w16 = MANY_NS.map((n) => Uint16Array.from(randn(rng, n * K), (x) => nearestBf16(x)));
      const q8 = MANY_NS.map((n) => Int8Array.from({ length: n * K }, () => Math.round((rng.next() * 2 - 1) * 127)));
      const s8 = MANY_NS.map((n) => Float32Array.from({ length: n }, () => 0.001 + rng.next() * 0.02));
      for (const accumulate of [false, true]) {
        const c0 = MANY_NS.map((n) => (accumulate ? randn(rng, M * n) : new Float32Array(M * n).fill(NaN)));
        const cs = c0.map((c) => Float32Array.from(c));
        k.gemmRowsMany(cs, a, ws, Ns, Ns.length, M, K, accumulate);
        const c16 = c0.map((c) => Float32Array.from(c));
        k.gemmRowsBf16Many(c16, a, w16, Ns, Ns.length, M, K, accumulate);
        const c8 = c0.map((c) => Float32Array.from(c));
        k.gemmRowsI8Many(c8, a, q8, s8, Ns, Ns.length, M, K, accumulate);
        MANY_NS.forEach((n, s) => {
          const one = Float32Array.from(c0[s]);
          k.gemmRows(one, a, ws[s], M, n, K, accumulate);
          expect(Array.from(cs[s]), `${M}x${n}x${K} output ${s}`).toEqual(Array.from(one));
          const one16 = Float32Array.from(c0[s]);
          k.gemmRowsBf16(one16, a, w16[s], M, n, K, accumulate);
          expect(Array.from(c16[s]), `bf16 ${M}x${n}x${K} output ${s}`).toEqual(Array.from(one16));
          const one8 = Float32Array.from(c0[s]);
          k.gemmRowsI8(one8, a, q8[s], s8[s], M, n, K, accumulate);
          expect(Array.from(c8[s]), `int8 ${M}x${n}x${K} output ${s}`).toEqual(Array.from(one8));
        });
      }
    }
  });

  it('refuse a negative count, short outputs, weights or lists, naming the argument', () => {
    const [M, K] = [3, 16];
    const a = new Float32Array(M * K);
    const Ns = Int32Array.of(4, 5);
    const cs = [new Float32Array(M * 4), new Float32Array(M * 5)];
    const ws = [new Float32Array(4 * K), new Float32Array(5 * K)];
    const w16 = [new Uint16Array(4 * K), new Uint16Array(5 * K)];
    expect(() => k.gemmRowsMany(cs, a, ws, Int32Array.of(4, -1), 2, M, K, false)).toThrow(/Ns\[1\] must be >= 0/);
    expect(() => k.gemmRowsMany([cs[0], cs[1].subarray(1)], a, ws, Ns, 2, M, K, false)).toThrow(/cs\[1\] is too short/);
    expect(() => k.gemmRowsMany(cs, a, [ws[0], ws[1].subarray(K)], Ns, 2, M, K, false)).toThrow(/ws\[1\] is too short/);
    expect(() => k.gemmRowsBf16Many(cs, a, [w16[0], w16[1].subarray(K)], Ns, 2, M, K, false)).toThrow(/ws\[1\] is too short/);
    expect(() => k.gemmRowsMany(cs, a, [ws[0]], Ns, 2, M, K, false)).toThrow(/ws|2 entries/);
    const q8 = [new Int8Array(4 * K), new Int8Array(5 * K)];
    const s8 = [new Float32Array(4), new Float32Array(5)];
    expect(() => k.gemmRowsI8Many(cs, a, [q8[0], q8[1].subarray(K)], s8, Ns, 2, M, K, false)).toThrow(/qs\[1\] is too short/);
    expect(() => k.gemmRowsI8Many(cs, a, q8, [s8[0], s8[1].subarray(1)], Ns, 2, M, K, false)).toThrow(/scales\[1\] is too short/);
  });
});

/** x copied into a longer array so that its first element lies `bytes` past a cache line (as far as the kernels can
 *  tell: the reference's lineOffset is 0). */
function placed<T extends Float32Array | Uint16Array | Int8Array>(k: Kernels, x: T, bytes: number): T {
  const raw = new (x.constructor as new (n: number) => T)(x.length + 128);
  const size = raw.BYTES_PER_ELEMENT;
  const at = ((bytes - k.lineOffset(raw) + 128) % 64) / size;
  const out = raw.subarray(at, at + x.length) as T;
  out.set(x);
  return out;
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name row GEMMs and cache lines', ({ k }) => {
  it('give the same bits whatever distance from a cache line the rows and weights start at', () => {
    // the native int8 rows copy misplaced activations (or rows of K not a multiple of 16) onto cache lines first;
    // each batch is also checked row by row against the row alone, so a copy with the wrong row stride shows
    const rng = new Rng(33);
    for (const [M, N, K] of [[1, 40, 64], [5, 33, 96], [9, 20, 77], [20, 50, 48]]) {
      const a = randn(rng, M * K);
      const w = randn(rng, N * K);
      const w16 = Uint16Array.from(randn(rng, N * K), (x) => nearestBf16(x));
      const q = Int8Array.from({ length: N * K }, () => Math.round((rng.next() * 2 - 1) * 127));
      const scale = Float32Array.from({ length: N }, () => 0.001 + rng.next() * 0.02);
      const run = (bytes: number, rows: Float32Array, m: number) => {
        const [c, c16, c8] = [new Float32Array(m * N), new Float32Array(m * N), new Float32Array(m * N)];
        const ap = placed(k, rows, bytes);
        k.gemmRows(c, ap, placed(k, w, bytes), m, N, K, false);
        k.gemmRowsBf16(c16, ap, placed(k, w16, bytes), m, N, K, false);
        k.gemmRowsI8(c8, ap, placed(k, q, bytes), scale, m, N, K, false);
        return [Array.from(c), Array.from(c16), Array.from(c8)];
      };
      const lined = run(0, a, M);
      for (const bytes of [4, 16, 28, 32, 48]) expect(run(bytes, a, M), `${M}x${N}x${K} ${bytes} bytes past a line`).toEqual(lined);
      for (let m = 0; m < M; m++) {
        const alone = run(16, a.subarray(m * K, (m + 1) * K), 1);
        alone.forEach((c, i) => expect(c, `${M}x${N}x${K} row ${m} alone`).toEqual(lined[i].slice(m * N, (m + 1) * N)));
      }
    }
  });
});

describe.runIf(native !== null && hooks !== null)('native gemmRows*Many and threads', () => {
  it('does not depend on the thread count', () => {
    const rng = new Rng(32);
    const kern = native as Kernels;
    for (const M of [1, 4, 24]) { // a decode row, a small batch, blocks of 48 weight rows over the outputs
      const K = 256;
      const Ns = Int32Array.of(200, 64, 64);
      const a = randn(rng, M * K);
      const ws = Array.from(Ns, (n) => randn(rng, n * K));
      const w16 = Array.from(Ns, (n) => Uint16Array.from(randn(rng, n * K), (x) => nearestBf16(x)));
      const total = Ns.reduce((x, n) => x + n, 0);
      const split = (c: Float32Array) => Array.from(Ns, (n, s) => c.subarray(M * Ns.slice(0, s).reduce((x, y) => x + y, 0), M * (Ns.slice(0, s).reduce((x, y) => x + y, 0) + n)));
      sameOnAnyThreads(new Float32Array(M * total), (c) => kern.gemmRowsMany(split(c), a, ws, Ns, 3, M, K, false), `gemmRowsMany ${M} rows`);
      sameOnAnyThreads(new Float32Array(M * total), (c) => kern.gemmRowsBf16Many(split(c), a, w16, Ns, 3, M, K, false), `gemmRowsBf16Many ${M} rows`);
      const q8 = Array.from(Ns, (n) => Int8Array.from({ length: n * K }, () => Math.round((rng.next() * 2 - 1) * 127)));
      const s8 = Array.from(Ns, (n) => Float32Array.from({ length: n }, () => 0.001 + rng.next() * 0.02));
      sameOnAnyThreads(new Float32Array(M * total), (c) => kern.gemmRowsI8Many(split(c), a, q8, s8, Ns, 3, M, K, false), `gemmRowsI8Many ${M} rows`);
    }
  });
});

/** Runs fill(c) on 1, 2 and 3 threads, each into its own copy of c0, and checks the three results are the same bits. */
function sameOnAnyThreads(c0: Float32Array, fill: (c: Float32Array) => void, what: string): void {
  const results = [1, 2, 3].map((t) => {
    hooks?.setThreads(t);
    const c = Float32Array.from(c0);
    fill(c);
    return Array.from(c);
  });
  expect(results[1], what).toEqual(results[0]);
  expect(results[2], what).toEqual(results[0]);
}

describe.runIf(native !== null && hooks !== null)('native gemmRows and threads', () => {
  it('does not depend on the thread count', () => {
    const rng = new Rng(5);
    const [M, N, K] = [8, 2048, 512]; // large enough to run threaded
    const a = randn(rng, M * K);
    const w = randn(rng, N * K);
    const kern = native as Kernels;
    sameOnAnyThreads(new Float32Array(M * N), (c) => kern.gemmRows(c, a, w, M, N, K, false), 'gemmRows');
    const a24 = randn(rng, 24 * K); // more than 8 rows: blocks of 48 weight rows, two chunks per thread
    sameOnAnyThreads(new Float32Array(24 * N), (c) => kern.gemmRows(c, a24, w, 24, N, K, false), 'gemmRows 24 rows');
    // a LoRA rank as K (the short-K path, tiles of rows x columns split over the pool), accumulating as the delta (s u) B^T does
    const [Ms, Ns, Ks] = [40, 1001, 8];
    const u = randn(rng, Ms * Ks);
    const bf = randn(rng, Ns * Ks);
    sameOnAnyThreads(randn(rng, Ms * Ns), (c) => kern.gemmRows(c, u, bf, Ms, Ns, Ks, true), 'gemmRows, short K');
    // loraRows over groups of rows (one rank short, one long)
    const [Ml, Il, Ol] = [48, 576, 1536];
    const xl = randn(rng, Ml * Il);
    const al = [randn(rng, 8 * Il), randn(rng, 24 * Il)];
    const bl = [randn(rng, Ol * 8), randn(rng, Ol * 24)];
    sameOnAnyThreads(randn(rng, Ml * Ol), (c) => kern.loraRows(c, xl, al, bl, Float32Array.of(2, 0.5), Int32Array.of(0, 30),
      Int32Array.of(30, 48), Int32Array.of(8, 24), 2, Ml, Il, Ol), 'loraRows');
    // and gemmRowsI8 (int8 weights), threaded from 4M multiply-adds
    const q = Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v * 40))));
    const scale = Float32Array.from({ length: N }, (_, i) => 0.01 + 1e-5 * i);
    sameOnAnyThreads(new Float32Array(M * N), (c) => kern.gemmRowsI8(c, a, q, scale, M, N, K, false), 'gemmRowsI8');
    // and gemmRowsBf16 (bf16 weights)
    const w16 = Uint16Array.from(w, (v) => nearestBf16(v));
    sameOnAnyThreads(new Float32Array(M * N), (c) => kern.gemmRowsBf16(c, a, w16, M, N, K, false), 'gemmRowsBf16');
    // more than 8 rows: two weight rows at a time against blocks of rows (an odd N leaves one weight row alone)
    const [M2, N2] = [21, 1023];
    const a2 = randn(rng, M2 * K);
    const w2 = Uint16Array.from(randn(rng, N2 * K), (v) => nearestBf16(v));
    sameOnAnyThreads(new Float32Array(M2 * N2), (c) => kern.gemmRowsBf16(c, a2, w2, M2, N2, K, false), 'gemmRowsBf16, 21 rows');
    const q2 = Int8Array.from(randn(rng, N2 * K), (v) => Math.max(-127, Math.min(127, Math.round(v * 40))));
    const s2 = Float32Array.from({ length: N2 }, (_, i) => 0.01 + 1e-5 * i);
    sameOnAnyThreads(new Float32Array(M2 * N2), (c) => kern.gemmRowsI8(c, a2, q2, s2, M2, N2, K, false), 'gemmRowsI8, 21 rows');
  });
});

describe.runIf(native !== null && hooks !== null)('native bf16, int8 and float32 decode rows on each path', () => {
  // the CPU decides the paths (AVX512-BF16 dot pairs or AVX2 widening for bf16; AVX-512 or AVX2 widening for int8;
  // 16- or 8-lane tiles for float32); SHITATE_BF16_ROWS=widen, SHITATE_I8_ROWS=avx2 and SHITATE_F32_ROWS=avx2 force
  // the AVX2 ones, so on a CPU with both each is checked in its own process
  type Result = { path: string; stable: boolean; worst: number };
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/rows-paths.ts')],
      { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { bf16: Result; i8: Result; f32: Result & { outputs: number[] }; many: { f32: boolean; bf16: boolean; i8: boolean } };
  };

  it('keep rows independent and sums close to exact on the paths this CPU takes and on the AVX2 paths', () => {
    const auto = run({ SHITATE_BF16_ROWS: '', SHITATE_I8_ROWS: '', SHITATE_F32_ROWS: '' });
    expect(auto.bf16.path).toBe(hooks?.info().bf16Rows);
    expect(auto.i8.path).toBe(hooks?.info().i8Rows);
    expect(auto.f32.path).toBe(hooks?.info().f32Rows);
    const forced = run({ SHITATE_BF16_ROWS: 'widen', SHITATE_I8_ROWS: 'avx2', SHITATE_F32_ROWS: 'avx2' });
    expect(forced.bf16.path).toBe('widen');
    expect(forced.i8.path).toBe('avx2');
    expect(forced.f32.path).toBe('avx2');
    for (const r of [auto, forced]) expect(r.many, `${r.f32.path} / ${r.bf16.path} / ${r.i8.path}: several outputs at once`).toEqual({ f32: true, bf16: true, i8: true });
    for (const r of [auto.bf16, auto.i8, auto.f32, forced.bf16, forced.i8, forced.f32]) {
      expect(r.stable, r.path).toBe(true);
      expect(r.worst, r.path).toBeLessThan(1e-5);
    }
    // the float32 paths sum every element the same way: the same bits (a batch of 19 rows, K 8, 16, 45 and 576)
    expect(auto.f32.outputs.length).toBe(4 * 19 * 37);
    expect(auto.f32.outputs).toEqual(forced.f32.outputs);
  });
});

describe.runIf(native !== null && hooks !== null)('native decode rows from several threads at once', () => {
  // the row kernels share one pool of helper threads: calls from three Node workers at once (a call made while
  // another runs keeps to its own thread) must each still get their own, exact products
  it('give every caller its own result, the same as alone', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const a = require(workerData.addon);
      const [M, N, K] = [3, 4096, 576];
      const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i + workerData.seed));
      const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i));
      const w16 = new Uint16Array(N * K);
      a.f32ToBf16(w16, w, N * K);
      const ref = new Float32Array(M * N), ref16 = new Float32Array(M * N);
      a.gemmRows(ref, x, w, M, N, K, false);
      a.gemmRowsBf16(ref16, x, w16, M, N, K, false);
      let bad = 0;
      for (let r = 0; r < 200; r++) {
        const c = new Float32Array(M * N), c16 = new Float32Array(M * N);
        a.gemmRows(c, x, w, M, N, K, false);
        a.gemmRowsBf16(c16, x, w16, M, N, K, false);
        if (c.some((v, i) => v !== ref[i]) || c16.some((v, i) => v !== ref16[i])) bad++;
      }
      parentPort.postMessage({ bad, first: ref[0] });`;
    const addon = path.resolve(__dirname, '../../build/Release/shitate_native.node');
    const workers = [1, 2, 3].map((seed) => new Worker(code, { eval: true, workerData: { addon, seed } }));
    const results = await Promise.all(workers.map((wk) => new Promise<{ bad: number; first: number }>((resolve, reject) => {
      wk.once('message', resolve);
      wk.once('error', reject);
    })));
    await Promise.all(workers.map((wk) => wk.terminate()));
    for (const r of results) expect(r.bad).toBe(0);
    expect(new Set(results.map((r) => r.first)).size).toBe(3); // three different inputs, three different products
  });
});
