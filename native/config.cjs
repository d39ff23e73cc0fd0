// Build-time probe used by binding.gyp: prints compiler/linker flags for this machine (BLAS location,
// optional AVX2/FMA). Usage: node native/config.cjs include-dirs | libs | simd
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

function libs() {
  const pc = pkgConfig(['--libs', 'openblas']);
  return pc ? pc.split(/\s+/).filter(Boolean) : ['-lopenblas'];
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
const out = what === 'include-dirs' ? includeDirs() : what === 'libs' ? libs() : what === 'simd' ? simd() : null;
if (out === null) {
  process.stderr.write(`usage: node native/config.cjs include-dirs|libs|simd (got ${what})\n`);
  process.exit(2);
}
process.stdout.write(out.join(' ') + '\n');
