// Encoding float32 rows into GGUF tensor bytes: F32, F16, BF16 (round to nearest even) and the 32-wide block
// formats Q8_0, Q5_0 and Q5_1, bit for bit as ggml's reference quantizers (quantize_row_q8_0_ref, ...) compute
// them in float32; the 256-wide K-quants live in gguf-kquants.ts. Every function here is pure.
import { kernels } from '../kernels/index.js';
import { GgmlType, rowBytes } from './gguf-types.js';
import { quantizeQ4K, quantizeQ5K, quantizeQ6K } from './gguf-kquants.js';
import { fp16Bits } from './gguf-half.js';

const f = Math.fround;
/** C's roundf: to nearest, halves away from zero. */
function roundAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Q8_0 block of 32 at x[o..o+32) into out[p..p+34): d = amax/127, q = round(x/d). */
function q8Block(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
  const d = f(amax / 127);
  const id = d ? f(1 / d) : 0;
  view.setUint16(p, fp16Bits(d), true);
  for (let j = 0; j < 32; j++) out[p + 2 + j] = roundAway(f(x[o + j] * id)) & 0xff;
}

/** Q5_0 block of 32: d = max/-16 (max = the value of largest magnitude), 5-bit codes x/d + 16 split into a
 *  low nibble (16 bytes, element j and j+16 share one) and a 32-bit mask of high bits. */
function q5Block(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[o + j];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f(max / -16);
  const id = d ? f(1 / d) : 0;
  view.setUint16(p, fp16Bits(d), true);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const xi0 = Math.min(31, Math.trunc(f(f(x[o + j] * id) + 16.5)));
    const xi1 = Math.min(31, Math.trunc(f(f(x[o + 16 + j] * id) + 16.5)));
    out[p + 6 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
    qh |= ((xi0 & 0x10) >>> 4) << j;
    qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
  }
  view.setUint32(p + 2, qh >>> 0, true);
}

/** Q5_1 block of 32: d = (max - min) / 31 and min as f16, codes (x - min) / d + 0.5 truncated, split as Q5_0's. */
function q51Block(out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < 32; j++) {
    min = Math.min(min, x[o + j]);
    max = Math.max(max, x[o + j]);
  }
  const d = f(f(max - min) / 31);
  const id = d ? f(1 / d) : 0;
  view.setUint16(p, fp16Bits(d), true);
  view.setUint16(p + 2, fp16Bits(min), true);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const xi0 = Math.trunc(f(f(f(x[o + j] - min) * id) + 0.5)) & 0xff;
    const xi1 = Math.trunc(f(f(f(x[o + 16 + j] - min) * id) + 0.5)) & 0xff;
    out[p + 8 + j] = (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
    qh |= ((xi0 & 0x10) >>> 4) << j;
    qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
  }
  view.setUint32(p + 4, qh >>> 0, true);
}

type BlockFn = (out: Uint8Array, view: DataView, p: number, x: Float32Array, o: number) => void;

function blocks(x: Float32Array, bytesPerBlock: number, width: number, fn: BlockFn, t: GgmlType): Uint8Array {
  const out = new Uint8Array((x.length / width) * rowBytes(t, width));
  const view = new DataView(out.buffer);
  for (let b = 0, p = 0; b < x.length; b += 32, p += bytesPerBlock) fn(out, view, p, x, b);
  return out;
}

/** The GGUF bytes of `x` (rows of `width` values, row-major) as type `t`. */
export function encodeTensor(t: GgmlType, x: Float32Array, width: number): Uint8Array {
  switch (t) {
    case GgmlType.F32:
      return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case GgmlType.F16: {
      const h = new Uint16Array(x.length);
      kernels().f32ToF16(h, x, x.length);
      return new Uint8Array(h.buffer);
    }
    case GgmlType.BF16: {
      const h = new Uint16Array(x.length);
      kernels().f32ToBf16(h, x, x.length);
      return new Uint8Array(h.buffer);
    }
    case GgmlType.Q8_0:
      return blocks(x, 34, width, q8Block, t);
    case GgmlType.Q5_0:
      return blocks(x, 22, width, q5Block, t);
    case GgmlType.Q5_1:
      return blocks(x, 24, width, q51Block, t);
    case GgmlType.Q4_K:
      rowBytes(t, width);
      return quantizeQ4K(x);
    case GgmlType.Q5_K:
      rowBytes(t, width);
      return quantizeQ5K(x);
    case GgmlType.Q6_K:
      rowBytes(t, width);
      return quantizeQ6K(x);
  }
}
