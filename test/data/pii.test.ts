// Personal-data detection and redaction: check digits (Luhn, My Number) against independent
// re-implementations, phone formats, things that must not match, and redaction leaving nothing behind.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findPii, luhnValid, myNumberValid, redactPii } from '../../src/data/pii.js';

/** Luhn written the other way round: double every second digit from the right via a lookup. */
function luhnRef(d: string): boolean {
  const doubled = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
  const sum = [...d].reverse().reduce((s, ch, i) => s + (i % 2 ? doubled[Number(ch)] : Number(ch)), 0);
  return sum % 10 === 0;
}

/** My Number check digit straight from the formula, weights listed left to right (6,5,4,3,2,7,6,5,4,3,2). */
function myNumberCheck(first11: string): number {
  const w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const r = [...first11].reduce((s, ch, i) => s + Number(ch) * w[i], 0) % 11;
  return r <= 1 ? 0 : 11 - r;
}

const kinds = (s: string): string[] => findPii(s).map((h) => h.kind);

describe('check digits', () => {
  it('Luhn agrees with a reference and accepts the standard test card numbers', () => {
    for (const card of ['4111111111111111', '5555555555554444', '378282246310005']) expect(luhnValid(card)).toBe(true);
    fc.assert(fc.property(fc.stringMatching(/^\d{13,19}$/), (d) => luhnValid(d) === luhnRef(d)));
  });

  it('My Number: the published sample 123456789018 passes, and exactly one check digit fits any 11 digits', () => {
    expect(myNumberValid('123456789018')).toBe(true);
    fc.assert(fc.property(fc.stringMatching(/^\d{11}$/), (d) => {
      const valid = [...'0123456789'].filter((c) => myNumberValid(d + c));
      expect(valid).toEqual([String(myNumberCheck(d))]);
    }));
  });
});

describe('findPii', () => {
  it('finds e-mail addresses, also next to Japanese text', () => {
    expect(findPii('ご連絡はinfo@example.co.jpまで').map((h) => h.value)).toEqual(['info@example.co.jp']);
  });

  it('finds Japanese phone numbers in their usual spellings', () => {
    for (const p of ['03-1234-5678', '090-1234-5678', '09012345678', '(03)1234-5678', '0120-123-456', '０９０－１２３４－５６７８', '090ー1234ー5678']) {
      expect(kinds(`お電話は${p}へ`), p).toEqual(['phone']);
    }
  });

  it('finds international numbers', () => {
    for (const p of ['+81 90 1234 5678', '+1 (415) 555-2671', '+44 20 7946 0958']) expect(kinds(`call ${p} now`), p).toEqual(['phone']);
  });

  it('finds card numbers with spaces or hyphens, and My Numbers in 4-4-4 groups', () => {
    expect(kinds('4111-1111-1111-1111')).toEqual(['card']);
    expect(kinds('番号 1234 5678 9018 です')).toEqual(['my_number']);
  });

  it('leaves dates, prices, invalid check digits and postal codes alone', () => {
    for (const s of ['2024-01-15', '価格は12,800円', '〒100-0001', '4111 1111 1111 1112', '123456789017', '注文番号12345', 'ver 1.2.3']) {
      expect(kinds(s), s).toEqual([]);
    }
  });
});

describe('redactPii', () => {
  it('replaces each kind by its placeholder and keeps the rest', () => {
    const r = redactPii('田中です。tanaka@example.com / 090-1111-2222 / 4111 1111 1111 1111 / 123456789018。');
    expect(r.text).toBe('田中です。[EMAIL] / [PHONE] / [CARD] / [MY_NUMBER]。');
    expect(r.count).toBe(4);
  });

  it('leaves nothing findable behind, for any text', () => {
    const piece = fc.constantFrom('a@b.jp', '03-1234-5678', '4111111111111111', '123456789018', 'こんにちは', ' ', '-', '1', '＠');
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }).map((a) => a.join('')), (s) => {
      expect(findPii(redactPii(s).text)).toEqual([]);
    }));
  });
});
