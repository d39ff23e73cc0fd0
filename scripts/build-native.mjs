#!/usr/bin/env node
// npm "install" script: builds the native kernels (build/Release/shitate_native.node) with node-gyp.
// A failed build is not fatal: shitate then runs on its TypeScript kernels, and this prints one warning
// saying how to fix it. SHITATE_REQUIRE_NATIVE=1 (CI) turns the failure into exit code 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const required = process.env.SHITATE_REQUIRE_NATIVE === '1';
const logFile = path.join(root, 'build', 'shitate-native-build.log');

/** node-gyp's entry script: npm tells install scripts where its own copy is; else the copy bundled with
 *  this Node's npm; else a locally installed one. null means "use npx". */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const prefix = path.dirname(path.dirname(process.execPath));
  const bundled = [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), // Windows layout
  ];
  for (const candidate of bundled) if (existsSync(candidate)) return candidate;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

/** The running Node's own headers (e.g. /usr/include/node from Debian's nodejs or a tarball install), so
 *  node-gyp needs no download; undefined lets node-gyp use its cache or download as usual. */
function localNodeDir() {
  if (process.env.npm_config_nodedir) return undefined;
  const prefix = path.dirname(path.dirname(process.execPath));
  const ok = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) &&
    existsSync(path.join(prefix, 'include', 'node', 'common.gypi'));
  return ok ? prefix : undefined;
}

function runNodeGyp() {
  const gyp = findNodeGyp();
  const nodedir = localNodeDir();
  const args = ['rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const [cmd, argv] = gyp ? [process.execPath, [gyp, ...args]] : ['npx', ['--yes', 'node-gyp', ...args]];
  // binding.gyp runs `node native/config.cjs`: make sure this node is first on PATH.
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  const res = spawnSync(cmd, argv, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `$ ${cmd} ${argv.join(' ')}\n${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`;
  return { ok: res.status === 0, output };
}

/** Load the fresh addon once: a build can succeed and still not load (e.g. libopenblas.so missing at run time). */
function tryLoad() {
  const file = path.join(root, 'build', 'Release', 'shitate_native.node');
  if (!existsSync(file)) return `node-gyp reported success but ${file} does not exist`;
  try {
    const addon = require(file);
    const info = addon.info();
    return `ok: ${info.blas} (${info.coreType}), ${info.threads} threads, OpenMP ${info.openmp ? 'on' : 'off'}`;
  } catch (err) {
    return `error: the addon was built but does not load: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function lastErrorLines(output) {
  const lines = output.split('\n').filter((l) => /error|not found|No such file|cannot find/i.test(l));
  return (lines.length > 0 ? lines : output.split('\n')).slice(-6).map((l) => `    ${l.trim()}`).join('\n');
}

function main() {
  const { ok, output } = runNodeGyp();
  let problem = null;
  if (!ok) problem = `the C++ build (node-gyp) failed:\n${lastErrorLines(output)}`;
  else {
    const loaded = tryLoad();
    if (loaded.startsWith('ok: ')) {
      console.log(`shitate: native kernels built (${loaded.slice(4)})`);
      return 0;
    }
    problem = loaded.replace(/^error: /, '');
  }
  try {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, output);
  } catch {
    // the log is a convenience; the warning below is the message
  }
  console.warn(
    `\nshitate WARNING: native kernels are not available: ${problem}\n` +
      `  shitate will still work, but on its TypeScript kernels, which are 20-50x slower for training.\n` +
      `  To fix: install a compiler and OpenBLAS (Debian/Ubuntu: apt-get install -y libopenblas-dev g++ make;\n` +
      `  macOS: xcode-select --install), then run \`npm rebuild shitate\` (or \`node scripts/build-native.mjs\`\n` +
      `  in a checkout). Full build log: ${logFile}\n`,
  );
  return required ? 1 : 0;
}

process.exit(main());
