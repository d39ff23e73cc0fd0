// Build-time probe used by binding.gyp: prints compiler/linker flags for this machine (BLAS location,
// optional oneDNN for bf16 GEMM, optional AVX2/FMA). Usage: node native/config.cjs include-dirs | libs | defines | simd
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function pkgConfig(args) {
  try {
    return execFileSync('pkg-config', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Directories holding OpenBLAS's cblas.h: pkg-config first, then the usual Debian/Fedora/Homebrew places. */
function includeDirs() {
  const pc = pkgConfig(['--cflags-only-I', 'openblas']);
  if (pc) return pc.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, ''));
  const candidates = [];
  for (const root of ['/usr/include', '/usr/local/include', '/opt/homebrew/opt/openblas/include',
    '/usr/local/opt/openblas/include']) {
    if (!fs.existsSync(root)) continue;
    candidates.push(path.join(root, 'openblas'));
    for (const arch of fs.readdirSync(root)) {
      if (arch.endsWith('-linux-gnu')) candidates.push(path.join(root, arch, 'openblas-pthread'), path.join(root, arch));
    }
    candidates.push(root);
  }
  const found = candidates.filter((d) => fs.existsSync(path.join(d, 'cblas.h')));
  return found.slice(0, 1);
}

/** oneDNN (Debian/Ubuntu `libdnnl-dev`) exports dnnl_gemm_bf16bf16f32, a bf16 x bf16 -> f32 GEMM about twice as
 *  fast as sgemm on CPUs with AVX512-BF16 or AMX. Optional: without it bf16 compute is emulated on sgemm. Used only
 *  when a test program that calls it compiles and links here. SHITATE_NO_DNNL=1 builds without it. */
let dnnlCache = null;
function hasDnnl() {
  if (dnnlCache !== null) return dnnlCache;
  dnnlCache = false;
  if (process.env.SHITATE_NO_DNNL === '1' || process.platform !== 'linux') return dnnlCache;
  const probe = 'extern "C" int dnnl_gemm_bf16bf16f32(char, char, long, long, long, float, const unsigned short*, long,\n' +
    '  const unsigned short*, long, float, float*, long);\n' +
    'int main() { unsigned short a = 0x3f80, b = 0x4000; float c = 0;\n' +
    '  return dnnl_gemm_bf16bf16f32(\'N\', \'N\', 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1) == 0 && c == 2.0f ? 0 : 1; }\n';
  const exe = path.join(require('node:os').tmpdir(), `shitate-dnnl-probe-${process.pid}`);
  try {
    execFileSync(process.env.CXX || 'g++', ['-x', 'c++', '-', '-o', exe, '-ldnnl'], { input: probe, stdio: ['pipe', 'ignore', 'ignore'] });
    execFileSync(exe, [], { stdio: 'ignore', timeout: 20000 });
    dnnlCache = true;
  } catch {
    dnnlCache = false;
  } finally {
    fs.rmSync(exe, { force: true });
  }
  return dnnlCache;
}

function libs() {
  const pc = pkgConfig(['--libs', 'openblas']);
  const blas = pc ? pc.split(/\s+/).filter(Boolean) : ['-lopenblas'];
  return hasDnnl() ? [...blas, '-ldnnl'] : blas;
}

function defines() {
  return hasDnnl() ? ['SHITATE_DNNL=1'] : [];
}

/** AVX2+FMA only when this CPU has them (the addon is built on the machine that runs it) and the user did
 *  not ask for a portable build; never -march=native, which could emit instructions a CI runner lacks. */
function simd() {
  if (process.env.SHITATE_NATIVE_PORTABLE === '1') return [];
  if (process.platform !== 'linux' || process.arch !== 'x64') return [];
  let cpuinfo = '';
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return [];
  }
  const flagsLine = cpuinfo.split('\n').find((l) => l.startsWith('flags')) ?? '';
  const flags = new Set(flagsLine.split(/\s+/));
  return flags.has('avx2') && flags.has('fma') ? ['-mavx2', '-mfma'] : [];
}

const what = process.argv[2];
const out = what === 'include-dirs' ? includeDirs() : what === 'libs' ? libs() : what === 'simd' ? simd()
  : what === 'defines' ? defines() : null;
if (out === null) {
  process.stderr.write(`usage: node native/config.cjs include-dirs|libs|defines|simd (got ${what})\n`);
  process.exit(2);
}
process.stdout.write(out.join(' ') + '\n');
