// The demo's knowledge base and its retrieval-augmented training examples: the FAQ becomes knowledge base
// "faq" in the run folder (one entry per row, cited by row), and each prepared example's prompt is rewritten
// to hold what an assistant with that knowledge base retrieves for the question, laid out as it lays out a turn.
import fs from 'node:fs';
import path from 'node:path';
import { contextGrounder, groundingProfile, localWindow, type Grounding } from '../assistants/index.js';
import { addContext, REFUSALS, type ContextStats } from '../data/with-context.js';
import { languageOfTexts } from '../eval/script.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ingest, KnowledgeBase } from '../rag/index.js';
import type { DemoOptions } from './options.js';

export const DEMO_KB = 'faq';

/** Sheets `kb add` indexes one entry per row; other data is indexed from the prepared examples. */
const SHEETS = new Set(['.csv', '.tsv', '.xlsx']);

export interface Knowledge {
  grounding: Grounding;
  /** the project folder holding kb/faq.sqlite (SHITATE_HOME for `assistant` and `kb` commands on it) */
  home: string;
  entries: number;
  close(): void;
}

type Chat = { messages: { role: string; content: string }[] };

const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** question,answer rows from the prepared chat files (for data that is not a sheet). */
function sheetFromExamples(files: readonly string[], out: string): string {
  const rows = ['question,answer'];
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim())) {
      const m = (JSON.parse(line) as Chat).messages.filter((x) => x.role !== 'system');
      if (m.length === 2 && m[0].role === 'user' && m[1].role === 'assistant') rows.push(`${csvCell(m[0].content)},${csvCell(m[1].content)}`);
    }
  }
  writeFileAtomic(out, `${rows.join('\n')}\n`);
  return out;
}

/** Indexes the FAQ (every row, training and validation alike: it is what the company knows). */
export async function buildKnowledge(o: DemoOptions, prepared: readonly string[], language: string): Promise<Knowledge> {
  const home = path.join(o.out, 'project');
  const sheet = SHEETS.has(path.extname(o.data).toLowerCase()) ? o.data : sheetFromExamples(prepared, path.join(home, 'faq.csv'));
  const kb = KnowledgeBase.open(home, DEMO_KB, { create: true });
  try {
    // indexed from the sheet's folder, so an entry is cited by its file name and row ("faq.csv, row 17")
    await ingest(kb, [path.basename(sheet)], { cwd: path.dirname(path.resolve(sheet)) });
  } catch (e) {
    kb.close();
    throw e;
  }
  const grounding: Grounding = { profile: groundingProfile(o.model, { bases: [DEMO_KB], language, quote: o.quote }), window: localWindow(o.model), kbs: [kb] };
  return { grounding, home, entries: kb.stats().chunks, close: () => kb.close() };
}

/** Rewrites the prepared files as retrieval-augmented examples (the right entry among distractors, a share
 *  without it that learns the refusal, answers citing [n]). */
export function groundExamples(k: Knowledge, files: readonly string[], o: DemoOptions, language: string): Promise<ContextStats> {
  const refusal = language.startsWith('ja') ? REFUSALS.ja : REFUSALS.en;
  return addContext(files, contextGrounder(k.grounding), { refuseShare: o.refuseShare, refusal, cite: true, seed: o.seed });
}

/** The language of the answers in the prepared files ('ja' or 'en'): the prompt's words and the refusal follow it. */
export function dataLanguage(files: readonly string[]): 'ja' | 'en' {
  const answers: string[] = [];
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).slice(0, 200)) {
      for (const m of (JSON.parse(line) as Chat).messages) if (m.role === 'assistant') answers.push(m.content);
    }
  }
  return languageOfTexts(answers);
}

/** Tokens of the examples in a chat file as the model's template renders them, in all and the longest (the
 *  grounded examples are several times longer than the pairs the check counted: this sizes validation, and
 *  training must keep the longest whole, since its answer comes last). */
export function fileTokens(k: Knowledge, file: string): { total: number; longest: number } {
  let total = 0;
  let longest = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())) {
    const n = k.grounding.window.countChat((JSON.parse(line) as Chat).messages);
    total += n;
    longest = Math.max(longest, n);
  }
  return { total, longest };
}
