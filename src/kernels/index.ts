// Kernel dispatch: the native addon when it loads, else the TS reference kernels with one loud warning.
import { readFileSync } from 'node:fs';
import type { Kernels } from './types.js';
import { referenceKernels } from './ref/index.js';
import { loadNativeKernels, type NativeLoad } from './native.js';

export type { Kernels } from './types.js';
export { referenceKernels } from './ref/index.js';
export { preferSleepingBlasThreads, spinOmpThreadsBriefly, threadChoice, threadPlacement } from './native.js';
export { planThreads, type ThreadPlan } from './cpu-plan.js';
export type { NativeInfo, NativeLoad } from './native.js';

let active: Kernels | null = null;
let nativeLoad: NativeLoad | null = null;
let warned = false;

/** Result of trying to load the native addon (cached; tried once per process). */
export function nativeStatus(): NativeLoad {
  if (!nativeLoad) nativeLoad = loadNativeKernels();
  return nativeLoad;
}

/** The kernels every op uses. SHITATE_KERNELS=reference forces the TS kernels (debugging, tests). */
export function kernels(): Kernels {
  if (active) return active;
  if (process.env.SHITATE_KERNELS === 'reference') return (active = referenceKernels);
  const load = nativeStatus();
  if (load.kernels) return (active = load.kernels);
  if (!warned && process.env.SHITATE_QUIET_FALLBACK !== '1') {
    warned = true;
    process.emitWarning(
      `native kernels unavailable (${load.error ?? 'unknown reason'}); running on the TypeScript reference ` +
        'kernels, which are 20-50x slower. To get the fast path: install a BLAS and a compiler ' +
        '(Debian/Ubuntu: `apt-get install -y libopenblas-dev g++ make`) and run `npm rebuild shitate` ' +
        '(or `node scripts/build-native.mjs` in a checkout).',
      { code: 'SHITATE_NO_NATIVE' },
    );
  }
  return (active = referenceKernels);
}

/** Replace the active kernels (tests run the same suite on both implementations). */
export function useKernels(k: Kernels): void {
  active = k;
}

/** Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX-BF16, from /proc/cpuinfo on Linux) and the
 *  addon runs bf16 GEMMs on oneDNN: then `train --precision bf16` is markedly faster than fp32. */
export function fastBf16(): boolean {
  if (nativeStatus().info?.bf16Gemm !== 'onednn') return false;
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '';
    return /\b(avx512_bf16|amx_bf16)\b/.test(flags);
  } catch {
    return false;
  }
}
