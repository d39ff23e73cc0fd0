// JSON/JSONL formats (OpenAI chat, Alpaca, ShareGPT, prompt/completion, question/answer, text),
// XLSX written with exceljs, plain text and Markdown, and non-text or cut-off inputs.
import { describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { readJsonArray } from '../../src/data/json.js';
import type { DataRecord } from '../../src/data/types.js';
import { check, codes, problem, where } from './helpers.js';

async function records(name: string, content: string | Uint8Array, opts = {}): Promise<DataRecord[]> {
  const { sources } = await check(name, content, { import: opts });
  return [...sources[0].items()].flatMap((i) => (i.kind === 'record' ? [i.record] : []));
}

const jsonl = (...objs: unknown[]): string => objs.map((o) => JSON.stringify(o)).join('\n') + '\n';
const QA = [{ role: 'user', content: '送料は？' }, { role: 'assistant', content: '無料です。' }];

describe('JSON formats', () => {
  const cases: [string, unknown][] = [
    ['openai', { messages: QA }],
    ['openai (content parts)', { messages: [{ role: 'user', content: [{ type: 'text', text: '送料は？' }] }, { role: 'assistant', content: '無料です。' }] }],
    ['alpaca', { instruction: '送料は？', input: '', output: '無料です。' }],
    ['sharegpt', { conversations: [{ from: 'human', value: '送料は？' }, { from: 'gpt', value: '無料です。' }] }],
    ['completion', { prompt: '送料は？', completion: ' 無料です。' }],
    ['qa (Japanese keys)', { 質問: '送料は？', 回答: '無料です。' }],
  ];
  for (const [name, obj] of cases) {
    it(`reads ${name} into the same conversation`, async () => {
      const recs = await records('d.jsonl', jsonl(obj));
      expect(recs.map((r) => r.messages)).toEqual([QA]);
    });
  }

  it('appends the Alpaca input to the instruction and keeps its system prompt', async () => {
    const [r] = await records('a.jsonl', jsonl({ system: 'S', instruction: '翻訳して', input: 'Hello', output: 'こんにちは' }));
    expect(r.messages).toEqual([{ role: 'system', content: 'S' }, { role: 'user', content: '翻訳して\n\nHello' }, { role: 'assistant', content: 'こんにちは' }]);
  });

  it('reads {"text"} records as plain text', async () => {
    const [r] = await records('t.jsonl', jsonl({ text: '社内規定の第一条です。' }));
    expect([r.kind, r.text]).toEqual(['text', '社内規定の第一条です。']);
  });

  it('reports broken lines, non-objects, unknown keys, missing fields and a format change by line', async () => {
    const text = [JSON.stringify({ messages: QA }), '{"messages": [', '42', JSON.stringify({ foo: 1 }), JSON.stringify({ instruction: 'x', output: 'y' }), JSON.stringify({ messages: [{ role: 'user' }] })].join('\n') + '\n';
    const { report } = await check('bad.jsonl', text);
    expect(where(report, 'bad_json')).toEqual([2]);
    expect(where(report, 'not_object')).toEqual([3]);
    expect(where(report, 'format_mismatch')).toEqual([5]);
    expect(where(report, 'missing_field')).toEqual([4, 6]); // the file is OpenAI chat: line 4 lacks "messages"
    const unknown = await check('u.jsonl', jsonl({ foo: 1 }, { messages: QA }));
    expect(where(unknown.report, 'format_unknown')).toEqual([1]);
  });

  it('--format overrides detection', async () => {
    const recs = await records('f.jsonl', jsonl({ prompt: 'p', completion: 'c', text: 't' }), { format: 'text' });
    expect(recs[0].kind).toBe('text');
  });

  it('reports a last line that was cut off as a truncated file', async () => {
    const { report } = await check('cut.jsonl', `${JSON.stringify({ messages: QA })}\n{"messages": [{"role": "user", "content": "途中`);
    expect(where(report, 'truncated')).toEqual([2]);
    expect(codes(report)).not.toContain('bad_json');
  });

  it('reads a JSON array element by element with line numbers, and a {"data": [...]} wrapper', async () => {
    const arr = `[\n  ${JSON.stringify({ messages: QA })},\n  {"messages": [{"role": "user", "content": "a,]}"}, {"role": "assistant", "content": ""}]}\n]\n`;
    const { report } = await check('a.json', arr);
    expect(report.examples).toBe(2);
    expect(where(report, 'empty_answer')).toEqual([3]);
    expect(await records('w.json', JSON.stringify({ data: [{ messages: QA }, { messages: QA }] }))).toHaveLength(2);
  });

  it('reads a .json file that is really JSONL line by line', async () => {
    const { report } = await check('data.json', jsonl({ messages: QA }, { messages: QA }, { instruction: 'q', output: '' }));
    expect([report.files[0].type, report.examples]).toEqual(['jsonl', 2]);
    expect(where(report, 'format_mismatch')).toEqual([3]);
  });

  it('splits an array across chunk boundaries exactly as in one piece', () => {
    const text = '[{"a": "x,]\\"y"}, [1, {"b": 2}], "s"]';
    const whole = [...readJsonArray([text])];
    for (let cut = 1; cut < text.length; cut++) expect([...readJsonArray([text.slice(0, cut), text.slice(cut)])]).toEqual(whole);
  });

  it('reports an array without its closing bracket as truncated', async () => {
    const { report } = await check('cut.json', `[${JSON.stringify({ messages: QA })}, {"messages": [`);
    expect(codes(report)).toContain('truncated');
  });

  it('maps ShareGPT speakers and reports unknown ones', async () => {
    const { report } = await check('s.jsonl', jsonl({ conversations: [{ from: 'human', value: 'q' }, { from: 'robot', value: 'a' }] }));
    expect(problem(report, 'unknown_role')?.occurrences[0].message).toContain('robot');
  });
});

describe('XLSX', () => {
  async function workbook(sheets: Record<string, ExcelJS.CellValue[][]>): Promise<Uint8Array> {
    const wb = new ExcelJS.Workbook();
    for (const [name, rows] of Object.entries(sheets)) {
      const ws = wb.addWorksheet(name);
      for (const r of rows) ws.addRow(r);
    }
    return new Uint8Array(await wb.xlsx.writeBuffer());
  }

  it('reads the chosen sheet with rich text, formulas and Excel row numbers', async () => {
    const bytes = await workbook({
      表紙: [['このブックについて']],
      FAQ: [['質問', '回答', '分類'], ['送料は？', { richText: [{ text: '全国' }, { text: '無料' }] }, '配送'], [], ['在庫数は？', { formula: '2*3', result: 6 }, '在庫']],
    });
    const { report, sources } = await check('faq.xlsx', bytes, { import: { sheet: 'FAQ' } });
    expect(report.files[0]).toMatchObject({ type: 'xlsx', sheet: 'FAQ', records: 2 });
    const recs = [...sources[0].items()].flatMap((i) => (i.kind === 'record' ? [i.record] : []));
    expect(recs.map((r) => [r.loc.n, r.messages[1].content, r.category])).toEqual([[2, '全国無料', '配送'], [4, '6', '在庫']]);
  });

  it('names the sheets when the chosen one does not exist', async () => {
    const { report } = await check('faq.xlsx', await workbook({ Sheet1: [['質問', '回答']] }), { import: { sheet: 'FAQ' } });
    expect(problem(report, 'sheet_missing')?.occurrences[0].message).toContain('"Sheet1"');
  });

  it('reports a damaged workbook', async () => {
    const bytes = await workbook({ FAQ: [['質問', '回答'], ['q', 'a']] });
    const { report } = await check('cut.xlsx', bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(codes(report)).toEqual(['xlsx_unreadable']);
  });
});

describe('plain text and Markdown', () => {
  it('packs paragraphs into chunks and starts a new one at each Markdown heading', async () => {
    const md = '# 就業規則\n\n第一条 この規則は社員に適用する。\n\n第二条 勤務時間は九時から。\n\n## 休暇\n\n年次有給休暇は二十日とする。\n';
    const recs = await records('rules.md', md);
    expect(recs.map((r) => [r.kind, r.loc.n])).toEqual([['text', 1], ['text', 7]]);
    expect(recs[0].text).toContain('第二条');
  });

  it('splits a long paragraph at sentence ends', async () => {
    const recs = await records('long.txt', '長い文です。'.repeat(100), { chunkChars: 120 });
    expect(recs.length).toBeGreaterThan(4);
    expect(recs.every((r) => r.text.length <= 120 && r.text.endsWith('。'))).toBe(true);
  });
});

describe('files that are not text', () => {
  const cases: [string, number[]][] = [
    ['PDF', [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37]],
    ['old Excel', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]],
    ['binary', [0x00, 0x01, 0x02, 0x03, 0x7f, 0x00, 0x10, 0x11]],
  ];
  for (const [name, bytes] of cases) {
    it(`refuses ${name} data with a clear error`, async () => {
      const { report } = await check('faq.csv', new Uint8Array(bytes));
      expect(codes(report)).toEqual(['binary_file']);
      expect(report.ok).toBe(false);
    });
  }
});
