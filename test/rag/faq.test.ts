// FAQ retrieval: text folding (width, numbers, counters, kana), related-term groups matched by spelling,
// reading and dictionary form, the fielded ranking, and the sample FAQ indexed one entry per row, where
// everyday paraphrases find their entry (the demo's held-out questions and a wider set written apart from
// the shipped groups).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyze, citation, compileGroups, FaqIndex, foldKana, foldText, ingest, kanjiNumerals, KnowledgeBase, loadMorph, matchGroups, searchKb, type Morph,
} from '../../src/rag/index.js';
import { tempDir } from '../helpers/tiny-model.js';

const FAQ_DIR = path.join(import.meta.dirname, '..', '..', 'examples', 'faq');

let morph: Morph;
beforeAll(async () => {
  morph = await loadMorph();
});

describe('folding', () => {
  it('reads kanji numerals before a counter as digits and leaves words alone', () => {
    expect(kanjiNumerals('五千円以上')).toBe('5000円以上');
    expect(kanjiNumerals('十四日以内に二万五千円')).toBe('14日以内に25000円');
    expect(kanjiNumerals('全国一律で一部の商品')).toBe('全国一律で一部の商品');
  });

  it('folds width, separators and counter spellings', () => {
    expect(foldText('５，５００円')).toBe('5500円');
    expect(foldText('3ヶ月')).toBe(foldText('３カ月'));
    expect(foldText('三か月')).toBe('3か月');
    expect(foldKana('きゃんせる')).toBe('キャンセル');
    expect(foldKana('ヴァイオリン')).toBe('バイオリン');
  });
});

describe('related-term groups', () => {
  const groups = () => compileGroups(morph, [['キャンセル', '取り消し', '取りやめる'], ['返金', '代金 返る'], ['送料', '郵送代']]);
  const matched = (text: string) => matchGroups(groups(), analyze(morph, text));

  it('match by spelling, by reading, by dictionary form and by all parts of a member', () => {
    expect(matched('郵送代はいくら？')).toEqual([2]);
    expect(matched('とりけしたい')).toEqual([0]); // reading トリケシ
    expect(matched('注文を取りやめたいです')).toEqual([0]); // 取りやめ + たい -> 取りやめる
    expect(matched('代金はいつ返ってくる？')).toEqual([1]); // 代金 ... 返っ(返る)
    expect(matched('代金はいくら？')).toEqual([]);
  });
});

describe('fielded ranking', () => {
  it('weighs a match in the question above the same match in an answer', () => {
    const idx = new FaqIndex([
      { id: 1, question: '営業時間を教えてください', answer: '平日10時から18時です。駐車場はありません。' },
      { id: 2, question: '駐車場はありますか', answer: '各店舗に駐車場があります。' },
    ], morph, []);
    expect(idx.search('駐車場', 5).map((h) => h.id)).toEqual([2, 1]);
    expect(idx.search('まったく関係のない話', 5)).toEqual([]);
  });
});

describe('the sample FAQ as a knowledge base', () => {
  let home: string;
  let kb: KnowledgeBase;
  beforeAll(async () => {
    home = tempDir('shitate-faq-');
    kb = KnowledgeBase.open(home, 'faq', { create: true });
    await ingest(kb, ['faq.csv'], { cwd: FAQ_DIR });
  });
  afterAll(() => {
    kb.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const heldout = (file: string) => fs.readFileSync(path.join(FAQ_DIR, file), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { messages: { content: string }[] }).map((r) => ({ q: r.messages[0].content, a: r.messages[1].content }));
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  async function recall(file: string, k: number): Promise<number> {
    const qs = heldout(file);
    let hit = 0;
    for (const { q, a } of qs) if ((await searchKb(kb, q, { k })).some((h) => squeeze(h.fields?.answer ?? '') === squeeze(a))) hit++;
    return hit / qs.length;
  }

  it('indexes one entry per row, with its question and answer, cited by row', async () => {
    expect(kb.stats().chunks).toBe(163);
    const [top] = await searchKb(kb, '送料はいくらですか？', { k: 1 });
    expect(top.fields?.question).toBe('送料はいくらですか？');
    expect(top.text).toBe(`質問: 送料はいくらですか？\n回答: ${top.fields?.answer}\n分類: 配送`);
    expect(citation(top)).toBe('faq.csv, row 17');
    expect(top.ranks.faq).toBe(1);
  });

  it('finds the entries of everyday paraphrases that share no words with them', async () => {
    const first = async (q: string) => (await searchKb(kb, q, { k: 5 })).map((h) => h.fields?.question);
    expect(await first('郵送代はいくら？')).toContain('送料はいくらですか？');
    expect(await first('注文を取りやめたい')).toContain('注文をキャンセルしたいです。');
    expect(await first('代金はいつ返ってくる？')).toContain('返金はいつされますか？');
  });

  it('recalls at least 90% of the demo\'s held-out questions and of the wider paraphrase set in the top 5', async () => {
    expect(await recall('heldout.jsonl', 5)).toBeGreaterThanOrEqual(0.9);
    expect(await recall('paraphrases.jsonl', 5)).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it('takes the company\'s own groups from kb/NAME.yaml, and can drop the shipped ones', async () => {
    const yaml = path.join(home, 'kb', 'faq.yaml');
    const q = 'モリ割はありますか？';
    expect((await searchKb(kb, q, { k: 3 })).map((h) => h.fields?.question)).not.toContain('セールはいつ開催されますか？');
    fs.writeFileSync(yaml, 'synonyms:\n  - [セール, モリ割]\n');
    expect((await searchKb(kb, q, { k: 3 })).map((h) => h.fields?.question)).toContain('セールはいつ開催されますか？');
    expect((await searchKb(kb, '郵送代', { k: 5 })).map((h) => h.fields?.question)).toContain('送料はいくらですか？');
    fs.writeFileSync(yaml, 'default_synonyms: false\n');
    expect((await searchKb(kb, '郵送代', { k: 5 })).map((h) => h.fields?.question)).not.toContain('送料はいくらですか？');
    fs.writeFileSync(yaml, 'synonyms: [[送料]]\n');
    await expect(searchKb(kb, '送料', { k: 1 })).rejects.toMatchObject({ code: 'E_KB_SETTINGS', message: expect.stringContaining('synonyms[0]: expected at least two words') });
    fs.rmSync(yaml);
  });

  it('also searches the question as a rewriter words it, and goes on without it when it fails', async () => {
    const seen: string[][] = [];
    const q = '料金について知りたい';
    expect((await searchKb(kb, q, { k: 1 }))[0].fields?.question).not.toBe('送料無料になる条件を教えてください。');
    const hits = await searchKb(kb, q, { k: 5, rewriter: async (_q, examples) => { seen.push([...examples]); return '送料が無料になる条件'; } });
    expect(seen[0].length).toBeGreaterThan(0);
    expect(hits.map((h) => h.fields?.question)).toContain('送料無料になる条件を教えてください。');
    const warnings: string[] = [];
    const { ShitateError } = await import('../../src/errors.js');
    const down = async () => { throw new ShitateError('E_PROVIDER', 'connection refused', 'start it'); };
    await expect(searchKb(kb, '送料', { k: 3, rewriter: down, onWarning: (w) => warnings.push(w) })).resolves.toHaveLength(3);
    expect(warnings[0]).toContain('query rewriting skipped for faq: connection refused');
  });
});
