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
  { name: 'geglu (tanh)', bytes: 12 * n, run: () => k.geglu(out, a, b, n, 1) },
  { name: 'softcap', bytes: 8 * n, run: () => k.softcap(out, a, n, 30) },
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

// Gemma's soft-capped variants against the same kernel without the cap, on the same inputs in the same run:
// attention (a Gemma-2 head shape, forward + backward) and the LM-head loss rows (Gemma's 256k vocabulary).
const [B, T, H, Hkv, D] = [1, 256, 8, 4, 256];
const q = randomArray(B * T * H * D);
const kk = randomArray(B * T * Hkv * D);
const vv = randomArray(B * T * Hkv * D);
const ao = new Float32Array(q.length);
const lse = new Float32Array(B * H * T);
const [dq, dk, dv] = [new Float32Array(q.length), new Float32Array(kk.length), new Float32Array(vv.length)];
const attn = (cap: number) => () => {
  k.attention(ao, lse, q, kk, vv, null, null, B, T, T, H, Hkv, D, 1 / 16, 1, 0, cap);
  k.attentionBackward(dq, dk, dv, q, q, kk, vv, ao, lse, null, null, B, T, T, H, Hkv, D, 1 / 16, 1, 0, cap);
};
const [N, Vocab] = [32, 262144];
const logits = randomArray(N * Vocab).map((x) => 40 * x);
const dl = new Float32Array(N * Vocab);
const losses = new Float32Array(N);
const targets = Int32Array.from({ length: N }, (_, i) => (i * 7919) % Vocab);
const capped: string[][] = [];
for (const [name, plain, withCap] of [
  [`attention fwd+bwd [T=${T}, H=${H}/${Hkv}, D=${D}], cap 50`, attn(0), attn(50)],
  [`cross-entropy + grad [${N}x${Vocab}], cap 30`, () => k.crossEntropy(losses, dl, logits, targets, N, Vocab, 1),
    () => k.softcapCrossEntropy(losses, dl, logits, targets, N, Vocab, 1, 30)],
] as const) {
  const [tPlain, tCap] = timePair(plain, withCap);
  capped.push([name, (tPlain * 1e3).toFixed(2), (tCap * 1e3).toFixed(2), (tPlain / tCap).toFixed(2)]);
}
printTable(['soft-capped kernel', 'plain ms', 'capped ms', 'ratio'], capped);
console.log('ratio: speed of the soft-capped kernel relative to the same kernel without the cap (1.0 = the cap is free).');
