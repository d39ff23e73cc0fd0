// The names people type for a model, resolved to a catalog family and size: a Hugging Face id or its
// repository name alone, the Instruct / chat / -it checkpoint or the base one, in any letter case, and
// (when asked) another revision of the same family and size (Mistral-7B-Instruct-v0.2 -> Mistral-7B).
import type { Catalog, Family, Variant } from './types.js';

export type Checkpoint = 'base' | 'chat';

export interface ModelMatch {
  family: Family;
  /** null when the name is a whole family */
  variant: Variant | null;
  /** which checkpoint of the size the name points at; null for a family */
  checkpoint: Checkpoint | null;
  /** the Hugging Face id of that checkpoint, when the catalog knows it */
  repo: string | null;
  /** exact: a catalog id; variant: the same checkpoint spelled otherwise; size: only family and size agree */
  match: 'exact' | 'variant' | 'size';
}

/** Name segments that say which checkpoint of a size it is, not which size. "hf" marks a converted copy. */
const CHAT_WORDS = new Set(['instruct', 'chat', 'it']);
const BASE_WORDS = new Set(['base', 'pt']);
const NEUTRAL_WORDS = new Set(['hf']);
/** a parameter-count segment: 7b, 135m, 1.5b, 8x7b */
const SIZE = /^(\d+(\.\d+)?[bm]|\d+x\d+(\.\d+)?b)$/;

/** "https://huggingface.co/Org/Name/" or "Org/Name" -> "org/name" (lower case, no URL, no slashes at the ends). */
export function cleanName(name: string): string {
  return name.trim().toLowerCase().replace(/^https?:\/\/(www\.)?huggingface\.co\//, '').replace(/^\/+|\/+$/g, '');
}

/** The repository name without its organisation. */
const repoPart = (clean: string): string => clean.slice(clean.lastIndexOf('/') + 1);

/** The name with the checkpoint words and Meta's old "Meta-" prefix taken out: the size's own name. */
export function sizeStem(name: string): string {
  const segs = repoPart(cleanName(name)).replace(/^meta-(?=llama)/, '').split('-');
  return segs.filter((s) => !CHAT_WORDS.has(s) && !BASE_WORDS.has(s) && !NEUTRAL_WORDS.has(s)).join('-');
}

/** chat when the name carries Instruct / chat / it, base when it carries Base / pt, else null. */
export function checkpointWord(name: string): Checkpoint | null {
  const segs = repoPart(cleanName(name)).split('-');
  if (segs.some((s) => CHAT_WORDS.has(s))) return 'chat';
  return segs.some((s) => BASE_WORDS.has(s)) ? 'base' : null;
}

/** The family part and the size of a stem ("qwen2.5-7b-1m" -> qwen2.5 + 7b), or null without a size. */
function familyAndSize(stem: string): { family: string; size: string } | null {
  const segs = stem.split('-');
  const k = segs.findIndex((s) => SIZE.test(s));
  return k > 0 ? { family: segs.slice(0, k).join('-'), size: segs[k] } : null;
}

/** The variant's own names (id, base id), or its chat checkpoint's. */
function names(v: Variant, which: 'own' | 'chat' | 'all' = 'all'): string[] {
  const list = which === 'own' ? [v.id, v.hf] : which === 'chat' ? [v.chat] : [v.id, v.hf, v.chat];
  return list.filter((s): s is string => s !== undefined).map(cleanName);
}

function result(family: Family, variant: Variant, checkpoint: Checkpoint, match: ModelMatch['match']): ModelMatch {
  // a base checkpoint of a family whose listed id is the chat model (Qwen3-8B-Base) has no id here
  const base = variant.hf !== undefined && variant.hf !== variant.chat ? variant.hf : null;
  return { family, variant, checkpoint, repo: checkpoint === 'chat' ? variant.chat ?? null : base, match };
}

/** The checkpoint an exact name points at: the chat one when it is the chat id (or the variant is itself chat). */
function exactCheckpoint(q: string, v: Variant): Checkpoint {
  const chat = v.chat ? cleanName(v.chat) : null;
  if (chat !== null && (q === chat || q === repoPart(chat))) return 'chat';
  return v.chat !== undefined && v.chat === v.hf ? 'chat' : checkpointWord(v.id) ?? 'base';
}

/**
 * Finds a model by family id or name, variant id, Hugging Face id or repository name (case-insensitive),
 * then by the size's own name (Instruct/chat/-it/Base/-pt/-hf suffixes left out), then, with `sizeOnly`,
 * by family and size alone (another revision: the last listed one of that size).
 */
export function resolveModelName(name: string, cat: Catalog, sizeOnly = true): ModelMatch | null {
  const q = cleanName(name);
  if (q === '') return null;
  const variants = cat.families.flatMap((family) => family.variants.map((variant) => ({ family, variant })));
  // a variant's own id first: llm-jp-3-13b-instruct is listed itself and as the chat checkpoint of llm-jp-3-13b
  for (const which of ['own', 'chat'] as const) {
    for (const { family, variant } of variants) {
      if (names(variant, which).some((n) => n === q || repoPart(n) === q)) return result(family, variant, exactCheckpoint(q, variant), 'exact');
    }
  }
  const family = cat.families.find((f) => f.id === q || f.name.toLowerCase() === q);
  if (family) return { family, variant: null, checkpoint: null, repo: null, match: 'exact' };
  const stem = sizeStem(q);
  const word = checkpointWord(q);
  for (const { family: f, variant } of variants) {
    if (names(variant).some((n) => sizeStem(n) === stem)) return result(f, variant, word ?? exactCheckpoint(q, variant), 'variant');
  }
  const want = sizeOnly ? familyAndSize(stem) : null;
  if (!want) return null;
  const same = variants.filter(({ variant }) => names(variant).some((n) => {
    const got = familyAndSize(sizeStem(n));
    return got !== null && got.family === want.family && got.size === want.size;
  }));
  const last = same.at(-1);
  return last ? result(last.family, last.variant, word ?? 'base', 'size') : null;
}
