// Mojibake detection: each common wrong-decoding pattern, made here with iconv-lite, is found; ordinary
// Japanese, English and accented text is not flagged.
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { countReplacement, findMojibake } from '../../src/data/mojibake.js';

const JA = '返品についてのご案内です。お届けから七日以内にご連絡ください。';
const garble = (text: string, wrote: string, read: string): string => iconv.decode(iconv.encode(text, wrote), read);

describe('findMojibake', () => {
  const cases: [string, string][] = [
    ['UTF-8 read as Shift_JIS', garble(JA, 'utf-8', 'cp932')],
    ['UTF-8 read as Windows-1252', garble(JA, 'utf-8', 'windows-1252')],
    ['UTF-8 read as Latin-1 (accents)', garble('Café crème brûlée', 'utf-8', 'latin1')],
    ['Shift_JIS read as Windows-1252', garble(JA, 'cp932', 'windows-1252')],
    ['EUC-JP read as Shift_JIS', garble(JA, 'euc-jp', 'cp932')],
    ['stray control characters', `返品は\u0007七日以内`],
  ];
  for (const [name, text] of cases) {
    it(`finds ${name}`, () => {
      expect(findMojibake(text), text).not.toBeNull();
    });
  }

  it('leaves clean text alone', () => {
    for (const s of [JA, 'ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞ', 'Café crème brûlée — naïve “quotes” ‚low‘', 'Tabs\tand\nnewlines\r\n', '①②③ ㈱ 髙橋 〒100-0001', '縦書き']) {
      expect(findMojibake(s), s).toBeNull();
    }
  });

  it('counts U+FFFD', () => {
    expect(countReplacement('a\uFFFDb\uFFFD\uFFFD')).toBe(3);
    expect(countReplacement(JA)).toBe(0);
  });
});
