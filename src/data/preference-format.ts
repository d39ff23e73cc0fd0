// Preference records as the Python tools write them, to one form: pairs (TRL's preference format, with an
// explicit "prompt", a "messages" prompt, or the prompt implicit in chosen/rejected; OpenAI's preference
// fine-tuning format input/preferred_output/non_preferred_output) and unpaired judgments (TRL's KTO format,
// "prompt"/"completion" or "messages" with "label"). Conversational records keep their messages; standard
// (plain-text) ones keep their strings. Pure: a parsed JSON object in, a record or what is wrong out.
import type { Turn } from './types.js';

/** A prompt or completion: messages (conversational) or text (standard). */
export type PrefSide = Turn[] | string;

export interface PairRecord {
  kind: 'pair';
  prompt: PrefSide;
  chosen: PrefSide;
  rejected: PrefSide;
}

export interface LabelRecord {
  kind: 'label';
  prompt: PrefSide;
  completion: PrefSide;
  /** true: desirable (👍), false: undesirable (👎) */
  label: boolean;
}

export type PreferenceRecord = PairRecord | LabelRecord;

/** What is wrong with a record: a missing or malformed field, named as the file names it. */
export interface PrefProblem {
  field: string;
  expected: string;
}

type Obj = Record<string, unknown>;

/** True when the object is preference data (pairs or judgments) rather than SFT data. */
export function isPreferenceObject(o: Obj): boolean {
  // a boolean label only: a string "label" beside SFT messages is a category, not a judgment
  return ('chosen' in o && 'rejected' in o) || ('preferred_output' in o && 'non_preferred_output' in o) || (typeof o.label === 'boolean' && ('completion' in o || 'messages' in o));
}

/** Text of a message content: a string, or OpenAI's list of parts ({"type": "text", "text": ...}). */
export function contentText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (Array.isArray(v)) {
    const parts = v.map((p) => (p && typeof p === 'object' && typeof (p as Obj).text === 'string' ? (p as Obj).text as string : null));
    return parts.every((p) => p !== null) ? parts.join('') : null;
  }
  return null;
}

/** A list of {role, content} messages, or a string; null when neither. */
function side(v: unknown, clean: (s: string) => string): PrefSide | null {
  if (typeof v === 'string') return clean(v);
  if (!Array.isArray(v)) return null;
  const out: Turn[] = [];
  for (const m of v) {
    const mm = m && typeof m === 'object' ? (m as Obj) : null;
    const content = mm ? contentText(mm.content) : null;
    if (!mm || typeof mm.role !== 'string' || content === null) return null;
    const reasoning = mm.reasoning_content ?? mm.reasoning ?? mm.thinking;
    out.push({ role: mm.role, content: clean(content), ...(typeof reasoning === 'string' && reasoning ? { reasoning_content: clean(reasoning) } : {}) });
  }
  return out;
}

const MESSAGES = 'a list of {"role", "content"} messages or a string';

/** Prompt and completions in one form: when either side is conversational, text becomes a user prompt or an
 *  assistant answer (so {"messages": [...], "chosen": "text", ...} reads as a conversation). */
function unify(prompt: PrefSide, completions: PrefSide[]): { prompt: PrefSide; completions: PrefSide[] } {
  const chat = Array.isArray(prompt) || completions.some((c) => Array.isArray(c));
  if (!chat) return { prompt, completions };
  const asTurns = (s: PrefSide, role: string): Turn[] => (typeof s === 'string' ? [{ role, content: s }] : s);
  return { prompt: asTurns(prompt, 'user'), completions: completions.map((c) => asTurns(c, 'assistant')) };
}

function sameTurn(a: Turn, b: Turn): boolean {
  return a.role === b.role && a.content === b.content && a.reasoning_content === b.reasoning_content;
}

/** TRL's extract_prompt: the longest common prefix of chosen and rejected is the prompt (for text, a space
 *  just before the first difference goes with the completions). */
export function extractPrompt(chosen: PrefSide, rejected: PrefSide): { prompt: PrefSide; chosen: PrefSide; rejected: PrefSide } {
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    let i = 0;
    while (i < Math.min(chosen.length, rejected.length) && chosen[i] === rejected[i]) i++;
    if (i > 0 && chosen[i - 1] === ' ') i--;
    return { prompt: chosen.slice(0, i), chosen: chosen.slice(i), rejected: rejected.slice(i) };
  }
  const c = typeof chosen === 'string' ? [{ role: 'assistant', content: chosen }] : chosen;
  const r = typeof rejected === 'string' ? [{ role: 'assistant', content: rejected }] : rejected;
  let i = 0;
  while (i < Math.min(c.length, r.length) && sameTurn(c[i], r[i])) i++;
  return { prompt: c.slice(0, i), chosen: c.slice(i), rejected: r.slice(i) };
}

function pairOf(o: Obj, clean: (s: string) => string): PairRecord | PrefProblem {
  const openai = 'preferred_output' in o;
  const [ck, rk] = openai ? ['preferred_output', 'non_preferred_output'] : ['chosen', 'rejected'];
  const chosen = side(o[ck], clean);
  if (chosen === null) return { field: ck, expected: MESSAGES };
  const rejected = side(o[rk], clean);
  if (rejected === null) return { field: rk, expected: MESSAGES };
  const input = openai ? (o.input && typeof o.input === 'object' ? (o.input as Obj).messages : undefined) : undefined;
  const pk = openai ? 'input.messages' : 'prompt' in o ? 'prompt' : 'messages' in o ? 'messages' : null;
  if (pk === null) {
    const x = extractPrompt(chosen, rejected);
    return { kind: 'pair', ...x };
  }
  const prompt = side(openai ? input : o[pk], clean);
  if (prompt === null) return { field: pk, expected: MESSAGES };
  const u = unify(prompt, [chosen, rejected]);
  return { kind: 'pair', prompt: u.prompt, chosen: u.completions[0], rejected: u.completions[1] };
}

function labelOf(o: Obj, clean: (s: string) => string): LabelRecord | PrefProblem {
  if (typeof o.label !== 'boolean') return { field: 'label', expected: 'true (desirable, 👍) or false (undesirable, 👎)' };
  if (!('completion' in o)) {
    // {"messages": [..., {"role": "assistant", ...}], "label": ...}: the last answer is the judged completion
    const msgs = side(o.messages, clean);
    if (msgs === null || typeof msgs === 'string') return { field: 'messages', expected: 'a list of {"role", "content"} messages' };
    if (msgs.length < 2 || msgs[msgs.length - 1].role !== 'assistant') return { field: 'messages', expected: 'messages that end with the judged assistant answer' };
    return { kind: 'label', prompt: msgs.slice(0, -1), completion: msgs.slice(-1), label: o.label };
  }
  const completion = side(o.completion, clean);
  if (completion === null) return { field: 'completion', expected: MESSAGES };
  const pk = 'prompt' in o ? 'prompt' : 'messages';
  const prompt = side(o[pk], clean);
  if (prompt === null) return { field: pk, expected: MESSAGES };
  const u = unify(prompt, [completion]);
  return { kind: 'label', prompt: u.prompt, completion: u.completions[0], label: o.label };
}

/** One JSON object to a preference record. `clean` normalises every text (data check cleans; training keeps). */
export function parsePreference(o: Obj, clean: (s: string) => string = (s) => s): PreferenceRecord | PrefProblem {
  if (('chosen' in o && 'rejected' in o) || ('preferred_output' in o && 'non_preferred_output' in o)) return pairOf(o, clean);
  return labelOf(o, clean);
}

export function isProblem(r: PreferenceRecord | PrefProblem): r is PrefProblem {
  return 'expected' in r;
}

/** TRL's unpair_preference_dataset: a pair becomes a desirable and an undesirable judgment of one prompt. */
export function unpair(p: PairRecord): [LabelRecord, LabelRecord] {
  return [{ kind: 'label', prompt: p.prompt, completion: p.chosen, label: true }, { kind: 'label', prompt: p.prompt, completion: p.rejected, label: false }];
}

/** The text of a side, for comparisons and reports (messages joined by newlines). */
export function sideText(s: PrefSide): string {
  return typeof s === 'string' ? s : s.map((m) => m.content).join('\n');
}
