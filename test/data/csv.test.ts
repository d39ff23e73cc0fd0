// CSV/TSV import: encodings (UTF-8, BOM, Shift_JIS/CP932, EUC-JP, UTF-16) detected and reported,
// delimiters, headers and column mapping, quoted newlines, CRLF, ragged rows, and row numbers.
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { detectDelimiter, parseCsv } from '../../src/data/csv.js';
import { check, cleanFaq, codes, csv, problem, where } from './helpers.js';

const FAQ = [['質問', '回答', '分類'], ['送料はいくらですか？', '全国一律500円です。', '配送'], ['返品できますか？', '到着後7日以内なら返品できます。', '返品']];

describe('CSV encodings', () => {
  const cases: [string, string, string][] = [['cp932', 'Shift_JIS (CP932)', 'shift_jis'], ['euc-jp', 'EUC-JP', 'euc-jp'], ['utf-8', 'UTF-8', 'utf-8']];
  for (const [enc, name] of cases) {
    it(`detects and converts ${name}`, async () => {
      const bytes = iconv.encode(csv([...FAQ, ...cleanFaq(60)]), enc);
      const { report, sources } = await check('faq.csv', bytes);
      expect(report.files[0].encoding).toBe(name);
      const first = [...sources[0].items()].find((i) => i.kind === 'record');
      expect(first?.kind === 'record' && first.record.messages).toEqual([{ role: 'user', content: '送料はいくらですか？' }, { role: 'assistant', content: '全国一律500円です。' }]);
      expect(report.examples).toBe(62);
      expect(report.errors).toBe(0);
    });
  }

  it('reads CP932-only characters (①, ㈱, 髙) from a Shift_JIS sheet', async () => {
    const { sources } = await check('x.csv', iconv.encode(csv([['質問', '回答'], ['㈱髙橋の①番窓口は？', '①番は本社です。']]), 'cp932'));
    const rec = [...sources[0].items()].find((i) => i.kind === 'record');
    expect(rec?.kind === 'record' && rec.record.messages[0].content).toBe('㈱髙橋の①番窓口は？');
  });

  it('strips a UTF-8 BOM and names it', async () => {
    const { report, sources } = await check('bom.csv', new Uint8Array([0xef, 0xbb, 0xbf, ...iconv.encode(csv(FAQ), 'utf-8')]));
    expect(report.files[0].encoding).toBe('UTF-8 (BOM)');
    expect(sources[0].info.header).toEqual(['質問', '回答', '分類']); // no BOM glued to the first header
  });

  it("reads Excel's UTF-16 'Unicode text' export (.txt, tab-separated, with BOM)", async () => {
    const text = FAQ.map((r) => r.join('\t')).join('\r\n');
    const { report } = await check('export.txt', iconv.encode(text, 'utf-16le', { addBOM: true }));
    expect(report.files[0]).toMatchObject({ type: 'tsv', encoding: 'UTF-16LE', records: 2 });
  });

  it('reports bytes that are not in the forced encoding, with the line', async () => {
    const bytes = iconv.encode(csv([...FAQ, ['未知の質問', '回答です']]), 'cp932');
    const { report } = await check('faq.csv', bytes, { import: { encoding: 'utf-8' } });
    expect(where(report, 'bad_encoding')).toEqual([1]); // the Shift_JIS header is already not UTF-8
    expect(report.ok).toBe(false);
  });

  it('reports invalid UTF-8 far into a file at its line (after the 1 MiB detection sample)', async () => {
    const rows = [['質問', '回答'], ...Array.from({ length: 12000 }, (_, i) => [`質問その${i}についての長めの文章です`, `回答その${i}についての長めの説明です`])];
    const good = iconv.encode(csv(rows, '\n'), 'utf-8');
    const broken = new Uint8Array([...good, ...iconv.encode('壊れた', 'cp932'), 0x2c, 0x41, 0x0a]);
    expect(good.length).toBeGreaterThan(1 << 20);
    const { report } = await check('big.csv', broken);
    expect(where(report, 'bad_encoding')).toEqual([rows.length + 1]);
    expect(report.examples).toBe(12001);
  });
});

describe('CSV structure', () => {
  it('keeps quoted newlines, commas and escaped quotes, and numbers rows as a spreadsheet does', async () => {
    const text = '質問,回答\r\n"一行目\r\n二行目","答え, ""引用"" つき"\r\n\r\n次の質問,次の答え\r\n';
    const { sources } = await check('q.csv', text);
    const recs = [...sources[0].items()].flatMap((i) => (i.kind === 'record' ? [i.record] : []));
    expect(recs.map((r) => r.messages.map((m) => m.content))).toEqual([['一行目\n二行目', '答え, "引用" つき'], ['次の質問', '次の答え']]);
    expect(recs.map((r) => r.loc.n)).toEqual([2, 4]); // the empty row 3 is skipped but counted
  });

  it('detects ; and tab delimiters and keeps the first row as data when it is not a header', async () => {
    expect(detectDelimiter('a;b;c\n1;2;3\n')).toBe(';');
    expect(detectDelimiter('a\tb\tc, d\n1\t2\t3\n')).toBe('\t');
    const { report, sources } = await check('two.csv', 'How do I return an item?;Use the returns page.\nWhere is my order?;See the tracking link.\n');
    expect(report.files[0]).toMatchObject({ delimiter: ';', header: null, records: 2 });
    expect([...sources[0].items()].filter((i) => i.kind === 'record')).toHaveLength(2);
  });

  it('maps columns by name or number, and says which columns exist when one is missing', async () => {
    const rows = [['ID', '問い合わせ', '対応内容', 'ジャンル'], ['1', '領収書はもらえますか', '発行できます', '支払い']];
    const byName = await check('a.csv', csv(rows), { import: { questionCol: '問い合わせ', answerCol: '対応内容', categoryCol: 'ジャンル' } });
    const rec = [...byName.sources[0].items()].find((i) => i.kind === 'record');
    expect(rec?.kind === 'record' && [rec.record.messages[1].content, rec.record.category]).toEqual(['発行できます', '支払い']);
    const byNumber = await check('a.csv', csv(rows), { import: { questionCol: '2', answerCol: '3' } });
    expect(byNumber.report.examples).toBe(1);
    const missing = await check('a.csv', csv(rows), { import: { questionCol: '質問' } });
    expect(problem(missing.report, 'column_missing')?.occurrences[0].message).toContain('"問い合わせ"');
  });

  it('asks for the columns when it cannot tell', async () => {
    const { report } = await check('three.csv', 'a,b,c\nd,e,f\n');
    expect(codes(report)).toContain('columns_unknown');
    expect(report.ok).toBe(false);
  });

  it('warns about rows with extra cells and reads short rows as empty cells', async () => {
    const { report } = await check('r.csv', '質問,回答\n送料は？,無料です,余分\n返品は？\n');
    expect(where(report, 'ragged_row')).toEqual([2]);
    expect(where(report, 'empty_answer')).toEqual([3]);
  });

  it('reports a file cut off inside a quoted cell', async () => {
    const { report } = await check('cut.csv', '質問,回答\n送料は？,"全国一律で');
    expect(where(report, 'truncated')).toEqual([2]);
  });

  it('parses across chunk boundaries exactly as in one piece', () => {
    const text = 'a,"b\r\nc",d\r\ne,f,"g""h"\r\n';
    const whole = [...parseCsv([text], ',', { openQuoteRow: null })];
    for (let cut = 1; cut < text.length; cut++) {
      expect([...parseCsv([text.slice(0, cut), text.slice(cut)], ',', { openQuoteRow: null })]).toEqual(whole);
    }
  });

  it('adds the system prompt to every example', async () => {
    const { sources } = await check('s.csv', csv(FAQ), { import: { system: 'あなたは丁寧なサポート担当です。' } });
    const recs = [...sources[0].items()].flatMap((i) => (i.kind === 'record' ? [i.record] : []));
    expect(recs.every((r) => r.messages[0].role === 'system' && r.messages[0].content === 'あなたは丁寧なサポート担当です。')).toBe(true);
  });
});
