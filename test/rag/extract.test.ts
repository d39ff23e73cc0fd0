// Parsers: each format becomes headings, paragraphs and rows with their source positions; encodings and
// markup are handled; broken files fail with a message and a hint.
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { extract, ExtractError, type Block } from '../../src/rag/index.js';
import { makeDocx, makePdf } from './make-files.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const texts = (bs: Block[]) => bs.map((b) => (b.kind === 'heading' ? `#${b.level} ${b.text}` : b.text));

describe('text and Markdown', () => {
  it('reads ATX and setext headings, keeps fenced code whole, skips front matter', async () => {
    const md = '---\ntitle: x\n---\n# Title\n\nIntro line one\nline two\n\nSub\n---\n\n```\ncode # not a heading\n\nstill code\n```\n## 休暇\n有給休暇は年10日。\n';
    const { blocks } = await extract('a.md', enc(md));
    expect(texts(blocks)).toEqual(['#1 Title', 'Intro line one\nline two', '#2 Sub', '```\ncode # not a heading\n\nstill code\n```', '#2 休暇', '有給休暇は年10日。']);
  });

  it('decodes Shift_JIS text and finds 第N条 headings', async () => {
    const sjis = iconv.encode('経費精算規程\r\n\r\n第2条（申請期限）\r\n翌月10日までに申請してください。\r\n', 'cp932');
    const { blocks } = await extract('rules.txt', sjis);
    expect(texts(blocks)).toEqual(['経費精算規程', '#2 第2条（申請期限）', '翌月10日までに申請してください。']);
  });

  it('decodes UTF-16 with a byte order mark', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('こんにちは', 'utf16le')]);
    expect((await extract('a.txt', bytes)).blocks[0].text).toBe('こんにちは');
  });
});

describe('HTML', () => {
  it('keeps headings, paragraphs, list items and table rows; drops scripts, styles and navigation', async () => {
    const html = '<html><head><title>t</title><style>p{}</style></head><body><nav>Home Products</nav><script>var x=1</script>' +
      '<h1>返品 &amp; 交換</h1><div>loose <b>text</b></div><p>Refunds within <em>30</em> days.</p><ul><li>one</li><li>two</li></ul>' +
      '<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table></body></html>';
    const { blocks } = await extract('p.html', enc(html));
    expect(texts(blocks)).toEqual(['#1 返品 & 交換', 'loose text', 'Refunds within 30 days.', 'one', 'two', 'A | B', '1 | 2']);
  });
});

describe('PDF and DOCX', () => {
  it('reads each PDF page with its page number', async () => {
    const pdf = makePdf([['Refund policy', 'Refunds are accepted within 30 days.'], ['2. Shipping', 'Parcels leave the same day.']]);
    const ex = await extract('m.pdf', pdf);
    expect(ex.pages).toBe(2);
    expect(ex.blocks).toEqual([
      { kind: 'text', text: 'Refund policy Refunds are accepted within 30 days.', page: 1 },
      { kind: 'heading', text: '2. Shipping', level: 2, page: 2 },
      { kind: 'text', text: 'Parcels leave the same day.', page: 2 },
    ]);
  });

  it('fails a corrupt PDF and a non-PDF with an ExtractError and a hint', async () => {
    const good = makePdf([['x']]);
    for (const bytes of [good.subarray(0, 60), Buffer.from('not a pdf at all')]) {
      const e = await extract('bad.pdf', bytes).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(ExtractError);
      expect((e as ExtractError).hint).not.toBe('');
    }
  });

  it('reads DOCX headings with their levels', async () => {
    const docx = makeDocx(['# 就業規則', '始業は9時です。', '## 休暇', '有給休暇は年10日。']);
    expect(texts((await extract('r.docx', docx)).blocks)).toEqual(['#1 就業規則', '始業は9時です。', '#2 休暇', '有給休暇は年10日。']);
  });

  it('fails a truncated DOCX with an ExtractError', async () => {
    const docx = makeDocx(['# a', 'b']);
    await expect(extract('r.docx', docx.subarray(0, 100))).rejects.toBeInstanceOf(ExtractError);
  });
});

describe('tables', () => {
  it('labels CSV values with the header and numbers rows, quoted fields included', async () => {
    const csv = '品番,価格,備考\r\nMD-200,"12,800","充電式,\n2時間"\r\n,,\r\nTW-50,,年1回校正\r\n';
    const { blocks } = await extract('prices.csv', enc(csv));
    expect(blocks).toEqual([
      { kind: 'row', text: '品番: MD-200 / 価格: 12,800 / 備考: 充電式,\n2時間', row: 2 },
      { kind: 'row', text: '品番: TW-50 / 備考: 年1回校正', row: 4 },
    ]);
  });

  it('makes each row of a question/answer sheet one FAQ entry, a cell per line, with its question and answer', async () => {
    const csv = '製品,質問,回答\r\nMD-200,"バッテリー, 何時間?","約2時間。\n充電は60分"\r\n,,\r\nTW-50,,年1回\r\n';
    const { blocks } = await extract('faq.csv', enc(csv));
    expect(blocks).toEqual([
      { kind: 'row', text: '製品: MD-200\n質問: バッテリー, 何時間?\n回答: 約2時間。\n充電は60分', row: 2, fields: { question: 'バッテリー, 何時間?', answer: '約2時間。\n充電は60分' } },
      { kind: 'row', text: '製品: TW-50\n回答: 年1回', row: 4, fields: { question: '', answer: '年1回' } },
    ]);
    // Q/A headers in English too; a table without both columns stays a plain table
    expect((await extract('a.csv', enc('Question,Answer\nHours?,9-17\n'))).blocks[0].fields).toEqual({ question: 'Hours?', answer: '9-17' });
    expect((await extract('b.csv', enc('質問,メモ\n送料?,調査中\n'))).blocks[0].fields).toBeUndefined();
  });

  it('reads every XLSX sheet, each under its name', async () => {
    const wb = new ExcelJS.Workbook();
    const a = wb.addWorksheet('価格表');
    a.addRow(['品番', '価格']);
    a.addRow(['MD-200', 12800]);
    const b = wb.addWorksheet('Stock');
    b.addRow(['Item', 'Qty']);
    b.addRow(['TW-50', 4]);
    const bytes = Buffer.from(await wb.xlsx.writeBuffer());
    expect((await extract('p.xlsx', bytes)).blocks).toEqual([
      { kind: 'heading', text: '価格表', level: 1 }, { kind: 'row', text: '品番: MD-200 / 価格: 12800', row: 2 },
      { kind: 'heading', text: 'Stock', level: 1 }, { kind: 'row', text: 'Item: TW-50 / Qty: 4', row: 2 },
    ]);
  });

  it('refuses an unsupported extension with the list of supported ones', async () => {
    const e = await extract('a.exe', enc('MZ')).then(() => null, (err: unknown) => err);
    expect((e as ExtractError).message).toContain('.pdf');
  });
});

describe('the project corpus', () => {
  it('parses every corpus file into non-empty blocks', async () => {
    const dir = path.join(import.meta.dirname, 'corpus');
    for (const f of fs.readdirSync(dir).filter((n) => n !== 'questions.json')) {
      const { blocks } = await extract(f, fs.readFileSync(path.join(dir, f)));
      expect(blocks.length, f).toBeGreaterThan(2);
    }
  });
});
