// Loader for the C++ Node-API addon (build/Release/shitate_native.node). Never throws: reports why not.
// The addon's functions already have the Kernels signatures, so the wrapper only picks them by name.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { F32, Kernels } from './types.js';
import { LOWP_KERNEL_NAMES, type LowpKernels } from './lowp-types.js';
import { placementCpus, planThreads, type ThreadPlan } from './cpu-plan.js';

export interface NativeInfo {
  blas: string; // e.g. "OpenBLAS 0.3.21" or "Accelerate"
  coreType: string; // e.g. "Haswell" (OpenBLAS core name) or CPU model
  threads: number; // threads the kernels use (SHITATE_THREADS, else one per physical core: cpu-plan.ts)
  openmp: boolean;
  /** how gemmBf16 runs: oneDNN's bf16 GEMM, or emulated on sgemm (same numbers, no speed-up) */
  bf16Gemm: 'onednn' | 'emulated';
  /** how decode rows multiply bf16 weights: AVX512-BF16 dot-pair instructions, or the weights widened to float32
   *  (AVX2; also where SHITATE_BF16_ROWS=widen) */
  bf16Rows: 'avx512-bf16' | 'widen';
  /** how decode rows widen int8 weights: 16 per AVX-512 instruction, or 8 per AVX2 one (also where
   *  SHITATE_I8_ROWS=avx2) */
  i8Rows: 'avx512' | 'avx2';
  /** how batched decode rows (more than 3) multiply float32 weights: two 8-lane sums per AVX-512 instruction, or one
   *  per AVX2 instruction (also where SHITATE_F32_ROWS=avx2); the same bits either way */
  f32Rows: 'avx512' | 'avx2';
  /** how decode attention (one query against its keys) runs: 16 lanes per AVX-512 instruction, or 8 per AVX2 one
   *  (also where SHITATE_ATTN_ROWS=avx2); the same bits either way */
  attnRows: 'avx512' | 'avx2';
  /** how bf16 training's linear epilogues, SwiGLU and attention softmax, and the cross-entropy, run: 16 lanes per
   *  AVX-512 instruction, or 8 per AVX2 one (also where SHITATE_LOWP_512=0); the same bits either way */
  bf16Elementwise: 'avx512' | 'avx2';
}

export interface NativeLoad {
  kernels: Kernels | null;
  info: NativeInfo | null;
  error: string | null;
}

/** Entry points for benchmarks and thread control; not part of the Kernels contract. */
export interface NativeBenchHooks {
  /** one plain cblas_sgemm, beta 0, no validation: the baseline kernels().gemm is measured against */
  rawSgemm(c: F32, a: F32, b: F32, M: number, N: number, K: number, transA: boolean, transB: boolean): void;
  /** copy n floats with the kernels' threads: the bandwidth baseline for elementwise kernels */
  memcpyBench(dst: F32, src: F32, n: number): void;
  setThreads(n: number): void;
  /** binds worker i of each thread pool to CPU cpus[i] (i = 1..n-1; the calling thread stays unbound), n 0 unbinds;
   *  returns the OpenMP workers bound (SHITATE_PIN_THREADS does this at load) */
  pinThreads(cpus: Int32Array, n: number): number;
  info(): NativeInfo;
}

type NativeAddon = Omit<Kernels, 'name'> & NativeBenchHooks;

const ADDON_FILE = path.join('build', 'Release', 'shitate_native.node');

/** The package root: the nearest directory above this file holding package.json (works from src/ and dist/). */
function packageRoot(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

let addonCache: { addon: NativeAddon | null; error: string | null } | null = null;
let threadPlan: ThreadPlan | null = null;
let placement: ThreadPlacement = { pinned: false, why: 'not bound (SHITATE_PIN_THREADS=1 binds each worker thread to a core of its own)' };

/** Whether the kernels' worker threads were bound to CPUs at load (SHITATE_PIN_THREADS), and in words. */
export interface ThreadPlacement {
  pinned: boolean;
  why: string;
  /** the CPU of each thread (index 0: the calling thread, left unbound) when pinned */
  cpus?: number[];
}

export function threadPlacement(): ThreadPlacement {
  return placement;
}

/** What SHITATE_PIN_THREADS asks: 'on' (1, true, yes, cores), 'off' (unset, empty, 0, false, no) or 'unknown'. */
export function pinSetting(): 'on' | 'off' | 'unknown' {
  const v = (process.env.SHITATE_PIN_THREADS ?? '').trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'no') return 'off';
  return v === '1' || v === 'true' || v === 'yes' || v === 'cores' ? 'on' : 'unknown';
}

/** Binds the worker threads as SHITATE_PIN_THREADS asks (1: worker i on the i-th entry of placementCpus(), one
 *  physical core each first; 0 or unset: no binding). The calling thread is never bound: node's main thread, the
 *  threads it starts later (libuv, workers) inherit its CPUs. */
function placeThreads(addon: NativeAddon, threads: number): ThreadPlacement {
  const asked = pinSetting();
  if (asked === 'off') return placement;
  if (asked === 'unknown') {
    return { pinned: false, why: `not bound: SHITATE_PIN_THREADS=${(process.env.SHITATE_PIN_THREADS ?? '').trim()} is not understood (1 binds each worker thread to a core of its own, 0 does not)` };
  }
  const order = placementCpus();
  if (!order) return { pinned: false, why: 'not bound: this platform does not say which CPUs the process may use' };
  if (threads < 2) return { pinned: false, why: 'not bound: one thread (the calling thread is never bound)' };
  const cpus = Array.from({ length: threads }, (_, i) => order[i % order.length]);
  const bound = addon.pinThreads(Int32Array.from(cpus), cpus.length);
  if (bound === 0) return { pinned: false, why: 'not bound: this build cannot bind threads to CPUs' };
  const shared = threads > order.length ? `; ${threads} threads share ${order.length === 1 ? 'one CPU' : `${order.length} CPUs`}` : '';
  const workers = threads === 2 ? 'worker 1' : `workers 1-${threads - 1}`;
  return { pinned: true, cpus, why: `${workers} of each pool bound by SHITATE_PIN_THREADS to CPU${threads === 2 ? '' : 's'} ${cpus.slice(1).join(', ')}${threads === 2 ? '' : ' in turn'} (the calling thread is not bound)${shared}` };
}

/** SHITATE_THREADS when it holds a thread count the addon accepts (1 to 4096), else null. */
function threadsFromEnv(): number | null {
  const v = process.env.SHITATE_THREADS;
  return v !== undefined && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 4096 ? Number(v) : null;
}

/** How the kernels' thread count was chosen: SHITATE_THREADS, or the plan for this host (null before the addon
 *  loads, or when it could not). */
export function threadChoice(): { threads: number; from: 'SHITATE_THREADS' } | { threads: number; from: 'plan'; plan: ThreadPlan } | null {
  const env = threadsFromEnv();
  if (env !== null) return { threads: env, from: 'SHITATE_THREADS' };
  return threadPlan ? { threads: threadPlan.threads, from: 'plan', plan: threadPlan } : null;
}

function loadAddon(): { addon: NativeAddon | null; error: string | null } {
  if (addonCache) return addonCache;
  const root = packageRoot();
  const file = root ? path.join(root, ADDON_FILE) : null;
  if (!file || !existsSync(file)) {
    addonCache = { addon: null, error: `native addon not built (${file ?? ADDON_FILE} is missing)` };
    return addonCache;
  }
  // libgomp reads OMP_WAIT_POLICY once, when the addon loads it. Spinning OpenMP workers steal the cores
  // OpenBLAS's own threads need between kernels (measured 1.7x slower training steps), so idle workers sleep,
  // except in a training process whose BLAS threads sleep at once (spinOmpThreadsBriefly)
  if (!ompSpin) process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    addonCache = { addon, error: null };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    addonCache = { addon: null, error: `native addon failed to load (${file}): ${why}` };
    return addonCache;
  }
  // the addon starts with one thread per CPU it may use; without SHITATE_THREADS, one per physical core within any
  // cgroup CPU limit (cpu-plan.ts reads files only and falls back to counting CPUs, so this cannot fail the load)
  if (threadsFromEnv() === null) {
    threadPlan = planThreads();
    addonCache.addon?.setThreads(threadPlan.threads);
  }
  if (addonCache.addon) placement = placeThreads(addonCache.addon, threadsFromEnv() ?? threadPlan?.threads ?? 1);
  return addonCache;
}

/** For training processes, called before the first kernel runs: OpenBLAS's idle workers then sleep at once
 *  instead of spinning for 2^28 cycles after each threaded sgemm (its default, read once when the library
 *  loads), which is longer than the gap to the next GEMM in a training step and takes a core from the OpenMP
 *  kernels and oneDNN in between (measured: bf16 steps 1.25x faster, LoRA rank kernels up to 1.8x). Decode
 *  is better off with the default (its many small sgemv calls pay the wake-up): generation leaves it alone.
 *  Returns false when the addon was already loaded (the setting can no longer take effect). */
export function preferSleepingBlasThreads(): boolean {
  if (addonCache) return false;
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  return true;
}

let ompSpin = false;

/** For training processes (after preferSleepingBlasThreads), called before the first kernel runs: idle OpenMP
 *  workers keep libgomp's default, a short spin before they sleep, instead of sleeping at once. A training step
 *  runs thousands of OpenMP regions back to back (oneDNN's GEMMs and the addon's kernels), and waking a sleeping
 *  worker for each cost 7-8% of a bf16 step (SmolLM2-135M shape, 2 cores: 944-957 -> 871-885 ms in alternating
 *  runs) and ~5% of a float32 one; with OpenBLAS's workers asleep at once nothing else wants those cores. Decode
 *  keeps the passive policy (its row pool spins instead). Returns false when the addon was already loaded. */
export function spinOmpThreadsBriefly(): boolean {
  if (addonCache) return false;
  ompSpin = true;
  return true;
}

/** The bf16 mixed-precision kernels, by name (lowp-types.ts). */
function lowpKernels(a: NativeAddon): LowpKernels {
  return Object.fromEntries(LOWP_KERNEL_NAMES.map((k) => [k, a[k]])) as unknown as LowpKernels;
}

function wrap(a: NativeAddon): Kernels {
  return {
    name: 'native',
    gemm: a.gemm,
    gemmRows: a.gemmRows,
    gemmRowsI8: a.gemmRowsI8,
    gemmRowsBf16: a.gemmRowsBf16,
    gemmRowsMany: a.gemmRowsMany,
    gemmRowsBf16Many: a.gemmRowsBf16Many,
    gemmRowsI8Many: a.gemmRowsI8Many,
    loraRows: a.loraRows,
    gemmBf16: a.gemmBf16,
    gemmI8: a.gemmI8,
    quantizeRowsI8: a.quantizeRowsI8,
    add: a.add,
    mul: a.mul,
    scale: a.scale,
    scaleMany: a.scaleMany,
    axpy: a.axpy,
    sumRows: a.sumRows,
    sumSquares: a.sumSquares,
    sumSquaresMany: a.sumSquaresMany,
    silu: a.silu,
    siluBackward: a.siluBackward,
    swiglu: a.swiglu,
    swigluBackward: a.swigluBackward,
    gelu: a.gelu,
    geluBackward: a.geluBackward,
    geglu: a.geglu,
    gegluBackward: a.gegluBackward,
    softcap: a.softcap,
    softcapBackward: a.softcapBackward,
    softmax: a.softmax,
    softmaxBackward: a.softmaxBackward,
    rmsnorm: a.rmsnorm,
    rmsnormBackward: a.rmsnormBackward,
    layernorm: a.layernorm,
    layernormBackward: a.layernormBackward,
    embedding: a.embedding,
    embeddingBackward: a.embeddingBackward,
    rope: a.rope,
    ropeBackward: a.ropeBackward,
    ropePartial: a.ropePartial,
    ropePartialBackward: a.ropePartialBackward,
    causalConv1d: a.causalConv1d,
    causalConv1dBackward: a.causalConv1dBackward,
    l2norm: a.l2norm,
    l2normBackward: a.l2normBackward,
    deltaRuleChunk: a.deltaRuleChunk,
    deltaRuleChunkBackward: a.deltaRuleChunkBackward,
    deltaRuleRecurrent: a.deltaRuleRecurrent,
    attention: a.attention,
    attentionKvBf16: a.attentionKvBf16,
    attentionDecodeRows: a.attentionDecodeRows,
    attentionDecodeRowsBf16: a.attentionDecodeRowsBf16,
    swigluRows: a.swigluRows,
    addRmsnormRows: a.addRmsnormRows,
    ropeRows: a.ropeRows,
    attentionBackward: a.attentionBackward,
    encoderAttention: a.encoderAttention,
    encoderAttentionBackward: a.encoderAttentionBackward,
    crossEntropy: a.crossEntropy,
    softcapCrossEntropy: a.softcapCrossEntropy,
    dropout: a.dropout,
    dropoutBackward: a.dropoutBackward,
    adamw: a.adamw,
    adamwMany: a.adamwMany,
    bf16ToF32: a.bf16ToF32,
    f16ToF32: a.f16ToF32,
    f32ToBf16: a.f32ToBf16,
    f32ToF16: a.f32ToF16,
    lineOffset: a.lineOffset,
    topKIds: a.topKIds,
    argmaxF32: a.argmaxF32,
    ...lowpKernels(a),
  };
}

export function loadNativeKernels(): NativeLoad {
  const { addon, error } = loadAddon();
  if (!addon) return { kernels: null, info: null, error: error ?? 'native addon unavailable' };
  try {
    const kernels = wrap(addon);
    // An addon built from older sources can lack a kernel: refuse it rather than fail mid-training.
    const missing = Object.entries(kernels).filter(([k, v]) => k !== 'name' && typeof v !== 'function');
    if (missing.length > 0) {
      const names = missing.map(([k]) => k).join(', ');
      return { kernels: null, info: null, error: `native addon is out of date (missing ${names}); rebuild it` };
    }
    return { kernels, info: addon.info(), error: null };
  } catch (err) {
    return { kernels: null, info: null, error: `native addon is unusable: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Benchmark hooks and thread control, or null when the addon is not available. */
export function nativeBenchHooks(): NativeBenchHooks | null {
  const { addon } = loadAddon();
  if (!addon) return null;
  return { rawSgemm: addon.rawSgemm, memcpyBench: addon.memcpyBench, setThreads: addon.setThreads, pinThreads: addon.pinThreads, info: addon.info };
}
