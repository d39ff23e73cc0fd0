// Rows of a sheet (CSV/TSV/XLSX) to examples: header detection, column mapping by name or number
// (with Japanese and English aliases for FAQ sheets), and one chat or text record per row.
import { cleanText } from './normalize.js';
import type { DataRecord, ImportItem, ImportOptions, Issue, Loc, Turn } from './types.js';

export type Role = 'question' | 'answer' | 'category' | 'system' | 'input' | 'text';

/** Header names recognised without flags, most specific first (compared after NFKC + lower case). */
export const ALIASES: Record<Role, string[]> = {
  question: ['質問', '質問内容', '問い合わせ', '問い合わせ内容', '問合せ', '問合せ内容', 'お問い合わせ', '問', '設問', 'question', 'questions', 'query', 'q', 'instruction', 'prompt', 'user', 'ユーザー'],
  answer: ['回答', '回答内容', '答え', '返答', '応答', '対応', 'answer', 'answers', 'a', 'response', 'output', 'completion', 'reply', 'assistant'],
  category: ['分類', 'カテゴリ', 'カテゴリー', '種別', 'ジャンル', '区分', 'category', 'type', 'tag', 'label', 'topic'],
  system: ['システム', 'システムプロンプト', 'system', 'system_prompt', 'systemprompt'],
  input: ['input', '入力', '補足'],
  text: ['text', '本文', '文章', 'content', 'document'],
};

export interface ColumnMap {
  question: number | null;
  answer: number | null;
  category: number | null;
  system: number | null;
  input: number | null;
  text: number | null;
}

export interface Mapping {
  map: ColumnMap;
  /** The header row's cells, or null when the first row is data. */
  header: string[] | null;
}

const FLAGS: Record<Role, string> = {
  question: 'question-col', answer: 'answer-col', category: 'category-col', system: 'system-col', input: 'question-col', text: 'question-col',
};

export function normHeader(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

function given(opts: ImportOptions): Partial<Record<Role, string>> {
  const g: Partial<Record<Role, string>> = {};
  if (opts.questionCol) g.question = opts.questionCol;
  if (opts.answerCol) g.answer = opts.answerCol;
  if (opts.categoryCol) g.category = opts.categoryCol;
  if (opts.systemCol) g.system = opts.systemCol;
  return g;
}

function findAlias(header: string[], role: Role, taken: Set<number>): number | null {
  const normed = header.map(normHeader);
  for (const alias of ALIASES[role]) {
    const i = normed.indexOf(normHeader(alias));
    if (i >= 0 && !taken.has(i)) return i;
  }
  return null;
}

/** A column given by name (header) or by 1-based number. */
function resolveSpec(spec: string, header: string[] | null, width: number): number | null {
  if (header) {
    const i = header.map(normHeader).indexOf(normHeader(spec));
    if (i >= 0) return i;
  }
  if (/^\d+$/.test(spec.trim())) {
    const i = Number(spec) - 1;
    return i >= 0 && i < width ? i : null;
  }
  return null;
}

function columnList(first: string[], header: boolean): string {
  return first.map((c, i) => (header ? `"${c}"` : `${i + 1}: "${c.slice(0, 20)}"`)).join(', ');
}

/** Works out which column is what from the first row (and the flags). Returns an issue when it cannot. */
export function mapColumns(first: string[], opts: ImportOptions, loc: Loc): Mapping | Issue {
  const specs = given(opts);
  const looksLikeHeader = first.some((c) => {
    const n = normHeader(c);
    return Object.values(ALIASES).some((list) => list.some((a) => normHeader(a) === n))
      || Object.values(specs).some((s) => s !== undefined && normHeader(s) === n && !/^\d+$/.test(s.trim()));
  });
  const header = (opts.header ?? looksLikeHeader) ? first : null;
  const map: ColumnMap = { question: null, answer: null, category: null, system: null, input: null, text: null };
  const taken = new Set<number>();
  for (const [role, spec] of Object.entries(specs) as [Role, string][]) {
    const i = resolveSpec(spec, header, first.length);
    if (i === null) {
      return { code: 'column_missing', loc, params: { column: spec, columns: columnList(first, header !== null), flag: FLAGS[role] } };
    }
    map[role] = i;
    taken.add(i);
  }
  if (header) {
    for (const role of ['question', 'answer', 'category', 'system', 'input', 'text'] as Role[]) {
      if (map[role] !== null || (role === 'input' && map.question === null)) continue;
      const i = findAlias(header, role, taken);
      if (i !== null) { map[role] = i; taken.add(i); }
    }
    if (map.input !== null && map.question === null) { map.question = map.input; map.input = null; }
  } else if (map.question === null && map.answer === null && first.length === 2) {
    map.question = 0; // two unnamed columns: question, answer
    map.answer = 1;
  }
  const chat = map.question !== null && map.answer !== null;
  if (!chat && map.text === null) {
    return { code: 'columns_unknown', loc, params: { columns: columnList(first, header !== null) } };
  }
  if (chat) map.text = null;
  return { map, header };
}

function cell(cells: string[], i: number | null): string {
  return i === null ? '' : cleanText(cells[i] ?? '');
}

/** One row to one example (plus a warning when the row has more non-empty cells than the header). */
export function rowToItems(cells: string[], loc: Loc, m: Mapping, opts: ImportOptions, split: 'train' | 'val'): ImportItem[] {
  const out: ImportItem[] = [];
  if (m.header && cells.length > m.header.length && cells.slice(m.header.length).some((c) => c.trim() !== '')) {
    out.push({ kind: 'issue', issue: { code: 'ragged_row', loc, params: { found: cells.length, expected: m.header.length } } });
  }
  const category = cell(cells, m.map.category) || null;
  let record: DataRecord;
  if (m.map.text !== null) {
    record = { kind: 'text', messages: [], text: cell(cells, m.map.text), loc, category, split };
  } else {
    const input = cell(cells, m.map.input);
    const question = input ? `${cell(cells, m.map.question)}\n\n${input}` : cell(cells, m.map.question);
    const system = cell(cells, m.map.system) || opts.system || '';
    const messages: Turn[] = [];
    if (system) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: question }, { role: 'assistant', content: cell(cells, m.map.answer) });
    record = { kind: 'chat', messages, text: '', loc, category, split };
  }
  out.push({ kind: 'record', record });
  return out;
}
