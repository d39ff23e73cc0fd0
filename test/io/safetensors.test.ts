// safetensors: round trips through writeSafetensors/openSafetensors, reads of hand-built files (so the reader
// is checked against the format, not against our writer), chunked conversion, atomic writes, bad files.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors, writeFileAtomic } from '../../src/io/index.js';
import { expectShitateError, rawSafetensors, tempDir } from './helpers.js';

const dir = tempDir();

function u16Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}

function parseRawHeader(file: string): { n: number; header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { n, header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) };
}

describe('reading hand-built files', () => {
  it('decodes bf16, f16 and f32 by their bit patterns', () => {
    // bf16 0x3F80 = 1, 0xC000 = -2, 0x3FC0 = 1.5; f16 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504 (largest half)
    const f32 = new Uint8Array(Float32Array.from([0.1, -3.25]).buffer);
    const data = new Uint8Array([...u16Bytes([0x3f80, 0xc000, 0x3fc0]), ...u16Bytes([0x3c00, 0xc000, 0x7bff]), ...f32]);
    const file = path.join(dir, 'hand.safetensors');
    fs.writeFileSync(file, rawSafetensors({
      __metadata__: { format: 'pt' },
      a: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'F16', shape: [3, 1], data_offsets: [6, 12] },
      c: { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
    }, data));
    const st = openSafetensors(file);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect([...st.header.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(st.header.get('b')?.shape).toEqual([3, 1]);
    expect([...st.readF32('a')]).toEqual([1, -2, 1.5]);
    expect([...st.readF32('b')]).toEqual([1, -2, 65504]);
    expect([...st.readF32('c')]).toEqual([...Float32Array.from([0.1, -3.25])]);
    st.close();
  });

  it('reads into a caller buffer (a view into a larger array) and refuses a wrong size', () => {
    const file = path.join(dir, 'view.safetensors');
    fs.writeFileSync(file, rawSafetensors({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } },
      new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer)));
    const st = openSafetensors(file);
    const big = new Float32Array(6).fill(-1);
    const out = st.readF32('w', big.subarray(1, 5));
    expect(out.buffer).toBe(big.buffer);
    expect([...big]).toEqual([-1, 1, 2, 3, 4, -1]);
    expectShitateError(() => st.readF32('w', new Float32Array(3)), 'E_SHAPE', file, '4 elements', 'found 3');
    expectShitateError(() => st.readF32('nope'), 'E_TENSOR_MISSING', file, '"nope"');
    st.close();
  });

  it('recognises integer tensors but refuses to load them as float32', () => {
    const file = path.join(dir, 'int.safetensors');
    fs.writeFileSync(file, rawSafetensors({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(16)));
    const st = openSafetensors(file);
    expect(st.header.get('ids')?.dtype).toBe('I64');
    expectShitateError(() => st.readF32('ids'), 'E_SAFETENSORS_DTYPE', file, 'I64', 'F32, F16, BF16');
    st.close();
  });
});

describe('writeSafetensors', () => {
  it('round-trips F32 exactly and F16/BF16 at their precision, with metadata', () => {
    const file = path.join(dir, 'rt.safetensors');
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3);
    const exact = Float32Array.from([0, -0, 1, -2, 0.5, 1024, -65280, 0.25]); // exact in both halves
    writeSafetensors(file, [
      { name: 'z.f32', shape: [3, 4], dtype: 'F32', data: w },
      { name: 'a.bf16', shape: [8], dtype: 'BF16', data: exact },
      { name: 'm.f16', shape: [2, 4], dtype: 'F16', data: exact },
      { name: 'r.bf16', shape: [12], dtype: 'BF16', data: w },
    ], { format: 'pt', note: '仕立て' });
    const st = openSafetensors(file);
    expect(st.metadata).toEqual({ format: 'pt', note: '仕立て' });
    expect([...st.readF32('z.f32')]).toEqual([...w]);
    expect([...st.readF32('a.bf16')]).toEqual([...exact]);
    expect([...st.readF32('m.f16')]).toEqual([...exact]);
    // bf16 keeps 8 significant bits: half an ulp is at most 2^-8 of the value
    const r = st.readF32('r.bf16');
    for (let i = 0; i < w.length; i++) expect(Math.abs(r[i] - w[i])).toBeLessThanOrEqual(Math.abs(w[i]) * 2 ** -8);
    st.close();
  });

  it('rounds to nearest even: 1 + 2^-8 is a bf16 tie and goes to 1; 1 + 3*2^-8 goes up', () => {
    const file = path.join(dir, 'rne.safetensors');
    writeSafetensors(file, [{ name: 't', shape: [2], dtype: 'BF16', data: Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8]) }]);
    const st = openSafetensors(file);
    expect([...st.readF32('t')]).toEqual([1, 1 + 2 ** -6]);
    st.close();
  });

  it('lays the file out per the format: sorted names, contiguous data, header padded to 8 bytes', () => {
    const file = path.join(dir, 'layout.safetensors');
    writeSafetensors(file, [
      { name: 'b', shape: [3], dtype: 'F16', data: new Float32Array(3) },
      { name: 'a', shape: [1], dtype: 'F32', data: new Float32Array(1) },
      { name: 'c', shape: [0], dtype: 'BF16', data: new Float32Array(0) },
    ], { k: 'v' });
    const { n, header } = parseRawHeader(file);
    expect((8 + n) % 8).toBe(0);
    expect(Object.keys(header)).toEqual(['__metadata__', 'a', 'b', 'c']);
    expect(header.a.data_offsets).toEqual([0, 4]);
    expect(header.b.data_offsets).toEqual([4, 10]);
    expect(header.c.data_offsets).toEqual([10, 10]);
    expect(fs.statSync(file).size).toBe(8 + n + 10);
  });

  it('converts in chunks: a tensor longer than the scratch buffer survives intact', () => {
    const file = path.join(dir, 'big.safetensors');
    const n = (1 << 20) + 7; // one element past a full chunk
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 251) - 125; // small integers: exact in bf16 and f16
    writeSafetensors(file, [{ name: 'x', shape: [n], dtype: 'BF16', data }, { name: 'y', shape: [n], dtype: 'F16', data }]);
    const st = openSafetensors(file);
    const x = st.readF32('x');
    const y = st.readF32('y');
    let diff = 0;
    for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(x[i] - data[i]), Math.abs(y[i] - data[i]));
    expect(diff).toBe(0);
    st.close();
  });

  it('writes atomically: a failed write leaves the old file and no temp file', () => {
    const file = path.join(dir, 'atomic.safetensors');
    writeSafetensors(file, [{ name: 'keep', shape: [1], dtype: 'F32', data: Float32Array.from([7]) }]);
    const before = fs.readFileSync(file);
    expectShitateError(() => writeSafetensors(file, [{ name: 'bad', shape: [2, 2], dtype: 'F32', data: new Float32Array(3) }]),
      'E_SAFETENSORS_WRITE', file, 'expected 4 elements', 'found 3');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses duplicate names', () => {
    const t = { name: 'same', shape: [1], dtype: 'F32' as const, data: new Float32Array(1) };
    expectShitateError(() => writeSafetensors(path.join(dir, 'dup.safetensors'), [t, t]), 'E_SAFETENSORS_WRITE', '"same"');
  });
});

describe('writeFileAtomic', () => {
  it('replaces the content whole and leaves no temp file', () => {
    const file = path.join(dir, 'sub', 'config.json');
    writeFileAtomic(file, '{"a":1}');
    writeFileAtomic(file, new Uint8Array(Buffer.from('{"b":2}')));
    expect(fs.readFileSync(file, 'utf8')).toBe('{"b":2}');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['config.json']);
  });
});

describe('bad files', () => {
  const bad = (name: string, bytes: Uint8Array): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  it('a file shorter than the 8-byte length', () => {
    const file = bad('short.safetensors', new Uint8Array(5));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_TRUNCATED', file, 'at least 8 bytes', '5 bytes');
  });

  it('a header length past the end of the file', () => {
    const full = rawSafetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    const file = bad('cut-header.safetensors', full.subarray(0, 20));
    const e = expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_TRUNCATED', file, 'found a file of 20 bytes');
    expect(e.hint).toMatch(/re-download/);
  });

  it('a truncated data buffer (offsets past the end)', () => {
    const full = rawSafetensors({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16));
    const file = bad('cut-data.safetensors', full.subarray(0, full.length - 6));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_TRUNCATED', file, '"t"', `found a file of ${full.length - 6} bytes`);
  });

  it('invalid JSON in the header', () => {
    const file = bad('json.safetensors', rawSafetensors('{"t": {"dtype": "F32",'));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_HEADER', file, 'invalid JSON');
  });

  it('an unknown dtype', () => {
    const file = bad('dtype.safetensors', rawSafetensors({ t: { dtype: 'F12', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_DTYPE', file, '"F12"', 'BF16');
  });

  it('data_offsets that disagree with shape and dtype', () => {
    const file = bad('size.safetensors', rawSafetensors({ t: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 10] } }, new Uint8Array(10)));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_SIZE', file, 'expected 12 bytes', 'spanning 10 bytes');
  });

  it('overlapping tensors', () => {
    const file = bad('overlap.safetensors', rawSafetensors({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, new Uint8Array(12)));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_OVERLAP', file, '"a"', '"b"');
  });

  it('a malformed entry and a missing file', () => {
    const file = bad('entry.safetensors', rawSafetensors({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }));
    expectShitateError(() => openSafetensors(file), 'E_SAFETENSORS_HEADER', file, 'shape');
    const missing = path.join(dir, 'absent.safetensors');
    expectShitateError(() => openSafetensors(missing), 'E_NOT_FOUND', missing, 'ENOENT');
  });
});
