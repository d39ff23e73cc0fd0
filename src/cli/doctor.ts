// `shitate doctor`: what this machine gives shitate (Node, native kernels, BLAS, threads) and a quick
// kernel self-test comparing the native kernels with the reference ones.
import os from 'node:os';
import type { Command } from './main.js';
import { flagBool, parseFlags } from './args.js';
import { nativeStatus, referenceKernels } from '../kernels/index.js';
import { kernelSelfTest } from '../kernels/selftest.js';
import { packageVersion } from './package-info.js';

const usage = `usage: shitate doctor [--json]

Prints the Node version, whether the native kernels loaded, the BLAS and CPU core type, the thread
count (SHITATE_THREADS), and runs a kernel self-test (native vs reference). Exit code 1 when the
self-test fails.
`;

interface Report {
  shitate: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  native: { loaded: boolean; error: string | null; blas: string | null; coreType: string | null; threads: number | null; openmp: boolean | null; bf16Gemm: string | null };
  selfTest: { op: string; maxAbsDiff: number; tolerance: number; pass: boolean }[];
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
    },
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
    out.push(`threads     ${r.native.threads}${r.native.openmp ? ' (OpenMP)' : ' (no OpenMP)'}  — set SHITATE_THREADS to change`);
    out.push(r.native.bf16Gemm === 'onednn' ? 'bf16 GEMM   oneDNN (train --precision bf16 runs frozen-weight GEMMs in bf16)'
      : 'bf16 GEMM   emulated (install libdnnl-dev and rebuild for a faster train --precision bf16)');
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
