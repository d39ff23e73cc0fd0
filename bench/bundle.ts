// The training bench as one self-contained archive, for a Linux x86-64 machine that has neither Node.js nor npm nor a
// network (a many-core server kept offline for a scaling run, say): this node binary, the bench and the library compiled to
// JavaScript, the native addon, and every shared library node and the addon load beyond the C library, with a
// run.sh that points the loader at them. On the other machine:
//   tar -xJf shitate-bench-linux-x64.tar.xz      (or: python3 -c "import tarfile; tarfile.open('shitate-bench-linux-x64.tar.xz').extractall()")
//   ./shitate-bench/run.sh --check                 (node, the addon and its libraries load; the kernels' CPU paths)
//   ./shitate-bench/run.sh --precision bf16 --scale 2,16 --kernel-times
// run.sh takes bench:train's flags; the random checkpoint is written there (under shitate-bench/js/bench/.cache) on
// first use. The addon is the one built here: its CPU-specific kernels are chosen at run time, so it runs on any
// x86-64 CPU with AVX2 and FMA, and the other machine needs a C library at least as new as this one's.
// Run: npm run bench:bundle [-- --out DIR]   (default bench/.cache; the archive is ~40 MB)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, REPO_ROOT, parseBenchFlags } from './lib/harness.js';

const USAGE = `bench/bundle.ts: the training bench as one archive for a machine without Node.js or npm

  --out DIR   where shitate-bench-linux-x64.tar.xz goes (default bench/.cache)`;

const flags = parseBenchFlags(process.argv.slice(2), { nums: {}, strs: ['out'], bools: [] }, USAGE);
const outDir = path.resolve(flags.str.out ?? CACHE_DIR);
if (process.platform !== 'linux') {
  console.error(`bench:bundle packs Linux binaries and libraries; this is ${process.platform}`);
  process.exit(2);
}
const addon = path.join(REPO_ROOT, 'build', 'Release', 'shitate_native.node');
if (!fs.existsSync(addon)) {
  console.error(`the native addon is not built (${addon} is missing): run node scripts/build-native.mjs first`);
  process.exit(2);
}

/** Runs a command; its stdout, or exits naming what failed. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
    process.exit(1);
  }
  return r.stdout;
}

// the C library's own parts come from the other machine (they must match its kernel and loader)
const SYSTEM = /^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil)\.so/;

/** The shared libraries `file` loads that the other machine may lack: soname -> the file here. */
function libraries(file: string): Map<string, string> {
  const libs = new Map<string, string>();
  for (const line of run('ldd', [file]).split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(\/\S+)/.exec(line);
    if (m && !SYSTEM.test(m[1])) libs.set(m[1], fs.realpathSync(m[2]));
    else if (/=>\s+not found/.test(line)) {
      console.error(`${file} needs ${line.trim()}: install it here first`);
      process.exit(1);
    }
  }
  return libs;
}

const work = path.join(CACHE_DIR, `bundle-${process.pid}`);
const root = path.join(work, 'shitate-bench');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
fs.mkdirSync(path.join(root, 'lib'));
try {
  // the bench and everything it imports, compiled (node's built-in modules are its only other imports)
  const js = path.join(root, 'js');
  const tsconfig = path.join(work, 'tsconfig.json');
  fs.writeFileSync(tsconfig, JSON.stringify({
    extends: path.join(REPO_ROOT, 'tsconfig.json'),
    compilerOptions: { rootDir: REPO_ROOT, outDir: js, noEmit: false, declaration: false, sourceMap: false,
      typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')] },
    include: [],
    files: ['bench/train.ts', 'bench/lib/train-worker.ts', 'bench/lib/dpo-worker.ts'].map((f) => path.join(REPO_ROOT, f)),
  }));
  run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig]);
  for (const dir of fs.readdirSync(js, { recursive: true, withFileTypes: true })) {
    if (dir.isFile() && !dir.name.endsWith('.js')) fs.rmSync(path.join(dir.parentPath, dir.name)); // nothing but code
  }
  // the package root the addon loader looks for, and the addon where it looks
  fs.writeFileSync(path.join(js, 'package.json'), JSON.stringify({ name: 'shitate-bench', private: true, type: 'module' }, null, 2));
  fs.mkdirSync(path.join(js, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(addon, path.join(js, 'build', 'Release', 'shitate_native.node'));

  const node = fs.realpathSync(process.execPath);
  fs.copyFileSync(node, path.join(root, 'bin', 'node'));
  fs.chmodSync(path.join(root, 'bin', 'node'), 0o755);
  const libs = new Map([...libraries(node), ...libraries(addon)]);
  for (const [soname, file] of libs) fs.copyFileSync(file, path.join(root, 'lib', soname));

  fs.writeFileSync(path.join(root, 'run.sh'), `#!/bin/sh
# shitate's training bench, self-contained: ./run.sh [bench:train flags], or ./run.sh --check
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ "$1" = "--check" ]; then
  "$here/bin/node" --version || exit 1
  exec "$here/bin/node" --input-type=module -e "
    const m = await import('$here/js/src/kernels/native.js');
    const l = m.loadNativeKernels();
    if (!l.kernels) { console.error(l.error); process.exit(1); }
    console.log(JSON.stringify({ ...l.info, threadsFrom: m.threadChoice(), placement: m.threadPlacement().why }, null, 2));"
fi
exec "$here/bin/node" "$here/js/bench/train.js" "$@"
`, { mode: 0o755 });

  fs.mkdirSync(outDir, { recursive: true });
  const archive = path.join(outDir, 'shitate-bench-linux-x64.tar.xz');
  const tmp = `${archive}.tmp-${process.pid}`;
  run('tar', ['-cJf', tmp, '-C', work, 'shitate-bench'], { ...process.env, XZ_OPT: '-6 -T0' });
  fs.renameSync(tmp, archive); // never a half-written archive under the final name
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(`wrote ${archive} (${mb(fs.statSync(archive).size)}): node ${process.version}, ${libs.size} libraries (${[...libs.keys()].join(', ')})`);
  console.log(`there: tar -xJf ${path.basename(archive)} && ./shitate-bench/run.sh --check && ./shitate-bench/run.sh --precision bf16 --scale 2,16 --kernel-times`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
