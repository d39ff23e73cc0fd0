// Related-term groups: words a customer and an FAQ use for the same thing ("郵送代" / "送料"). A group
// matches a text when one of its members does; a matched group becomes a shared feature of the query and the
// entries, so "郵送代はいくら？" finds "送料はいくらですか？". Members match by spelling (folded), by reading
// (so kana and kanji spellings meet) or by dictionary forms (so "取りやめたい" matches "取りやめる"); a
// member with a space needs all its parts.
import { analyze, type Analyzed } from './analyze.js';
import { foldText } from './fold.js';
import type { Morph } from './morph.js';

interface Part {
  folded: string;
  reading: string;
  bases: string[];
  /** one kanji or up to two kana: matched only as a whole word, never inside another */
  short: boolean;
}

export interface CompiledGroup {
  /** the first member, as written: what the group is called in reports */
  label: string;
  members: Part[][];
}

const SQUEEZE = /[\s\p{P}\p{S}]+/gu;

function compilePart(m: Morph, raw: string): Part | null {
  const a = analyze(m, raw);
  if (!a.folded) return null;
  const n = [...a.folded].length;
  const short = n <= 1 || (n <= 2 && /^[\p{Script=Hiragana}\p{Script=Katakana}]+$/u.test(a.folded));
  return { folded: a.folded, reading: a.reading, bases: a.bases, short };
}

/** Groups with their members analysed once; empty members and groups of fewer than two members are dropped. */
export function compileGroups(m: Morph, groups: readonly (readonly string[])[]): CompiledGroup[] {
  const out: CompiledGroup[] = [];
  for (const g of groups) {
    const members: Part[][] = [];
    for (const member of g) {
      const parts = foldText(member).split(/\s+/).filter(Boolean).map((p) => compilePart(m, p));
      if (parts.length && parts.every((p) => p !== null)) members.push(parts as Part[]);
    }
    if (members.length >= 2) out.push({ label: g[0], members });
  }
  return out;
}

function containsRun(hay: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return needle.length === 0;
}

function partMatches(p: Part, t: Analyzed): boolean {
  if (p.short) return t.bases.includes(p.folded) || (p.bases.length === 1 && t.bases.includes(p.bases[0]));
  if (t.folded.includes(p.folded)) return true;
  if ([...p.reading].length >= 3 && t.reading.includes(p.reading)) return true;
  return p.bases.length > 0 && containsRun(t.bases, p.bases);
}

/** Indices of the groups that match the analysed text. */
export function matchGroups(groups: readonly CompiledGroup[], t: Analyzed): number[] {
  const out: number[] = [];
  groups.forEach((g, i) => {
    if (g.members.some((parts) => parts.every((p) => partMatches(p, t)))) out.push(i);
  });
  return out;
}

/** The member words of matched groups, for the word index of documents (each member's parts, joined). */
export function expansionWords(groups: readonly CompiledGroup[], matched: readonly number[]): string[] {
  const words = new Set<string>();
  for (const i of matched) for (const parts of groups[i].members) for (const p of parts) if (!p.short) words.add(p.folded.replace(SQUEEZE, ''));
  return [...words];
}
