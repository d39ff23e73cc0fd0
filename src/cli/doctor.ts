// `shitate doctor`: what this machine gives shitate (Node, native kernels, BLAS, threads) and a quick
// kernel self-test comparing the native kernels with the reference ones.
import os from 'node:os';
import type { Command } from './main.js';
import { flagBool, parseFlags } from './args.js';
import { fastBf16, nativeStatus, referenceKernels, threadChoice, threadPlacement } from '../kernels/index.js';
import { kernelSelfTest } from '../kernels/selftest.js';
import { packageVersion } from './package-info.js';

const usage = `usage: shitate doctor [--json]

Prints the Node version, whether the native kernels loaded, the BLAS and CPU core type, the thread
count and where it comes from (SHITATE_THREADS, else one per physical core within any cgroup CPU
limit), whether the worker threads are bound to CPUs (SHITATE_PIN_THREADS=1), which compute path each
precision and weight format takes on this CPU, and runs a kernel
self-test (native vs reference). Exit code 1 when the self-test fails.
`;

interface Report {
  shitate: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  native: { loaded: boolean; error: string | null; blas: string | null; coreType: string | null; threads: number | null; openmp: boolean | null; bf16Gemm: string | null;
    bf16Elementwise: string | null;
    /** where the thread count comes from: SHITATE_THREADS, or this host's physical cores and cgroup CPU limit */
    threadsFrom: string | null; placement: string | null };
  /** the compute path each setting takes here, in words */
  paths: ComputePaths;
  selfTest: { op: string; maxAbsDiff: number; tolerance: number; pass: boolean }[];
}

interface ComputePaths {
  /** train --precision fp32 and generation with --weights f32 */
  fp32: string;
  /** train --precision bf16: 'native' on AVX512-BF16/AMX with oneDNN, 'emulated' otherwise */
  trainBf16: 'native' | 'emulated';
  /** generate/chat/serve --weights bf16 */
  weightsBf16: { decode: string; prefill: 'native' | 'emulated' };
  /** generate/chat/serve --weights int8 */
  weightsInt8: string;
}

/** Which path runs: bf16 GEMMs are native only with oneDNN on a CPU with AVX512-BF16 or AMX (else emulated on
 *  sgemm, same numbers); decode rows against bf16 weights use the addon's own one-pass kernel either way. */
function computePaths(loaded: boolean): ComputePaths {
  const fast = fastBf16() ? 'native' : 'emulated';
  return {
    fp32: loaded ? `float32 GEMMs on the BLAS; decode: one pass over the weight rows, split over the row pool (batched in serve, ${nativeStatus().info?.f32Rows === 'avx512'
      ? 'two 8-lane sums per AVX-512 instruction' : '8 lanes per AVX2 instruction'}; attention over the cached keys ${nativeStatus().info?.attnRows === 'avx512'
      ? '16 lanes per AVX-512 instruction' : '8 lanes per AVX2 instruction'})` : 'TypeScript reference kernels',
    trainBf16: fast,
    weightsBf16: {
      decode: !loaded ? 'TypeScript reference kernels'
        : `one pass over bf16 weight rows (half the bytes of float32), ${nativeStatus().info?.bf16Rows === 'avx512-bf16'
          ? 'AVX512-BF16 dot pairs' : 'weights widened to float32 (AVX2)'}; batched in serve`,
      prefill: fast,
    },
    weightsInt8: loaded ? `decode: one pass over int8 weight rows (a quarter of the bytes of float32), widened ${nativeStatus().info?.i8Rows === 'avx512'
      ? '16 per AVX-512 instruction' : '8 per AVX2 instruction'}; batched in serve; prefill: blocks widened to float32 on the BLAS`
      : 'TypeScript reference kernels',
  };
}

/** Where the kernels' thread count comes from, in words (null without the addon). */
function threadsFrom(): string | null {
  const c = threadChoice();
  if (!c) return null;
  return c.from === 'SHITATE_THREADS' ? 'set by SHITATE_THREADS' : c.plan.why;
}

function collect(): Report {
  const load = nativeStatus();
  const cpus = os.cpus();
  return {
    shitate: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    native: {
      loaded: load.kernels !== null,
      error: load.error,
      blas: load.info?.blas ?? null,
      coreType: load.info?.coreType ?? null,
      threads: load.info?.threads ?? null,
      openmp: load.info?.openmp ?? null,
      bf16Gemm: load.info?.bf16Gemm ?? null,
      bf16Elementwise: load.info?.bf16Elementwise ?? null,
      threadsFrom: threadsFrom(),
      placement: load.kernels !== null ? threadPlacement().why : null,
    },
    paths: computePaths(load.kernels !== null),
    selfTest: load.kernels ? kernelSelfTest(load.kernels, referenceKernels) : [],
  };
}

function print(r: Report): void {
  const out: string[] = [];
  out.push(`shitate ${r.shitate}`);
  out.push(`node        ${r.node} (${r.platform})`);
  out.push(`cpu         ${r.cpu}, ${r.cores} cores, ${r.memoryGiB} GiB RAM`);
  if (r.native.loaded) {
    out.push(`native      loaded`);
    out.push(`blas        ${r.native.blas}`);
    out.push(`core type   ${r.native.coreType}`);
    out.push(`threads     ${r.native.threads}${r.native.openmp ? ' (OpenMP)' : ' (no OpenMP)'}${r.native.threadsFrom ? `: ${r.native.threadsFrom}` : ''}  — set SHITATE_THREADS to change`);
    if (r.native.placement) out.push(`placement   ${r.native.placement}`);
    out.push(r.native.bf16Gemm === 'onednn' ? 'bf16 GEMM   oneDNN (train --precision bf16 runs frozen-weight GEMMs in bf16)'
      : 'bf16 GEMM   emulated (install libdnnl-dev and rebuild for a faster train --precision bf16)');
    const pb = r.paths;
    out.push('', 'compute paths on this machine:');
    out.push(`  train --precision fp32, --weights f32   ${pb.fp32}`);
    out.push(`  train --precision bf16                  ${pb.trainBf16 === 'native' ? 'bf16 GEMMs native (AVX512-BF16 / AMX)'
      : 'bf16 GEMMs emulated on sgemm (no AVX512-BF16/AMX or no oneDNN): same numbers, no speed-up; keep fp32'}; epilogues, SwiGLU, attention softmax and loss ${
      r.native.bf16Elementwise === 'avx512' ? '16 lanes (AVX-512)' : '8 lanes (AVX2)'}`);
    out.push(`  generate/chat/serve --weights bf16      decode: ${pb.weightsBf16.decode}; prefill: bf16 GEMM ${pb.weightsBf16.prefill}`);
    out.push(`  generate/chat/serve --weights int8      ${pb.weightsInt8}`);
    out.push('', 'kernel self-test (native vs reference):');
    for (const t of r.selfTest) {
      out.push(`  ${t.pass ? 'pass' : 'FAIL'}  ${t.op.padEnd(14)} max abs diff ${t.maxAbsDiff.toExponential(2)} (tolerance ${t.tolerance.toExponential(0)})`);
    }
  } else {
    out.push(`native      NOT loaded: ${r.native.error}`);
    out.push('            shitate runs on the TypeScript reference kernels (20-50x slower).');
    out.push('            fix: apt-get install -y libopenblas-dev g++ make, then `npm rebuild shitate`');
    out.push('            (in a checkout: `node scripts/build-native.mjs`).');
  }
  process.stdout.write(out.join('\n') + '\n');
}

export const doctor: Command = {
  summary: 'check this machine: native kernels, BLAS, threads, kernel self-test',
  async run(argv) {
    const p = parseFlags('doctor', argv, { json: { type: 'boolean' } });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const r = collect();
    if (flagBool(p, 'json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else print(r);
    return r.selfTest.every((t) => t.pass) ? 0 : 1;
  },
};
