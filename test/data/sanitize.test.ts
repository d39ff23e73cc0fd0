// cleanControls: whatever comes in, nothing that crashes a downstream parser comes out (no C0/C1 control
// other than tab and line breaks, no lone surrogate); clean text passes unchanged; cleaning twice changes
// nothing more; countControls counts exactly what cleaning changes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanControls, countControls } from '../../src/data/sanitize.js';

const FC = { seed: Number(process.env.FC_SEED ?? 24), numRuns: 300 };

/** Strings of arbitrary UTF-16 units, lone surrogates and controls included. */
const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((cs) => String.fromCharCode(...cs));

function hasBad(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || (c >= 0x7f && c <= 0x9f) || c === 0xfffe || c === 0xffff) return true;
  }
  return false;
}

describe('cleanControls', () => {
  it('leaves no control character or lone surrogate, is idempotent, and counts what it changes', () => {
    fc.assert(fc.property(units, (s) => {
      const out = cleanControls(s);
      expect(hasBad(out)).toBe(false);
      expect(cleanControls(out)).toBe(out);
      expect(countControls(s).count === 0).toBe(out === s);
      expect(() => Buffer.from(out, 'utf8').toString('utf8')).not.toThrow();
    }), FC);
  });

  it('keeps clean text, including Japanese, emoji, tabs and line breaks, as it is', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
      const clean = [...s].filter((ch) => !hasBad(ch)).join('');
      expect(cleanControls(clean)).toBe(clean);
    }), FC);
    const ja = '営業時間は\t平日 9時〜18時です。\r\n😀 ｶﾀｶﾅ';
    expect(cleanControls(ja)).toBe(ja);
  });

  it('drops NUL and bell, turns form feed into a line break, replaces lone surrogates', () => {
    expect(cleanControls('営業\u0000時間\u0007は\u000c平日\ud800です\udc00')).toBe('営業時間は\n平日\ufffdです\ufffd');
    expect(countControls('a\u0000b\u0000\ud800')).toEqual({ count: 3, names: 'NUL, lone surrogate' });
    expect(cleanControls('😀')).toBe('😀');
  });
});
