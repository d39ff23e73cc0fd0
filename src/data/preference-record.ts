// Preference records in the data check: a parsed pair or judgment to the normalised example (the prompt and
// the chosen or judged answer as its conversation, the rejected answer or the label beside it), the checks of
// one record (no prompt, empty or identical answers, personal data in the rejected answer), and the JSON line
// `prepare` writes (TRL's conversational preference or KTO format).
import { cleanText } from './normalize.js';
import { isProblem, parsePreference, type PrefSide } from './preference-format.js';
import type { MessageCode } from './messages.js';
import type { DataRecord, ImportOptions, Issue, Loc, Turn } from './types.js';

type Obj = Record<string, unknown>;

const turns = (s: PrefSide, role: string): Turn[] => (typeof s === 'string' ? [{ role, content: s }] : s);

/** One preference object to a record, or the issue that stops it. */
export function preferenceToRecord(obj: Obj, loc: Loc, opts: ImportOptions, split: 'train' | 'val', category: string | null): { record: DataRecord } | { issue: Issue } {
  const p = parsePreference(obj, cleanText);
  if (isProblem(p)) return { issue: { code: 'missing_field', loc, params: { field: p.field } } };
  const prompt = turns(p.prompt, 'user');
  if (opts.system && !prompt.some((t) => t.role === 'system')) prompt.unshift({ role: 'system', content: opts.system });
  const answer = turns(p.kind === 'pair' ? p.chosen : p.completion, 'assistant');
  const preference = p.kind === 'pair'
    ? { kind: 'pair' as const, promptTurns: prompt.length, rejected: turns(p.rejected, 'assistant') }
    : { kind: 'label' as const, promptTurns: prompt.length, label: p.label };
  return { record: { kind: 'chat', messages: [...prompt, ...answer], text: '', loc, category, split, preference } };
}

function sideText(ts: readonly Turn[]): string {
  return ts.map((m) => `${m.role}\u0001${m.content}`).join('\u0002');
}

/** Problems of one preference record beyond those of its conversation: (code, params) to report. */
export function preferenceIssues(r: DataRecord): { code: MessageCode; params: Issue['params'] }[] {
  const p = r.preference;
  if (!p) return [];
  const out: { code: MessageCode; params: Issue['params'] }[] = [];
  const prompt = r.messages.slice(0, p.promptTurns);
  const answer = r.messages.slice(p.promptTurns);
  if (!prompt.some((m) => m.role === 'user' && m.content.trim())) out.push({ code: 'pref_no_prompt', params: {} });
  const empty = (ts: readonly Turn[]) => ts.length === 0 || ts.every((m) => !m.content.trim());
  if (empty(answer)) out.push({ code: 'pref_empty', params: p.kind === 'pair' ? { side_en: 'chosen', side_ja: 'chosen（良い方）' } : { side_en: 'judged', side_ja: '評価された' } });
  if (p.rejected && empty(p.rejected)) out.push({ code: 'pref_empty', params: { side_en: 'rejected', side_ja: 'rejected（悪い方）' } });
  if (p.rejected && !empty(answer) && sideText(answer) === sideText(p.rejected)) out.push({ code: 'pref_identical', params: {} });
  return out;
}

/** The line `prepare` writes: TRL's conversational preference format, or its KTO format. */
export function preferenceJson(r: DataRecord, turn: (m: Turn) => Turn): Record<string, unknown> {
  const p = r.preference!;
  const prompt = r.messages.slice(0, p.promptTurns).map(turn);
  const answer = r.messages.slice(p.promptTurns).map(turn);
  if (p.kind === 'pair') return { prompt, chosen: answer, rejected: (p.rejected ?? []).map(turn) };
  return { prompt, completion: answer, label: p.label === true };
}
