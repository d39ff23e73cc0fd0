// The Data page's API in-process: uploads of the Shift_JIS FAQ, the check with its planted problems and
// row links, the column mapping, prepare with fixes and the split, the tokenized preview with the loss
// mask, and bad input refused with a message and a hint.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, FAQ, MINI, makeStudio, upload, type Json, type TestStudio } from './helpers.js';

let s: TestStudio;
let problems: string;
let faq: string;
beforeAll(async () => {
  s = makeStudio();
  problems = await upload(s, path.join(FAQ, 'problems.csv'));
  faq = await upload(s, path.join(FAQ, 'faq.csv'));
});
afterAll(() => s.close());

const codes = (r: Json) => at<{ code: string }[]>(r, 'report.problems').map((p) => p.code);

describe('uploads', () => {
  it('stores the bytes as sent and lists them', async () => {
    const r = await s.req('GET', '/api/uploads');
    const ups = at<{ id: string; name: string; size: number; path: string }[]>(r.json, 'uploads');
    const up = ups.find((u) => u.id === faq)!;
    expect(up.name).toBe('faq.csv');
    expect(fs.readFileSync(up.path)).toEqual(fs.readFileSync(path.join(FAQ, 'faq.csv')));
  });

  it('refuses an empty file, a missing name and a body over the limit', async () => {
    expect((await s.req('POST', '/api/uploads?name=x.csv', new Uint8Array())).status).toBe(400);
    const noName = await s.req('POST', '/api/uploads', new Uint8Array([1, 2]));
    expect(noName.status).toBe(400);
    expect(at<string>(noName.json, 'error.message')).toMatch(/^name: expected a file name/);
    const big = await s.req('POST', '/api/uploads?name=big.csv', 'a,b\n', { 'content-length': String(2 ** 40) });
    expect(big.status).toBe(413);
    expect(at<string>(big.json, 'error.hint')).not.toBe('');
  });

  it('keeps a safe file name: no folders, no control characters', async () => {
    const id = await upload(s, path.join(FAQ, 'faq.csv'), '../../etc/pass\u0001wd.csv');
    const up = at<{ id: string; name: string; path: string }[]>((await s.req('GET', '/api/uploads')).json, 'uploads').find((u) => u.id === id)!;
    expect(up.name).toBe('pass_wd.csv');
    expect(path.dirname(up.path)).toBe(path.join(s.dir, 'uploads', id));
    expect((await s.req('DELETE', `/api/uploads/${id}`)).status).toBe(200);
    expect((await s.req('DELETE', `/api/uploads/${id}`)).status).toBe(404);
  });
});

describe('check', () => {
  it('finds every planted problem of the Shift_JIS sheet, each with its row', async () => {
    const r = await s.req('POST', '/api/data/check', { uploads: [problems], model: MINI });
    expect(r.status).toBe(200);
    for (const c of ['empty_question', 'empty_answer', 'duplicate', 'near_duplicate', 'conflict', 'pii_email', 'pii_phone', 'pii_card', 'mojibake', 'too_long', 'ragged_row', 'template_dominance']) {
      expect(codes(r.json)).toContain(c);
    }
    const files = at<{ encoding: string }[]>(r.json, 'report.files');
    expect(files[0].encoding).toMatch(/shift_jis|cp932/i);
    const email = at<{ code: string; occurrences: { n: number; unit: string }[] }[]>(r.json, 'report.problems').find((p) => p.code === 'pii_email')!;
    expect(email.occurrences[0]).toMatchObject({ unit: 'row', n: 11 });
    expect(at(r.json, 'columns.0.header')).toEqual(['質問', '回答', '分類']);
    expect(at(r.json, 'columns.0.map')).toMatchObject({ question: 0, answer: 1, category: 2 });
    expect(at(r.json, 'preview.0')).toMatchObject({ n: 2, question: '送料はいくらですか？', category: '配送' });
  });

  it('writes the report in the language the page asks for', async () => {
    const ja = await s.req('POST', '/api/data/check', { uploads: [problems] }, { 'accept-language': 'ja' });
    const en = await s.req('POST', '/api/data/check', { uploads: [problems] }, { 'accept-language': 'en-US' });
    expect(at(ja.json, 'report.lang')).toBe('ja');
    expect(at(en.json, 'report.lang')).toBe('en');
    expect(at<string>(ja.json, 'report.problems.0.title')).not.toBe(at<string>(en.json, 'report.problems.0.title'));
  });

  it('opens the examples at a reported row', async () => {
    const r = await s.req('POST', '/api/data/row', { upload: problems, n: 11 });
    expect(r.status).toBe(200);
    expect(at<{ n: number; answer: string }[]>(r.json, 'rows').find((x) => x.n === 11)!.answer).toContain('morino.k@example.com');
    expect(at<{ code: string }[]>(r.json, 'problems').map((p) => p.code)).toContain('pii_email');
  });

  it('reads the columns the mapping names, and says when a named column does not exist', async () => {
    const swapped = await s.req('POST', '/api/data/check', { uploads: [faq], mapping: { question_col: '回答', answer_col: '質問' } });
    expect(at<string>(swapped.json, 'preview.0.question')).toBe(at<string>((await s.req('POST', '/api/data/check', { uploads: [faq] })).json, 'preview.0.answer'));
    const missing = await s.req('POST', '/api/data/check', { uploads: [faq], mapping: { question_col: 'Frage' } });
    expect(codes(missing.json)).toContain('column_missing');
  });

  it('refuses bad requests with what was expected', async () => {
    for (const [body, field] of [[{}, 'uploads'], [{ uploads: 'x' }, 'uploads'], [{ uploads: [faq], mapping: { header: 'yes' } }, 'mapping.header'],
      [{ uploads: [faq], model: '/nonexistent' }, 'model']] as const) {
      const r = await s.req('POST', '/api/data/check', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(at<string>(r.json, 'error.message')).toMatch(new RegExp(`^${field.replace('.', '\\.')}: expected`));
    }
    expect((await s.req('POST', '/api/data/check', { uploads: ['up-nope'] })).status).toBe(404);
    expect((await s.req('POST', '/api/data/check', { uploads: ['../x'] })).status).toBe(400);
    const notJson = await s.req('POST', '/api/data/check', '{"uploads": [');
    expect(notJson.status).toBe(400);
    expect(at<string>(notJson.json, 'error.message')).toMatch(/JSON/);
  });
});

describe('prepare', () => {
  it('refuses to write data with errors unless broken rows are left out', async () => {
    const blocked = await s.req('POST', '/api/data/prepare', { uploads: [problems] });
    expect(blocked.status).toBe(422);
    expect(blocked.json.written).toBe(false);
    expect(fs.readdirSync(path.join(s.dir, 'data'))).toHaveLength(0);
    const ok = await s.req('POST', '/api/data/prepare', { uploads: [problems], dedup: true, redact_pii: true, skip_invalid: true, val_ratio: 0 });
    expect(ok.status).toBe(201);
    expect(at(ok.json, 'dataset.split')).toMatchObject({ removedInvalid: 2, val: 0 });
    expect(at<number>(ok.json, 'dataset.split.removedDuplicates')).toBeGreaterThanOrEqual(1);
    expect(at<number>(ok.json, 'dataset.split.redacted')).toBeGreaterThanOrEqual(3);
    const text = fs.readFileSync(at<string>(ok.json, 'dataset.train'), 'utf8');
    expect(text).not.toContain('morino.k@example.com');
    expect(text).not.toContain('090-1234-5678');
  });

  it('splits the FAQ per category and lists the dataset', async () => {
    const r = await s.req('POST', '/api/data/prepare', { uploads: [faq], name: 'FAQ', val_ratio: 0.1, seed: 7 });
    expect(r.status).toBe(201);
    const ds = at<Json>(r.json, 'dataset');
    expect(ds.split).toMatchObject({ stratifiedBy: 'category', seed: 7 });
    const split = ds.split as { train: number; val: number };
    expect(split.train + split.val).toBe(163);
    expect(fs.readFileSync(ds.val as string, 'utf8').trim().split('\n')).toHaveLength(split.val);
    const list = at<{ id: string }[]>((await s.req('GET', '/api/datasets')).json, 'datasets');
    expect(list.map((d) => d.id)).toContain(ds.id);
    expect(at((await s.req('GET', `/api/datasets/${ds.id as string}`)).json, 'dataset.name')).toBe('FAQ');
  });

  it('refuses a validation share out of range', async () => {
    const r = await s.req('POST', '/api/data/prepare', { uploads: [faq], val_ratio: 0.9 });
    expect(r.status).toBe(400);
    expect(at<string>(r.json, 'error.message')).toMatch(/^val_ratio: expected a number from 0 to 0.5/);
  });
});

describe('tokenized preview', () => {
  it('marks exactly the answer and its end-of-turn token as learned from', async () => {
    const r = await s.req('POST', '/api/data/prepare', { uploads: [faq], val_ratio: 0 });
    const ds = at<{ id: string; train: string }>(r.json, 'dataset');
    const t = await s.req('GET', `/api/datasets/${ds.id}/tokens?n=2&model=${encodeURIComponent(MINI)}`);
    expect(t.status).toBe(200);
    const first = JSON.parse(fs.readFileSync(ds.train, 'utf8').split('\n')[0]) as { messages: { role: string; content: string }[] };
    const answer = first.messages.find((m) => m.role === 'assistant')!.content;
    const pieces = at<{ text: string; target: boolean; special: boolean }[]>(t.json, 'examples.0.pieces');
    const learned = pieces.filter((p) => p.target);
    expect(learned.map((p) => p.text).join('')).toBe(`${answer}<|im_end|>`);
    expect(learned.at(-1)!.special).toBe(true);
    expect(pieces.map((p) => p.text).join('')).toContain(first.messages.find((m) => m.role === 'user')!.content);
    expect(at<number>(t.json, 'examples.0.targets')).toBe(learned.reduce((n, p) => n + (p as unknown as { ids: number[] }).ids.length, 0));
    expect((await s.req('GET', `/api/datasets/${ds.id}/tokens?model=/nope`)).status).toBe(400);
    expect((await s.req('GET', `/api/datasets/${ds.id}/tokens?n=99&model=${encodeURIComponent(MINI)}`)).status).toBe(400);
  });
});
