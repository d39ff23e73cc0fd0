// Retrieval-augmented examples with a stand-in retrieval: each question gets its passages and answers from
// them citing the one that holds the answer; a seeded share loses its right passage and learns the refusal;
// a question retrieval misses learns the refusal too; other conversations pass through; files are rewritten
// whole and context.json counts what happened.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addContext, holdsAnswer, type Grounder, type Turn } from '../../src/data/with-context.js';
import { tempDir, writeJsonl } from '../helpers/tiny-model.js';

type P = { text: string; cite: string };

const ENTRIES: P[] = Array.from({ length: 12 }, (_, i) => ({ text: `質問: 質問${i}\n回答: 答え${i}です。`, cite: `faq.csv, row ${i + 2}` }));

/** Retrieval that returns the asked entry first (or not at all for "迷子"), then the next two. */
const grounder: Grounder<P> = {
  async retrieve(question) {
    const i = Number(question.replace(/\D/g, ''));
    if (question.startsWith('迷子')) return { sources: ENTRIES.slice(0, 3) };
    return { sources: [ENTRIES[i], ENTRIES[(i + 1) % 12], ENTRIES[(i + 2) % 12]] };
  },
  layout(conversation, sources) {
    const system = sources.map((s, n) => `[${n + 1}] ${s.cite}\n${s.text}`).join('\n\n');
    return { messages: [{ role: 'system', content: system }, ...conversation], kept: [...sources] };
  },
  countTokens: (t) => t.length,
  replyRoom: 16,
};

const chat = (q: string, a: string) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
const read = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { messages: Turn[] }).messages);

describe('data prepare --with-context', () => {
  it('grounds each question, cites the passage holding the answer, and teaches the refusal to a seeded share', async () => {
    const dir = tempDir('shitate-ctx-');
    const train = writeJsonl(path.join(dir, 'train.jsonl'), [
      ...Array.from({ length: 10 }, (_, i) => chat(`質問${i}`, `答え${i}です。`)),
      chat('迷子の質問', '答え11です。'),
      { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] },
    ]);
    const val = writeJsonl(path.join(dir, 'val.jsonl'), [chat('質問10', '答え10です。')]);
    const o = { refuseShare: 0.3, refusal: '資料にありません。', cite: true, seed: 7 };
    const st = await addContext([train, val], grounder, o);
    const rows = [...read(train), ...read(val)];
    expect(st).toMatchObject({ examples: 13, grounded: 12, unchanged: 1 });
    expect(st.withAnswer + st.refusedByShare + st.notRetrieved).toBe(12);
    expect(st.refusedByShare).toBeGreaterThan(0);
    expect(st.at).toEqual({ 1: st.withAnswer });
    expect(rows[10][2].content).toBe(o.refusal); // retrieval missed it: nothing to answer from
    for (const [i, m] of rows.entries()) {
      if (i === 11) {
        expect(m).toHaveLength(4); // two turns: left as it was
        continue;
      }
      const [system, user, reply] = m;
      expect(system.role).toBe('system');
      expect(user.role).toBe('user');
      const answer = user.content.startsWith('迷子') ? '答え11です。' : `答え${user.content.replace(/\D/g, '')}です。`;
      if (reply.content === o.refusal) {
        expect(holdsAnswer(system.content, answer)).toBe(false); // left out on purpose, or never retrieved
      } else {
        expect(reply.content).toMatch(/^答え\d+です。 \[1\]$/);
        expect(system.content).toContain(reply.content.replace(' [1]', ''));
      }
    }
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'context.json'), 'utf8')) as { refusedByShare: number; options: { seed: number } };
    expect(saved).toMatchObject({ refusedByShare: st.refusedByShare, options: { seed: 7 } });
    // the same seed picks the same examples
    const again = writeJsonl(path.join(dir, 'again.jsonl'), Array.from({ length: 10 }, (_, i) => chat(`質問${i}`, `答え${i}です。`)));
    await addContext([again], grounder, o);
    expect(read(again).map((m) => m[2].content)).toEqual(rows.slice(0, 10).map((m) => m[2].content));
  });

  it('leaves the citation out with cite: false, and folds width and spacing when it looks for the answer', async () => {
    const dir = tempDir('shitate-ctx-');
    const f = writeJsonl(path.join(dir, 'train.jsonl'), [chat('質問3', '答え3です。')]);
    await addContext([f], grounder, { refuseShare: 0, refusal: 'x', cite: false, seed: 1 });
    expect(read(f)[0][2].content).toBe('答え3です。');
    expect(holdsAnswer('回答: ５，５００円 です', '5,500円です')).toBe(true);
    expect(holdsAnswer('回答: 550円', '5,500円')).toBe(false);
  });

  it('refuses a file that is not chat examples', async () => {
    const dir = tempDir('shitate-ctx-');
    const f = writeJsonl(path.join(dir, 'train.jsonl'), [{ text: 'plain' }]);
    await expect(addContext([f], grounder, { refuseShare: 0, refusal: 'x', cite: true, seed: 1 })).rejects.toMatchObject({ code: 'E_DATA' });
  });
});
