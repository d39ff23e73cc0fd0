// Plumbing for the end-to-end benches that race shitate against PyTorch: flags (with BENCH_* env
// fallbacks), one thread environment shared by both sides, finding a torch interpreter, and printing.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kernels, nativeStatus } from '../../src/kernels/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = path.join(REPO_ROOT, 'bench', '.cache');

export type Json = Record<string, unknown>;

export interface FlagSpec {
  /** numeric flags and their defaults; `--name N` or env BENCH_NAME (dashes become underscores) */
  nums: Record<string, number>;
  /** string flags (no default) */
  strs?: string[];
  /** boolean switches */
  bools?: string[];
}

export interface Flags {
  num: Record<string, number>;
  str: Record<string, string | undefined>;
  bool: Record<string, boolean>;
}

function envName(flag: string): string {
  return `BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Parses argv against the spec; prints `usage` and exits on --help or a bad value. */
export function parseBenchFlags(argv: string[], spec: FlagSpec, usage: string): Flags {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const n of [...Object.keys(spec.nums), ...(spec.strs ?? [])]) options[n] = { type: 'string' };
  for (const b of spec.bools ?? []) options[b] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const num: Record<string, number> = {};
  for (const [name, def] of Object.entries(spec.nums)) {
    const raw = values[name] ?? process.env[envName(name)];
    const v = raw === undefined ? def : Number(raw);
    if (typeof raw === 'boolean' || !Number.isFinite(v) || v < 0) {
      console.error(`--${name} must be a non-negative number, found ${JSON.stringify(raw)}\n\n${usage}`);
      process.exit(2);
    }
    num[name] = v;
  }
  const str: Record<string, string | undefined> = {};
  for (const s of spec.strs ?? []) {
    const raw = values[s] ?? process.env[envName(s)];
    str[s] = typeof raw === 'string' ? raw : undefined;
  }
  const bool: Record<string, boolean> = {};
  for (const b of spec.bools ?? []) bool[b] = values[b] === true || process.env[envName(b)] === '1';
  return { num, str, bool };
}

/** The environment both sides run under: the same thread count for the kernels, OpenBLAS and OpenMP; with
 *  `passive` (the default) idle OpenMP workers sleep at once (OMP_WAIT_POLICY=PASSIVE), else each side keeps its
 *  own wait policy (OMP_WAIT_POLICY as this process has it, normally unset). Spinning OpenMP workers fight
 *  OpenBLAS's threads for the cores: with libgomp's default spin PyTorch's generation here ran at a third of its
 *  speed and its float32 training step at half, while its bf16 step (oneDNN's GEMMs on the OpenMP workers) ran
 *  10-12% faster; `shitate train` keeps libgomp's spin itself (spinOmpThreadsBriefly). */
export function threadEnv(threads: number, opts: { passive?: boolean } = {}): NodeJS.ProcessEnv {
  const n = String(threads);
  return {
    ...process.env,
    SHITATE_THREADS: n,
    OPENBLAS_NUM_THREADS: n,
    OMP_NUM_THREADS: n,
    MKL_NUM_THREADS: n,
    ...(opts.passive ?? true ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}),
  };
}

/** Node arguments that run a TypeScript worker under tsx, with a CPU profile when `profileDir` is set; where the
 *  benches run compiled (a bundle from bench/bundle.ts, no tsx there), the worker's compiled .js beside this file. */
export function nodeWorker(worker: string, profileDir?: string): string[] {
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return [...prof, path.join(path.dirname(here), worker.replace(/\.ts$/, '.js'))];
  return [...prof, '--import', 'tsx', path.join(REPO_ROOT, 'bench', 'lib', worker)];
}

/** A python interpreter that imports torch (--python, BENCH_PYTHON, else Debian's /usr/bin/python3), or
 *  null with the reason. */
export function findTorchPython(flag: string | undefined): { python: string | null; why: string } {
  const python = flag ?? '/usr/bin/python3';
  const r = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return { python: null, why: `${python} cannot import torch and numpy (${r.error?.message ?? r.stderr.trim().split('\n').pop()})` };
  }
  return { python, why: '' };
}

export function getNum(o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new Error(`result field "${key}" is not a number: ${JSON.stringify(v)}`);
  return v;
}

export function getNums(o: Json, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`result field "${key}" is not a number list`);
  return v as number[];
}

export function getStr(o: Json, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

/** Child side: which kernels this process computes with, for the READY line (the addon is loaded here). */
export function kernelsInUse(): { kernels: string; native: string | null } {
  const name = kernels().name;
  const info = nativeStatus().info;
  return { kernels: name, native: info && name === 'native' ? `${info.blas} (${info.coreType}), bf16 GEMM ${info.bf16Gemm}, ${info.threads} threads` : null };
}

/** Prints which kernels the shitate side ran on. */
export function reportShitateKernels(r: Json): void {
  const native = r.native ? ` (${getStr(r, 'native')})` : ' — the TS reference kernels, NOT the fast path (build native/)';
  console.log(`\nshitate kernels: ${getStr(r, 'kernels')}${native}`);
}

/** Prints what PyTorch's BLAS really is and shouts when it is the generic reference BLAS: with it torch runs
 *  at a few GFLOP/s and every ratio against it is meaningless. */
export function reportTorchBlas(r: Json): void {
  const libs = Array.isArray(r.blas_libs) ? (r.blas_libs as unknown[]).map(String) : [];
  // Debian's torch is built with BLAS_INFO=generic: it links libblas.so.3, whose provider the alternative picks
  console.log(`torch ${getStr(r, 'torch')}: BLAS_INFO=${getStr(r, 'blas_info')}, libblas.so.3 -> ${getStr(r, 'blas_alternative')}`);
  console.log(`  loaded: ${libs.join(', ') || '(none found in /proc/self/maps)'}`);
  console.log(`  torch sgemm 1024^3: ${fmt(getNum(r, 'sgemm_gflops'))} GFLOP/s on ${getNum(r, 'threads')} threads`);
  if (r.blas_generic === true) {
    const bar = '!'.repeat(78);
    console.log(`${bar}\n!! PyTorch is running on the generic reference BLAS, not OpenBLAS: its numbers are NOT a fair\n` +
      `!! reference and the ratios below are meaningless. Fix: apt-get install libopenblas0-pthread\n` +
      `!! (check: update-alternatives --display libblas.so.3-x86_64-linux-gnu).\n${bar}`);
  }
}

/** A compact table: first column left-aligned, the rest right-aligned. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
