// CPU time calibration for `shitate estimate`: times the GEMM shapes a training step of this model runs,
// on this machine through the active kernels, and turns the rate into seconds per epoch. The share of a
// step spent outside GEMM (norms, attention, optimizer, autograd) is a factor measured with bench/train.
import { performance } from 'node:perf_hooks';
import type { Kernels } from '../kernels/index.js';
import { linearParams, type ModelShape, type TrainEstimate } from '../train/estimate.js';
import type { ComputePrecision } from '../tensor/lowp.js';

export interface GemmMeasure {
  M: number;
  N: number;
  K: number;
  gflops: number;
}

export interface CpuCalibration {
  kernels: Kernels['name'];
  /** GEMM rate at this model's shapes, weighted by their share of the work */
  gemmGflops: number;
  /** what a whole training step achieves: gemmGflops x TRAIN_EFFICIENCY */
  effectiveGflops: number;
  measured: GemmMeasure[];
}

/** Training FLOP rate / GEMM rate: what the rest of a step (elementwise kernels, attention, cross-entropy,
 *  AdamW, the tape) leaves of the GEMM speed. Measured by alternating calibrateCpu with LoRA training steps
 *  of a SmolLM2-135M-shaped model (r 8, 4 x 256, 2 threads): native 0.67-0.98 (median 0.91) over 5 pairs,
 *  reference 0.30-0.87 (median 0.39, 2 layers, 2 x 32) over 3, both on a busy 2-core machine. */
export const TRAIN_EFFICIENCY: Record<Kernels['name'], number> = { native: 0.85, reference: 0.5 };
/** The same for bf16 mixed precision on the native kernels: its GEMMs run ~2x faster while attention, norms
 *  and the tape do not, so they weigh more (bench/train --precision bf16: ~218 GFLOP/s per step against a
 *  calibrated bf16 GEMM rate of ~345). */
export const TRAIN_EFFICIENCY_BF16 = 0.63;

const CAP_MK = 512;
const CAP_NK = 2048;

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648; // LCG: values only need to be ordinary floats
    a[i] = x / 2147483648 - 0.5;
  }
  return a;
}

/** seconds per call of c[M,N] = a[M,K] @ b[N,K]^T (b as bf16 for precision bf16, as train multiplies frozen
 *  weights then), after one warm-up call, over at least `minSeconds` */
function timeGemm(k: Kernels, M: number, N: number, K: number, minSeconds: number, maxCalls: number,
  precision: ComputePrecision): number {
  const a = fill(M * K, 1);
  const b = fill(N * K, 2);
  const b16 = new Uint16Array(precision === 'bf16' ? N * K : 0);
  k.f32ToBf16(b16, b, b16.length);
  const c = new Float32Array(M * N);
  const run = precision === 'bf16'
    ? () => k.gemmBf16(c, a, b16, M, N, K, false, true, 0)
    : () => k.gemm(c, a, b, 1, M, N, K, false, true, 0, 0, 0);
  run();
  let calls = 0;
  let elapsed = 0;
  const t0 = performance.now();
  while (calls < maxCalls && (calls === 0 || elapsed < minSeconds)) {
    run();
    calls++;
    elapsed = (performance.now() - t0) / 1000;
  }
  return Math.max(elapsed, 1e-9) / calls;
}

/** GFLOP/s of a linear layer's forward GEMM (a[M,K] @ b[N,K]^T). A probe with a few rows sizes M so that the
 *  measurement stays near `budgetSeconds` even on the slow reference kernels; M never exceeds the request. */
export function measureGemm(k: Kernels, M: number, N: number, K: number, budgetSeconds = 0.1,
  precision: ComputePrecision = 'fp32'): GemmMeasure {
  const probeM = Math.min(M, 8);
  const perRow = timeGemm(k, probeM, N, K, 0, 1, precision) / probeM;
  const m = Math.max(probeM, Math.min(M, Math.floor(budgetSeconds / 4 / perRow)));
  const perCall = timeGemm(k, m, N, K, budgetSeconds / 2, 50, precision);
  return { M: m, N, K, gflops: (2 * m * N * K) / perCall / 1e9 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Measures the MLP, attention and output-head GEMM shapes of `s` (capped so it takes well under a second),
 *  in `rounds` interleaved rounds, keeping each shape's median: one busy moment on a shared machine then
 *  moves the figure less. */
export function calibrateCpu(k: Kernels, s: ModelShape, batchTokens: number, rounds = 3,
  precision: ComputePrecision = 'fp32'): CpuCalibration {
  const M = Math.max(1, Math.min(batchTokens, CAP_MK));
  const cap = (n: number) => Math.min(n, CAP_NK);
  const lin = linearParams(s);
  const attn = 2 * s.C * s.H * s.D + 2 * s.C * s.Hkv * s.D;
  const attnShare = attn / (attn + 3 * s.C * s.F);
  const head = s.V * s.C;
  const shapes = [
    { w: (lin * (1 - attnShare)) / (lin + head), N: cap(s.F), K: cap(s.C) },
    { w: (lin * attnShare) / (lin + head), N: cap(s.C), K: cap(s.C) },
    { w: head / (lin + head), N: cap(s.V), K: cap(s.C) },
  ];
  const runs: GemmMeasure[][] = shapes.map(() => []);
  for (let r = 0; r < rounds; r++) shapes.forEach((sh, i) => runs[i].push(measureGemm(k, M, sh.N, sh.K, 0.15 / rounds, precision)));
  const measured = runs.map((ms) => ({ ...ms[0], gflops: median(ms.map((m) => m.gflops)) }));
  // time-weighted (harmonic) mean: each part's share of the FLOPs runs at its own rate
  const gemmGflops = 1 / shapes.reduce((acc, sh, i) => acc + sh.w / measured[i].gflops, 0);
  const efficiency = precision === 'bf16' && k.name === 'native' ? TRAIN_EFFICIENCY_BF16 : TRAIN_EFFICIENCY[k.name];
  return { kernels: k.name, gemmGflops, effectiveGflops: gemmGflops * efficiency, measured };
}

/** Seconds to train on `tokens` tokens (one epoch of that size) at the calibrated rate. */
export function cpuSeconds(est: TrainEstimate, tokens: number, cal: CpuCalibration): number {
  return (est.flopsPerToken * tokens) / (cal.effectiveGflops * 1e9);
}

/** 95 s -> "1 min 35 s", 7300 s -> "2 h 02 min", 200000 s -> "2.3 days" */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const r = Math.round(seconds);
  if (r < 3600) return `${Math.floor(r / 60)} min ${String(r % 60).padStart(2, '0')} s`;
  const minutes = Math.round(r / 60);
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
