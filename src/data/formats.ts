// JSON record formats to the normalised form: OpenAI chat (messages), Alpaca (instruction/input/output),
// ShareGPT (conversations from/value), prompt/completion, question/answer keys, and plain text.
import { cleanText } from './normalize.js';
import { ALIASES, normHeader } from './table.js';
import { contentText, isPreferenceObject } from './preference-format.js';
import { preferenceToRecord } from './preference-record.js';
import type { DataRecord, ImportOptions, Issue, Loc, Turn } from './types.js';

export const FORMATS = ['openai', 'alpaca', 'sharegpt', 'completion', 'qa', 'text', 'preference'] as const;
export type JsonFormat = (typeof FORMATS)[number];

type Obj = Record<string, unknown>;

/** ShareGPT speaker names to chat roles; unknown names pass through and are reported by the validator. */
const SHAREGPT_ROLES: Record<string, string> = {
  human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', bard: 'assistant',
  bing: 'assistant', model: 'assistant', system: 'system', tool: 'tool', function: 'tool', observation: 'tool',
};

function keyFor(obj: Obj, role: 'question' | 'answer' | 'category' | 'system', spec: string | undefined): string | null {
  const keys = Object.keys(obj);
  const normed = keys.map(normHeader);
  const names = spec ? [spec] : ALIASES[role];
  for (const n of names) {
    const i = normed.indexOf(normHeader(n));
    if (i >= 0) return keys[i];
  }
  return null;
}

export function detectFormat(obj: Obj, opts: ImportOptions = {}): JsonFormat | null {
  if (isPreferenceObject(obj)) return 'preference'; // before openai/completion: {"messages", "chosen", ...}, {"prompt", "completion", "label"}
  if (Array.isArray(obj.messages)) return 'openai';
  if (Array.isArray(obj.conversations)) return 'sharegpt';
  if ('instruction' in obj && 'output' in obj) return 'alpaca';
  if ('prompt' in obj && 'completion' in obj) return 'completion';
  if (keyFor(obj, 'question', opts.questionCol) && keyFor(obj, 'answer', opts.answerCol)) return 'qa';
  if (typeof obj.text === 'string') return 'text';
  return null;
}

type Converted = { turns: Turn[] } | { missing: string };

function openaiTurns(obj: Obj): Converted {
  const turns: Turn[] = [];
  for (const [i, m] of (obj.messages as unknown[]).entries()) {
    const mm = m && typeof m === 'object' ? (m as Obj) : null;
    const content = mm ? contentText(mm.content) : null;
    if (!mm || typeof mm.role !== 'string' || content === null) return { missing: `messages[${i}].role/content` };
    const reasoning = mm.reasoning_content ?? mm.reasoning ?? mm.thinking;
    turns.push({ role: mm.role, content: cleanText(content), ...(typeof reasoning === 'string' && reasoning ? { reasoning_content: cleanText(reasoning) } : {}) });
  }
  return { turns };
}

function sharegptTurns(obj: Obj): Converted {
  const turns: Turn[] = [];
  if (typeof obj.system === 'string' && obj.system.trim()) turns.push({ role: 'system', content: cleanText(obj.system) });
  for (const [i, m] of (obj.conversations as unknown[]).entries()) {
    const mm = m && typeof m === 'object' ? (m as Obj) : null;
    const from = mm ? (mm.from ?? mm.role) : null;
    const value = mm ? contentText(mm.value ?? mm.content) : null;
    if (typeof from !== 'string' || value === null) return { missing: `conversations[${i}].from/value` };
    turns.push({ role: SHAREGPT_ROLES[from.toLowerCase()] ?? from, content: cleanText(value) });
  }
  return { turns };
}

function str(obj: Obj, key: string | null): string | null {
  if (key === null) return null;
  const v = obj[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

function pairTurns(obj: Obj, qKey: string | null, aKey: string | null, qName: string, aName: string, extra: string | null, sys: string | null): Converted {
  const q = str(obj, qKey);
  const a = str(obj, aKey);
  if (q === null) return { missing: qKey ?? qName };
  if (a === null) return { missing: aKey ?? aName };
  const question = extra && extra.trim() ? `${cleanText(q)}\n\n${cleanText(extra)}` : cleanText(q);
  const turns: Turn[] = sys && sys.trim() ? [{ role: 'system', content: cleanText(sys) }] : [];
  turns.push({ role: 'user', content: question }, { role: 'assistant', content: cleanText(a) });
  return { turns };
}

function convert(obj: Obj, format: JsonFormat, opts: ImportOptions): Converted | { text: string } {
  switch (format) {
    case 'openai': return Array.isArray(obj.messages) ? openaiTurns(obj) : { missing: 'messages' };
    case 'sharegpt': return Array.isArray(obj.conversations) ? sharegptTurns(obj) : { missing: 'conversations' };
    case 'alpaca': return pairTurns(obj, 'instruction', 'output', 'instruction', 'output', str(obj, 'input'), str(obj, 'system'));
    case 'completion': return pairTurns(obj, 'prompt', 'completion', 'prompt', 'completion', null, null);
    case 'qa': return pairTurns(obj, keyFor(obj, 'question', opts.questionCol), keyFor(obj, 'answer', opts.answerCol),
      opts.questionCol ?? 'question', opts.answerCol ?? 'answer', null, str(obj, keyFor(obj, 'system', opts.systemCol)));
    case 'text': return typeof obj.text === 'string' ? { text: cleanText(obj.text) } : { missing: 'text' };
    case 'preference': return { missing: 'chosen' }; // read by preferenceToRecord
  }
}

/**
 * One parsed JSON value to a record, or the issue that stops it. `fileFormat` is the format of the
 * file (forced, or detected on its first record): a record in another format is reported.
 */
export function jsonToRecord(value: unknown, fileFormat: JsonFormat | null, loc: Loc, opts: ImportOptions, split: 'train' | 'val'):
  { record: DataRecord; format: JsonFormat } | { issue: Issue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return { issue: { code: 'not_object', loc, params: { found } } };
  }
  const obj = value as Obj;
  const own = detectFormat(obj, opts);
  const format = fileFormat ?? own;
  if (format === null) {
    return { issue: { code: 'format_unknown', loc, params: { keys: Object.keys(obj).slice(0, 10).join(', ') || '(none)' } } };
  }
  if (own !== null && own !== format && !opts.format) {
    return { issue: { code: 'format_mismatch', loc, params: { found: own, expected: format } } };
  }
  const catKey = keyFor(obj, 'category', opts.categoryCol);
  const cat = str(obj, catKey);
  const category = cat && cat.trim() ? cat.trim() : null;
  if (format === 'preference') {
    const p = preferenceToRecord(obj, loc, opts, split, category);
    return 'issue' in p ? p : { record: p.record, format };
  }
  const c = convert(obj, format, opts);
  if ('missing' in c) return { issue: { code: 'missing_field', loc, params: { field: c.missing } } };
  if ('text' in c) return { record: { kind: 'text', messages: [], text: c.text, loc, category, split }, format };
  const turns = c.turns;
  if (opts.system && !turns.some((t) => t.role === 'system')) turns.unshift({ role: 'system', content: opts.system });
  return { record: { kind: 'chat', messages: turns, text: '', loc, category, split }, format };
}
