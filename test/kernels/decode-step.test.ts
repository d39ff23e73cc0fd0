// The batched decode step's kernels. attentionDecodeRows: each row's query against its own cache (its own length,
// capacity and garbage past the length) must equal attention() over that row alone with Tq = 1, bit for bit, for
// any rows beside it and any thread count; bad arguments are refused with the row named. swigluRows,
// addRmsnormRows, ropeRows: each token the same bits as a call for it alone, close to the plain kernels, and
// independent of the thread count. Over a KV cache held in bf16 (attentionDecodeRowsBf16, attentionKvBf16): the bits
// of the float32 kernels over the widened values.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../src/kernels/index.js';
import { loadNativeKernels, nativeBenchHooks } from '../../src/kernels/native.js';
import type { Kernels } from '../../src/kernels/types.js';
import { randn, Rng } from './helpers.js';

const native = loadNativeKernels().kernels;
const hooks = nativeBenchHooks();
const threadsBefore = hooks?.info().threads ?? 1;
const impls: Kernels[] = [referenceKernels, ...(native ? [native] : [])];

afterAll(() => hooks?.setThreads(threadsBefore));

interface Case { H: number; Hkv: number; D: number; lens: number[]; window: number; softcap: number }

const CASES: Case[] = [
  { H: 4, Hkv: 2, D: 8, lens: [1, 5, 9, 2], window: 0, softcap: 0 },
  { H: 9, Hkv: 3, D: 64, lens: [40, 1, 73, 12, 200, 33, 7], window: 0, softcap: 0 },
  { H: 6, Hkv: 6, D: 16, lens: [30, 3, 17], window: 8, softcap: 0 },
  { H: 8, Hkv: 2, D: 32, lens: [11, 26], window: 0, softcap: 30 },
  // head sizes past whole blocks: dot products with a tail (D % 16), weighted values with a tail (D % 32)
  { H: 4, Hkv: 1, D: 37, lens: [9, 14, 6], window: 0, softcap: 0 },
  { H: 4, Hkv: 2, D: 80, lens: [23, 5], window: 6, softcap: 0 },
];

/** Each row's cache: capacity beyond its length filled with NaN (nothing past lens[b] may be read). */
function caches(rng: Rng, c: Case): { ks: Float32Array[]; vs: Float32Array[] } {
  const R = c.Hkv * c.D;
  const make = (n: number) => {
    const buf = new Float32Array((n + 5) * R).fill(NaN);
    buf.set(randn(rng, n * R));
    return buf;
  };
  return { ks: c.lens.map(make), vs: c.lens.map(make) };
}

describe.runIf(native !== null)('native attentionDecodeRows against the reference', () => {
  it('agrees with the TypeScript kernel to float32 rounding, on every case', () => {
    const rng = new Rng(23);
    for (const c of CASES) {
      const { H, Hkv, D, lens, window, softcap } = c;
      const B = lens.length;
      const tq = lens.map((n, b) => Math.min(n, 1 + (b % 3)));
      const { ks, vs } = caches(rng, c);
      const total = tq.reduce((s, t) => s + t, 0);
      const q = randn(rng, total * H * D);
      const [got, want] = [new Float32Array(total * H * D), new Float32Array(total * H * D)];
      const args = [ks, vs, Int32Array.from(lens), Int32Array.from(tq), B, H, Hkv, D, 1 / Math.sqrt(D), window, softcap] as const;
      (native as Kernels).attentionDecodeRows(got, q, ...args);
      referenceKernels.attentionDecodeRows(want, q, ...args);
      expect(Math.max(...Array.from(got, (x, i) => Math.abs(x - want[i]))), `H ${H} D ${D}`).toBeLessThan(2e-6);
    }
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name attentionDecodeRows', ({ k }) => {
  it('gives each row what attention() gives it alone, reading no position past its length', () => {
    const rng = new Rng(21);
    for (const c of CASES) {
      const { H, Hkv, D, lens, window, softcap } = c;
      const B = lens.length;
      // queries per row: one (decoding), or a chunk of the last positions (below 16 the per-query path of attention(),
      // from 16 on its blocked path, so those agree to float32 rounding only)
      const tq = lens.map((n, b) => Math.max(1, Math.min(n, [1, 3, 1, 5, 18, 5, 2][b % 7])));
      const { ks, vs } = caches(rng, c);
      const total = tq.reduce((s, t) => s + t, 0);
      const q = randn(rng, total * H * D);
      const out = new Float32Array(total * H * D).fill(NaN);
      const scale = 1 / Math.sqrt(D);
      k.attentionDecodeRows(out, q, ks, vs, Int32Array.from(lens), Int32Array.from(tq), B, H, Hkv, D, scale, window, softcap);
      expect(out.every((x) => Number.isFinite(x)), `H ${H} D ${D}`).toBe(true);
      let row = 0;
      for (let b = 0; b < B; b++) {
        const [n, T] = [lens[b], tq[b]];
        const one = new Float32Array(T * H * D);
        k.attention(one, new Float32Array(H * T), q.subarray(row * H * D, (row + T) * H * D), ks[b].subarray(0, n * Hkv * D),
          vs[b].subarray(0, n * Hkv * D), null, null, 1, T, n, H, Hkv, D, scale, 1, window, softcap);
        const got = out.subarray(row * H * D, (row + T) * H * D);
        if (T < 16) expect(Array.from(got), `H ${H} D ${D} row ${b} (${T} queries, ${n} keys)`).toEqual(Array.from(one));
        else expect(Math.max(...Array.from(got, (x, i) => Math.abs(x - one[i]))), `row ${b}`).toBeLessThan(1e-5);
        row += T;
      }
    }
  });

  it('refuses a row without queries, more queries than positions, or a cache shorter than its length', () => {
    const [H, Hkv, D] = [2, 1, 4];
    const ok = [new Float32Array(3 * D), new Float32Array(2 * D)];
    const q = new Float32Array(3 * H * D);
    const out = new Float32Array(3 * H * D);
    const call = (lens: number[], tq: number[]) => () => k.attentionDecodeRows(out, q, ok, ok, Int32Array.from(lens), Int32Array.from(tq), 2, H, Hkv, D, 0.5, 0, 0);
    expect(call([3, 2], [1, 0])).toThrow(/row 1/);
    expect(call([3, 1], [1, 2])).toThrow(/row 1/);
    expect(call([3, 4], [1, 1])).toThrow(/row 1|\[1\]/);
  });
});

/** A cache held in bf16: each value rounded (nearest even), and the float32 cache of exactly those values. */
function bf16Cache(k: Kernels, f32: Float32Array): { bits: Uint16Array; wide: Float32Array } {
  const bits = new Uint16Array(f32.length);
  k.f32ToBf16(bits, f32, f32.length);
  const wide = new Float32Array(f32.length);
  k.bf16ToF32(wide, bits, bits.length);
  return { bits, wide };
}

describe.each(impls.map((k) => ({ name: k.name, k })))('$name attentionDecodeRowsBf16', ({ k }) => {
  it('gives the bits of attentionDecodeRows over the caches widened to float32, reading no position past a length', () => {
    const rng = new Rng(24);
    for (const c of [...CASES, { H: 2, Hkv: 1, D: 256, lens: [19, 4], window: 0, softcap: 0 }, { H: 3, Hkv: 3, D: 7, lens: [2, 13], window: 0, softcap: 0 }]) {
      const { H, Hkv, D, lens, window, softcap } = c;
      const B = lens.length;
      const tq = lens.map((n, b) => Math.max(1, Math.min(n, [1, 3, 1, 5, 2][b % 5])));
      const { ks, vs } = caches(rng, c); // NaN past each length: rounded to a bf16 NaN
      const [k16, v16] = [ks.map((x) => bf16Cache(k, x)), vs.map((x) => bf16Cache(k, x))];
      const total = tq.reduce((s, t) => s + t, 0);
      const q = randn(rng, total * H * D);
      const [got, want] = [new Float32Array(total * H * D).fill(NaN), new Float32Array(total * H * D)];
      const rest = [Int32Array.from(lens), Int32Array.from(tq), B, H, Hkv, D, 1 / Math.sqrt(D), window, softcap] as const;
      k.attentionDecodeRowsBf16(got, q, k16.map((x) => x.bits), v16.map((x) => x.bits), ...rest);
      k.attentionDecodeRows(want, q, k16.map((x) => x.wide), v16.map((x) => x.wide), ...rest);
      expect(got.every((x) => Number.isFinite(x)), `H ${H} D ${D}`).toBe(true);
      expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(want.buffer)), `H ${H} D ${D}`).toBe(0);
    }
  });

  it('attentionKvBf16 gives the bits of attention() over k and v widened, on the blocked and the per-query path', () => {
    const rng = new Rng(25);
    // [B, Tq, Tk, H, Hkv, D, causal, window, softcap, ALiBi, segments]
    const shapes: [number, number, number, number, number, number, number, number, number, boolean, boolean][] = [
      [1, 40, 70, 9, 3, 64, 1, 0, 0, false, false], [2, 17, 17, 4, 2, 37, 1, 6, 0, true, true], [1, 3, 50, 4, 4, 16, 1, 0, 20, false, false],
      [2, 20, 33, 6, 1, 80, 0, 0, 0, false, true], [1, 64, 200, 2, 1, 128, 1, 0, 0, true, false], [1, 1, 9, 2, 2, 7, 1, 3, 0, false, false],
    ];
    for (const [B, Tq, Tk, H, Hkv, D, causal, window, softcap, alibi, seg] of shapes) {
      const n = B * Tk * Hkv * D;
      const [k16, v16] = [bf16Cache(k, randn(rng, n)), bf16Cache(k, randn(rng, n))];
      const q = randn(rng, B * Tq * H * D);
      const slopes = alibi ? Float32Array.from({ length: H }, (_, h) => 0.3 / (h + 1)) : null;
      const segs = seg ? Int32Array.from({ length: B * Tk }, (_, j) => ((j % Tk) < Tk / 3 ? 1 : 2)) : null;
      const rest = [slopes, segs, B, Tq, Tk, H, Hkv, D, 1 / Math.sqrt(D), causal, window, softcap] as const;
      const [got, want] = [new Float32Array(B * Tq * H * D).fill(NaN), new Float32Array(B * Tq * H * D)];
      const [lg, lw] = [new Float32Array(B * H * Tq), new Float32Array(B * H * Tq)];
      k.attentionKvBf16(got, lg, q, k16.bits, v16.bits, ...rest);
      k.attention(want, lw, q, k16.wide, v16.wide, ...rest);
      const label = `B ${B} Tq ${Tq} Tk ${Tk} H ${H}/${Hkv} D ${D}`;
      expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(want.buffer)), label).toBe(0);
      expect(Buffer.compare(Buffer.from(lg.buffer), Buffer.from(lw.buffer)), `${label} lse`).toBe(0);
    }
    expect(() => k.attentionKvBf16(new Float32Array(8), new Float32Array(2), new Float32Array(8), new Uint16Array(3), new Uint16Array(4),
      null, null, 1, 1, 1, 2, 1, 4, 0.5, 1, 0, 0)).toThrow(/k|4 values/);
  });

  it('refuses a cache shorter than its length, with the list named', () => {
    const [H, Hkv, D] = [2, 1, 4];
    const q = new Float32Array(2 * H * D);
    const out = new Float32Array(2 * H * D);
    const ok = [new Uint16Array(3 * D), new Uint16Array(2 * D)];
    const short = [new Uint16Array(3 * D), new Uint16Array(D)];
    const call = (ks: Uint16Array[], vs: Uint16Array[]) => () =>
      k.attentionDecodeRowsBf16(out, q, ks, vs, Int32Array.of(3, 2), Int32Array.of(1, 1), 2, H, Hkv, D, 0.5, 0, 0);
    expect(call(ok, ok)).not.toThrow();
    expect(call(short, ok)).toThrow(/ks|keys|row 1|\[1\]/);
    expect(call(ok, short)).toThrow(/vs|values|row 1|\[1\]/);
  });
});

describe.runIf(native !== null && hooks !== null)('native attentionDecodeRows and threads', () => {
  it('does not depend on the thread count', () => {
    const rng = new Rng(22);
    const c: Case = { H: 9, Hkv: 3, D: 64, lens: Array.from({ length: 24 }, (_, i) => 20 + 9 * i), window: 0, softcap: 0 };
    const B = c.lens.length;
    const tq = c.lens.map((_, i) => (i % 5 === 0 ? 7 : 1));
    const total = tq.reduce((s, t) => s + t, 0);
    const { ks, vs } = caches(rng, c);
    const q = randn(rng, total * c.H * c.D);
    const results = [1, 2, 3].map((t) => {
      hooks?.setThreads(t);
      const out = new Float32Array(total * c.H * c.D);
      native?.attentionDecodeRows(out, q, ks, vs, Int32Array.from(c.lens), Int32Array.from(tq), B, c.H, c.Hkv, c.D, 0.125, 0, 0);
      return Array.from(out);
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

/** The three per-token kernels over M tokens of width W (F, C or H*D), into fresh buffers. */
function perToken(k: Kernels, M: number, inputs: { a: Float32Array; b: Float32Array; w: Float32Array; pos: Int32Array; cos: Float32Array; sin: Float32Array },
  W: number, H: number): { swiglu: Float32Array; sum: Float32Array; norm: Float32Array; rstd: Float32Array; rope: Float32Array } {
  const { a, b, w, pos, cos, sin } = inputs;
  const swiglu = new Float32Array(M * W);
  k.swigluRows(swiglu, a, b, M, W);
  const [sum, norm, rstd] = [new Float32Array(M * W), new Float32Array(M * W), new Float32Array(M)];
  k.addRmsnormRows(sum, norm, rstd, a, b, 0.75, w, M, W, 1e-5);
  const rope = Float32Array.from(a.subarray(0, M * W));
  k.ropeRows(rope, rope, cos, sin, pos, M, H, W / H); // in place, as the decode step calls it
  return { swiglu, sum, norm, rstd, rope };
}

describe.runIf(native !== null && hooks !== null)('native per-query attention on each path', () => {
  // the CPU decides (16 lanes on AVX-512, else 8); SHITATE_ATTN_ROWS=avx2 forces the 8-lane path, so on an AVX-512
  // CPU both run, each in its own process, and must give the same bits (decode rows and attention() with few queries)
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/attn-paths.ts')],
      { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { path: string; outputs: (number | 'NaN')[] };
  };

  it('gives the same bits on the path this CPU takes and on the 8-lane path', () => {
    const auto = run({ SHITATE_ATTN_ROWS: '' });
    expect(auto.path).toBe(hooks?.info().attnRows);
    const forced = run({ SHITATE_ATTN_ROWS: 'avx2' });
    expect(forced.path).toBe('avx2');
    expect(auto.outputs.length).toBeGreaterThan(50_000);
    expect(auto.outputs.some((x) => x === 'NaN')).toBe(false);
    const differ = auto.outputs.filter((x, i) => !Object.is(x, forced.outputs[i])).length;
    expect(differ, `${auto.path} against avx2`).toBe(0);
  });
});

describe.each(impls.map((k) => ({ name: k.name, k })))('$name swigluRows, addRmsnormRows, ropeRows', ({ k }) => {
  it('give each token what a call for it alone gives, close to swiglu, addRmsnorm and rope over all tokens', () => {
    const rng = new Rng(23);
    for (const [M, W, H] of [[1, 52, 2], [7, 52, 2], [40, 576, 9], [130, 96, 3]]) {
      const D = W / H;
      const P = 300;
      const inputs = {
        a: randn(rng, M * W), b: randn(rng, M * W), w: randn(rng, W),
        pos: Int32Array.from({ length: M }, (_, i) => (i * 37) % P),
        cos: Float32Array.from({ length: P * D / 2 }, (_, i) => Math.cos(i * 0.01)),
        sin: Float32Array.from({ length: P * D / 2 }, (_, i) => Math.sin(i * 0.01)),
      };
      const all = perToken(k, M, inputs, W, H);
      for (const m of [0, M >> 1, M - 1]) {
        const row = (x: Float32Array, width = W) => x.subarray(m * width, (m + 1) * width);
        const one = perToken(k, 1, { ...inputs, a: row(inputs.a), b: row(inputs.b), pos: inputs.pos.subarray(m, m + 1) }, W, H);
        for (const key of ['swiglu', 'sum', 'norm', 'rope'] as const) {
          expect(Array.from(one[key]), `${M}x${W} token ${m} ${key}`).toEqual(Array.from(row(all[key])));
        }
        expect(one.rstd[0]).toBe(all.rstd[m]);
      }
      const swiglu = new Float32Array(M * W);
      k.swiglu(swiglu, inputs.a, inputs.b, M * W);
      const [sum, norm] = [new Float32Array(M * W), new Float32Array(M * W)];
      k.addRmsnorm(sum, norm, null, new Float32Array(M), inputs.a, inputs.b, null, 0.75, inputs.w, M, W, 1e-5);
      const rope = new Float32Array(M * W);
      k.rope(rope, inputs.a, inputs.cos, inputs.sin, inputs.pos, M, H, D);
      for (const [got, want, what] of [[all.swiglu, swiglu, 'swiglu'], [all.sum, sum, 'sum'], [all.norm, norm, 'norm'], [all.rope, rope, 'rope']] as const) {
        const err = Math.max(...Array.from(got, (x, i) => Math.abs(x - want[i]) / (Math.abs(want[i]) + 1)));
        expect(err, `${M}x${W} ${what}`).toBeLessThan(1e-6);
      }
    }
  });
});

describe.runIf(native !== null && hooks !== null)('native swigluRows, addRmsnormRows, ropeRows and threads', () => {
  it('do not depend on the thread count', () => {
    const rng = new Rng(24);
    const [M, W, H, P] = [200, 576, 9, 256];
    const inputs = {
      a: randn(rng, M * W), b: randn(rng, M * W), w: randn(rng, W), pos: Int32Array.from({ length: M }, (_, i) => i % P),
      cos: Float32Array.from({ length: P * 32 }, (_, i) => Math.cos(i)), sin: Float32Array.from({ length: P * 32 }, (_, i) => Math.sin(i)),
    };
    const runs = [1, 2, 3].map((t) => {
      hooks?.setThreads(t);
      const r = perToken(native as Kernels, M, inputs, W, H);
      return [r.swiglu, r.sum, r.norm, r.rstd, r.rope].map((x) => Array.from(x));
    });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});
