// Memory throughput (GB/s) of the fused elementwise/row kernels on ~16M-element buffers, against a threaded
// memcpy that moves the same number of bytes in the same run. Run: node --import tsx bench/ops.ts
import { loadNative, printTable, randomArray, timePair } from './native-util.js';

const n = 1 << 24; // 16M elements
const C = 576; // row width for rmsnorm (hidden size)
const V = 1024; // row width for softmax
const { kernels: k, hooks } = loadNative();

const a = randomArray(n);
const b = randomArray(n);
const out = new Float32Array(n);
const m = new Float32Array(n);
const v = new Float32Array(n);
const w = randomArray(C);
const rstd = new Float32Array(n / C + 1);
const half = new Uint16Array(n).map((_, i) => 0x3f80 + (i & 0x3f)); // bf16 values near 1
const copyDst = new Float32Array(n * 4);
const copySrc = randomArray(n * 4);
const rows = Math.floor(n / C);

interface Op {
  name: string;
  bytes: number; // bytes a minimal implementation must read + write
  run: () => void;
}

const ops: Op[] = [
  { name: 'add', bytes: 12 * n, run: () => k.add(out, a, b, n, 0) },
  { name: 'mul', bytes: 12 * n, run: () => k.mul(out, a, b, n, 0) },
  { name: 'swiglu', bytes: 12 * n, run: () => k.swiglu(out, a, b, n) },
  { name: 'silu', bytes: 8 * n, run: () => k.silu(out, a, n) },
  { name: `rmsnorm [${rows}x${C}]`, bytes: 8 * rows * C, run: () => k.rmsnorm(out, rstd, a, w, rows, C, 1e-5) },
  { name: `softmax [${n / V}x${V}]`, bytes: 8 * n, run: () => k.softmax(out, a, n / V, V) },
  { name: 'adamw', bytes: 28 * n, run: () => k.adamw(out, a, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 10) },
  { name: 'bf16ToF32', bytes: 6 * n, run: () => k.bf16ToF32(out, half, n) },
];

const table: string[][] = [];
for (const op of ops) {
  const floats = Math.round(op.bytes / 8); // memcpy moves 8 bytes per float (read + write)
  const [tOp, tCopy] = timePair(op.run, () => hooks.memcpyBench(copyDst, copySrc, floats));
  const gbOp = op.bytes / tOp / 1e9;
  const gbCopy = (floats * 8) / tCopy / 1e9;
  table.push([op.name, (op.bytes / 1e6).toFixed(0), (tOp * 1e3).toFixed(2), gbOp.toFixed(1), gbCopy.toFixed(1),
    (gbOp / gbCopy).toFixed(2)]);
}
printTable(['kernel', 'MB moved', 'ms', 'GB/s', 'memcpy GB/s', 'ratio'], table);
console.log('ratio: kernel bandwidth relative to memcpy of the same bytes (1.0 = as fast as memory allows).');
