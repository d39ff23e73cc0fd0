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

// The hybrid families' kernels (Qwen3.5, LFM2) against the counterparts they replace, on the same run: the chunked
// gated delta rule (forward + backward, a Qwen3.5-0.8B layer: 16 heads of 128 x 128) vs causal softmax attention of
// the same heads and tokens; the chunked forward vs the recurrent form over the same tokens; a decode step on the
// recurrent state vs an attention decode step over a 4096-token KV cache; the causal conv (SiLU, kernel 4) vs SwiGLU
// on the same elements; L2 norm vs RMSNorm. A ratio above 1.0 means the hybrid kernel is faster.
{
  const [T3, H3, D3] = [512, 16, 128];
  const unit = (x: Float32Array): Float32Array => {
    for (let r = 0; r < x.length / D3; r++) {
      let s = 0;
      for (let d = 0; d < D3; d++) s += x[r * D3 + d] ** 2;
      for (let d = 0; d < D3; d++) x[r * D3 + d] /= Math.sqrt(s);
    }
    return x;
  };
  const [q3, k3, v3] = [unit(randomArray(T3 * H3 * D3)), unit(randomArray(T3 * H3 * D3)), randomArray(T3 * H3 * D3)];
  const g3 = randomArray(T3 * H3).map((x) => -0.1 - Math.abs(x));
  const b3 = randomArray(T3 * H3).map((x) => 0.5 + x);
  const o3 = new Float32Array(q3.length);
  const states = new Float32Array(H3 * Math.ceil(T3 / 64) * D3 * D3);
  const grads = [q3, k3, v3, g3, b3].map((x) => new Float32Array(x.length));
  const lse3 = new Float32Array(H3 * T3);
  const scale = 1 / Math.sqrt(D3);
  const deltaFwdBwd = () => {
    k.deltaRuleChunk(o3, states, null, q3, k3, v3, g3, b3, null, 1, T3, H3, H3, D3, D3, scale);
    k.deltaRuleChunkBackward(grads[0], grads[1], grads[2], grads[3], grads[4], v3, states, q3, k3, v3, g3, b3, null, 1, T3, H3, H3, D3, D3, scale);
  };
  const attnFwdBwd = () => {
    k.attention(o3, lse3, q3, k3, v3, null, null, 1, T3, T3, H3, H3, D3, scale, 1, 0, 0);
    k.attentionBackward(grads[0], grads[1], grads[2], v3, q3, k3, v3, o3, lse3, null, null, 1, T3, T3, H3, H3, D3, scale, 1, 0, 0);
  };
  const state = new Float32Array(H3 * D3 * D3);
  const chunked = () => k.deltaRuleChunk(o3, null, null, q3, k3, v3, g3, b3, null, 1, T3, H3, H3, D3, D3, scale);
  const recurrent = () => k.deltaRuleRecurrent(o3, state, q3, k3, v3, g3, b3, 1, T3, H3, H3, D3, D3, scale);
  const Tk = 4096;
  const [kc, vc] = [randomArray(Tk * 2 * 256), randomArray(Tk * 2 * 256)];
  const attnStep = () => k.attention(o3, lse3, q3, kc, vc, null, null, 1, 1, Tk, 8, 2, 256, 1 / 16, 1, 0, 0);
  const deltaStep = () => k.deltaRuleRecurrent(o3, state, q3, k3, v3, g3, b3, 1, 1, H3, H3, D3, D3, scale);
  const [Tc, Ch, Kc] = [1024, 6144, 4];
  const xc = randomArray(Tc * Ch);
  const wc = randomArray(Ch * Kc);
  const oc = new Float32Array(xc.length);
  const dxc = new Float32Array(xc.length);
  const dwc = new Float32Array(wc.length);
  const [Nl, Dl] = [8192, 128];
  const rn = new Float32Array(Nl);
  const rows: string[][] = [];
  for (const [name, plain, variant] of [
    [`delta rule vs causal attention, fwd+bwd [T=${T3}, H=${H3}, D=${D3}]`, attnFwdBwd, deltaFwdBwd],
    [`delta rule chunked vs recurrent forward [T=${T3}, H=${H3}, D=${D3}]`, recurrent, chunked],
    [`decode step: delta state vs attention over Tk=${Tk} (H 8/2, D 256)`, attnStep, deltaStep],
    [`causal conv1d (SiLU, K=${Kc}) vs swiglu, fwd+bwd [${Tc}x${Ch}]`,
      () => { k.swiglu(oc, xc, xc, Tc * Ch); k.swigluBackward(dxc, oc, xc, xc, xc, Tc * Ch); },
      () => { k.causalConv1d(oc, xc, wc, null, null, null, 1, Tc, Ch, Kc, 1); k.causalConv1dBackward(dxc, dwc, null, xc, xc, wc, null, null, 1, Tc, Ch, Kc, 1); }],
    [`l2norm vs rmsnorm, fwd+bwd [${Nl}x${Dl}]`,
      () => { k.rmsnorm(out, rn, xc, wc, Nl, Dl, 1e-6); k.rmsnormBackward(dxc, null, xc, xc, wc, rn, Nl, Dl); },
      () => { k.l2norm(out, rn, xc, Nl, Dl, 1e-6); k.l2normBackward(dxc, xc, xc, rn, Nl, Dl); }],
  ] as const) {
    const [tPlain, tVar] = timePair(plain, variant);
    rows.push([name, (tPlain * 1e3).toFixed(2), (tVar * 1e3).toFixed(2), (tPlain / tVar).toFixed(2)]);
  }
  printTable(['hybrid kernel', 'counterpart ms', 'hybrid ms', 'ratio'], rows);
  console.log('ratio: speed of the hybrid kernel relative to the kernel it replaces on the same run (above 1.0 = faster).');
}
