// `data prepare --with-context KB`: wires the knowledge base's retrieval and the assistant's turn layout into
// the prepared files, so each example's prompt holds what an assistant on this model would retrieve and
// send, and prints what retrieval found.
import { ShitateError } from '../errors.js';
import { contextGrounder, groundingProfile, localWindow, loadProfile, type Grounding } from '../assistants/index.js';
import { addContext, REFUSALS, type ContextStats } from '../data/with-context.js';
import type { Lang } from '../data/messages.js';
import { KnowledgeBase, projectHome } from '../rag/index.js';

export interface ContextFlags {
  bases: string[];
  model: string | null;
  /** an assistant whose profile (instructions, language, top_k, max_tokens) the layout follows */
  assistant: string | null;
  language: string | null;
  refuseShare: number;
  refusal: string | null;
  cite: boolean;
  seed: number;
}

/** The grounding an assistant on `model` with these bases would do (the caller closes the bases). */
export function openGrounding(model: string, bases: readonly string[], assistant: string | null, language: string): Grounding {
  const home = projectHome();
  const base = assistant ? loadProfile(home, assistant) : null;
  const profile = base
    ? { ...base, knowledge: { ...base.knowledge, bases: [...bases] } }
    : groundingProfile(model, { bases: [...bases], language });
  const kbs: KnowledgeBase[] = [];
  try {
    for (const b of bases) kbs.push(KnowledgeBase.open(home, b, { create: false }));
  } catch (e) {
    for (const kb of kbs) kb.close();
    throw e;
  }
  return { profile, window: localWindow(model), kbs };
}

export async function prepareWithContext(files: readonly string[], f: ContextFlags, lang: Lang): Promise<ContextStats> {
  if (!f.model) {
    throw new ShitateError('E_USAGE', 'data prepare --with-context: expected --model DIR, found none',
      'the context is planned against the model you will train (its tokenizer, template and context length): add --model DIR');
  }
  const language = f.language ?? lang;
  const g = openGrounding(f.model, f.bases, f.assistant, language);
  try {
    const refusal = f.refusal ?? (language.startsWith('ja') ? REFUSALS.ja : REFUSALS.en);
    return await addContext(files, contextGrounder(g), { refuseShare: f.refuseShare, refusal, cite: f.cite, seed: f.seed });
  } finally {
    for (const kb of g.kbs) kb.close();
  }
}

/** What the terminal shows after the files are rewritten. */
export function contextSummary(s: ContextStats, bases: readonly string[]): string {
  const pct = (n: number) => (s.grounded ? `${((100 * n) / s.grounded).toFixed(0)}%` : '—');
  const at = Object.entries(s.at).sort(([a], [b]) => Number(a) - Number(b)).map(([k, n]) => `[${k}] ${n}`).join(', ');
  return [
    `with context from ${bases.join(', ')}: ${s.grounded} of ${s.examples} examples, ${s.meanSources.toFixed(1)} passages each on average`,
    `  answer in the prompt: ${s.withAnswer} (${pct(s.withAnswer)}${at ? `; ${at}` : ''})`,
    `  taught to say the answer is not there: ${s.refusedByShare + s.notRetrieved} (${s.refusedByShare} on purpose, ${s.notRetrieved} not retrieved)`,
    ...(s.unchanged ? [`  left as they were (not one question and one answer): ${s.unchanged}`] : []),
  ].join('\n') + '\n';
}
