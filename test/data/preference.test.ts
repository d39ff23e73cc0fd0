// Preference data in `data check` / `data prepare`: every format TRL and OpenAI write (pairs with explicit,
// "messages" or implicit prompts, OpenAI's preference format, KTO judgments, the studio's 👍/👎 file), the
// problems of one record (no prompt, empty or identical answers, personal data in the rejected answer) and of
// the data set (contradictions, duplicates, one kind of judgment, imbalance, kinds mixed), with their lines;
// prepare writes TRL's format and keeps each prompt on one side of the split.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractPrompt, isPreferenceObject, parsePreference, unpair } from '../../src/data/preference-format.js';
import { prepare } from '../../src/data/prepare.js';
import { check, codes, problem, tempDir, where } from './helpers.js';
import { tokenCounter } from '../../src/data/tokens.js';
import { tinyModelDir } from '../helpers/tiny-model.js';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const user = (content: string) => ({ role: 'user', content });
const bot = (content: string) => ({ role: 'assistant', content });
const ITEMS = ['lamp', 'chair', 'desk', 'mug', 'bag', 'fan', 'sofa', 'bed', 'rug', 'shelf', 'clock', 'vase'];
const pair = (i: number) => ({ prompt: [user(`How much is the ${ITEMS[i % 12]} #${i}?`)], chosen: [bot(`Sure! It is ${100 + i} yen.`)], rejected: [bot(`${100 + i}.`)] });
const judged = (i: number, label: boolean) => ({ prompt: [user(`Where is the ${ITEMS[i % 12]} #${i}?`)], completion: [bot(label ? `On floor ${i % 5 + 1}.` : 'No idea.')], label });

describe('preference formats', () => {
  it('reads TRL pairs with an explicit, a "messages" and an implicit prompt, standard and conversational, and OpenAI\'s format', () => {
    const conv = parsePreference(pair(0));
    expect(conv).toMatchObject({ kind: 'pair', prompt: [user('How much is the lamp #0?')], chosen: [bot('Sure! It is 100 yen.')] });
    expect(parsePreference({ messages: [user('q')], chosen: 'good', rejected: 'bad' })).toEqual({ kind: 'pair', prompt: [user('q')], chosen: [bot('good')], rejected: [bot('bad')] });
    expect(parsePreference({ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' })).toEqual({ kind: 'pair', prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' });
    expect(parsePreference({ chosen: [user('q'), bot('a')], rejected: [user('q'), bot('b')] })).toEqual({ kind: 'pair', prompt: [user('q')], chosen: [bot('a')], rejected: [bot('b')] });
    expect(extractPrompt('The sky is blue.', 'The sky is green.')).toEqual({ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' });
    const openai = { input: { messages: [user('cold?')], tools: [], parallel_tool_calls: true }, preferred_output: [bot('It is 12°C.')], non_preferred_output: [bot('Yes.')] };
    expect(parsePreference(openai)).toEqual({ kind: 'pair', prompt: [user('cold?')], chosen: [bot('It is 12°C.')], rejected: [bot('Yes.')] });
    expect(parsePreference({ ...pair(0), chosen: 3 })).toEqual({ field: 'chosen', expected: expect.stringContaining('messages') as string });
  });

  it('reads KTO judgments (prompt/completion, messages ending with the answer, the studio\'s 👍/👎 file) and unpairs pairs', () => {
    expect(parsePreference(judged(1, true))).toMatchObject({ kind: 'label', label: true, completion: [bot('On floor 2.')] });
    expect(parsePreference({ messages: [user('q'), bot('a')], label: false })).toEqual({ kind: 'label', prompt: [user('q')], completion: [bot('a')], label: false });
    expect(parsePreference({ prompt: 'Q: x\nA:', completion: ' y', label: true })).toEqual({ kind: 'label', prompt: 'Q: x\nA:', completion: ' y', label: true });
    expect(parsePreference({ ...judged(1, true), label: 'yes' })).toMatchObject({ field: 'label' });
    const [good, bad] = unpair(parsePreference(pair(2)) as Parameters<typeof unpair>[0]);
    expect([good.label, bad.label]).toEqual([true, false]);
    // a string label beside SFT messages is a category, not a judgment
    expect(isPreferenceObject({ messages: [user('q'), bot('a')], label: 'billing' })).toBe(false);
  });

  it('never throws on arbitrary objects', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('prompt', 'chosen', 'rejected', 'messages', 'completion', 'label', 'input', 'preferred_output', 'non_preferred_output'), fc.jsonValue()), (o) => {
      if (isPreferenceObject(o)) parsePreference(o);
    }));
  });
});

describe('data check on preference data', () => {
  it('a clean pair file passes, counted as pairs', async () => {
    const c = await check('pairs.jsonl', jsonl(Array.from({ length: 60 }, (_, i) => pair(i))));
    expect(c.report.errors).toBe(0);
    expect(c.report.files[0].format).toBe('preference');
    expect(codes(c.report)).not.toContain('conflict'); // one prompt's two answers are not a conflict
  });

  it('reports empty, identical and promptless pairs, reversed pairs and personal data in rejected answers at their lines', async () => {
    const rows: unknown[] = Array.from({ length: 30 }, (_, i) => pair(i));
    rows[3] = { ...pair(3), rejected: [bot('')] };
    rows[5] = { ...pair(5), rejected: pair(5).chosen };
    rows[7] = { chosen: [bot('a')], rejected: [bot('b')] };
    rows[9] = { ...pair(2), chosen: pair(2).rejected, rejected: pair(2).chosen };
    rows[11] = { ...pair(11), rejected: [bot('mail taro.yamada@gmail.com')] };
    rows[13] = pair(12);
    const c = await check('pairs.jsonl', jsonl(rows));
    expect(where(c.report, 'pref_empty')).toEqual([4]);
    expect(where(c.report, 'pref_identical')).toEqual([6]);
    expect(where(c.report, 'pref_no_prompt')).toEqual([8]);
    expect(where(c.report, 'pref_contradiction')).toEqual([10]);
    expect(problem(c.report, 'pref_contradiction')!.occurrences[0].message).toMatch(/line 3.*opposite preference/);
    expect(where(c.report, 'pii_email')).toEqual([12]);
    expect(where(c.report, 'duplicate')).toEqual([14]);
  });

  it('judgments: contradicting labels, one kind only, and imbalance with TRL\'s weight ranges (also in Japanese)', async () => {
    const rows = [...Array.from({ length: 24 }, (_, i) => judged(i, i % 4 !== 0)), { ...judged(1, true), label: false }];
    const c = await check('feedback.jsonl', jsonl(rows), { lang: 'ja' });
    expect(where(c.report, 'pref_contradiction')).toEqual([25]);
    const imb = problem(c.report, 'pref_label_imbalance')!;
    expect(imb.occurrences[0].message).toMatch(/良い回答（👍）18 件、悪い回答（👎）7 件.*--desirable-weight を \[0\.39, 0\.52\]/);
    const one = await check('up.jsonl', jsonl(Array.from({ length: 12 }, (_, i) => judged(i, true))));
    expect(codes(one.report)).toContain('pref_one_label');
  });

  it('refuses pairs, judgments and plain conversations in one data set', async () => {
    const rows = [...Array.from({ length: 12 }, (_, i) => pair(i)), { messages: [user('q'), bot('a')] }];
    const c = await check('mixed.jsonl', jsonl(rows));
    expect(codes(c.report)).toContain('format_mismatch'); // one format per file
    const both = await check('mixed.jsonl', jsonl([...Array.from({ length: 12 }, (_, i) => pair(i)), judged(1, true)]));
    expect(problem(both.report, 'pref_mixed')!.severity).toBe('error');
  });
});

describe('data check --model on preference data', () => {
  it('renders the prompt with both answers as training does: a long rejected answer is over the limit too', async () => {
    const counter = tokenCounter(tinyModelDir());
    const rows = Array.from({ length: 12 }, (_, i) => pair(i));
    rows[4] = { ...pair(4), rejected: [bot('very long answer '.repeat(40))] };
    const c = await check('pairs.jsonl', jsonl(rows), { validate: { countTokens: counter.countTokens, maxTokens: 100 }, templateIssues: counter.templateIssues });
    expect(where(c.report, 'too_long')).toEqual([5]);
    expect(c.report.lengths.unit).toBe('tokens');
  });
});

describe('data prepare on preference data', () => {
  it('writes TRL\'s conversational preference format, keeps a prompt\'s records together, and standard pairs become conversations', async () => {
    const rows: unknown[] = Array.from({ length: 40 }, (_, i) => pair(i));
    rows.push({ ...pair(0), chosen: [bot('Certainly, 100 yen.')] }); // the same prompt again
    rows.push({ prompt: 'How much is the tent?', chosen: 'It is 900 yen.', rejected: 'No.' });
    const c = await check('pairs.jsonl', jsonl(rows));
    const out = tempDir();
    const r = prepare(c, { outDir: out, valRatio: 0.25, seed: 1, dedup: false, redactPii: false, skipInvalid: false });
    expect(r.written).toBe(true);
    const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: { content: string }[]; chosen: unknown[]; rejected: unknown[] });
    const train = read('train.jsonl');
    const val = read('val.jsonl');
    expect(train.length + val.length).toBe(42);
    expect(train[0]).toEqual(pair(0));
    const tent = [...train, ...val].find((x) => x.prompt[0].content === 'How much is the tent?')!;
    expect(tent).toEqual({ prompt: [user('How much is the tent?')], chosen: [bot('It is 900 yen.')], rejected: [bot('No.')] });
    const lamp0 = (xs: typeof train) => xs.filter((x) => x.prompt[0].content === 'How much is the lamp #0?').length;
    expect([lamp0(train), lamp0(val)].sort()).toEqual([0, 2]);
  });
});
