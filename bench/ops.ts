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
  { name: `layernorm + bias [${rows}x${C}]`, bytes: 8 * rows * C, run: () => k.layernorm(out, m, rstd, a, w, w, rows, C, 1e-5) },
  { name: 'gelu (erf)', bytes: 8 * n, run: () => k.gelu(out, a, n, 0) },
  { name: 'gelu (tanh)', bytes: 8 * n, run: () => k.gelu(out, a, n, 1) },
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

// The Falcon / BLOOM / Phi-3 kernels against their Llama counterparts on the same inputs in the same run: ALiBi
// attention (BLOOM-shaped heads, forward + backward) vs plain causal attention, LayerNorm with bias vs RMSNorm
// (forward + backward), exact-erf GELU vs SiLU (forward + backward), and Phi-4-mini's partial rotary (96 of 128
// dims) vs full RoPE. A ratio of 1.0 means the family's variant costs nothing extra.
{
  const [T2, H2, D2] = [512, 16, 64];
  const q2 = randomArray(T2 * H2 * D2);
  const k2 = randomArray(T2 * H2 * D2);
  const v2 = randomArray(T2 * H2 * D2);
  const o2 = new Float32Array(q2.length);
  const lse2 = new Float32Array(H2 * T2);
  const g2 = [new Float32Array(q2.length), new Float32Array(q2.length), new Float32Array(q2.length)];
  const slopes = Float32Array.from({ length: H2 }, (_, h) => 2 ** (-0.5 * (h + 1)));
  const attn2 = (alibi: Float32Array | null) => () => {
    k.attention(o2, lse2, q2, k2, v2, alibi, null, 1, T2, T2, H2, H2, D2, 0.125, 1, 0, 0);
    k.attentionBackward(g2[0], g2[1], g2[2], q2, q2, k2, v2, o2, lse2, alibi, null, 1, T2, T2, H2, H2, D2, 0.125, 1, 0, 0);
  };
  const decode = (alibi: Float32Array | null) => () => k.attention(o2, lse2, q2, k2, v2, alibi, null, 1, 1, T2, H2, H2, D2, 0.125, 1, 0, 0);
  const [Nr, Cr] = [2048, 1024];
  const xr = randomArray(Nr * Cr);
  const wr = randomArray(Cr);
  const dxr = new Float32Array(Nr * Cr);
  const dwr = new Float32Array(Cr);
  const dbr = new Float32Array(Cr);
  const meanr = new Float32Array(Nr);
  const rstdr = new Float32Array(Nr);
  const [Nh, Hh, Dh] = [2048, 24, 128];
  const xh = randomArray(Nh * Hh * Dh);
  const oh = new Float32Array(xh.length);
  const pos = Int32Array.from({ length: Nh }, (_, i) => i);
  const tab = (R: number) => [randomArray(Nh * R / 2), randomArray(Nh * R / 2)] as const;
  const [cosF, sinF] = tab(128);
  const [cosP, sinP] = tab(96);
  const dn = 1 << 22;
  const dxa = new Float32Array(dn);
  const rows: string[][] = [];
  for (const [name, plain, variant] of [
    [`attention fwd+bwd [T=${T2}, H=${H2}, D=${D2}], ALiBi vs none`, attn2(null), attn2(slopes)],
    [`attention decode step [Tk=${T2}, H=${H2}], ALiBi vs none`, decode(null), decode(slopes)],
    [`layernorm+bias vs rmsnorm, fwd+bwd [${Nr}x${Cr}]`,
      () => { k.rmsnorm(out, rstdr, xr, wr, Nr, Cr, 1e-5); k.rmsnormBackward(dxr, dwr, xr, xr, wr, rstdr, Nr, Cr); },
      () => { k.layernorm(out, meanr, rstdr, xr, wr, wr, Nr, Cr, 1e-5); k.layernormBackward(dxr, dwr, dbr, xr, xr, wr, meanr, rstdr, Nr, Cr); }],
    ['gelu (erf) vs silu, fwd+bwd [4M]', () => { k.silu(out, a, dn); k.siluBackward(dxa, b, a, dn); },
      () => { k.gelu(out, a, dn, 0); k.geluBackward(dxa, b, a, dn, 0); }],
    [`ropePartial R=96 vs rope D=128 [${Nh}x${Hh}x${Dh}]`, () => k.rope(oh, xh, cosF, sinF, pos, Nh, Hh, Dh),
      () => k.ropePartial(oh, xh, cosP, sinP, pos, Nh, Hh, Dh, 96)],
  ] as const) {
    const [tPlain, tVar] = timePair(plain, variant);
    rows.push([name, (tPlain * 1e3).toFixed(2), (tVar * 1e3).toFixed(2), (tPlain / tVar).toFixed(2)]);
  }
  printTable(['family kernel', 'Llama counterpart ms', 'variant ms', 'ratio'], rows);
  console.log('ratio: speed of the family\'s kernel relative to its Llama counterpart on the same inputs (1.0 = no extra cost).');
}
