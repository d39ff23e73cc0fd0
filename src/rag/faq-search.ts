// The FAQ index and related-term groups of a knowledge base, built on first use and kept while neither the
// entries (kb add, in any process) nor kb/NAME.yaml change, so a running assistant or server sees updates.
import fs from 'node:fs';
import { FaqIndex } from './faq-index.js';
import { effectiveGroups, readKbSettings, type KbSettings } from './kb-settings.js';
import type { Morph } from './morph.js';
import type { KnowledgeBase } from './store.js';
import { compileGroups, type CompiledGroup } from './synonyms.js';

interface Cached {
  key: string;
  settings: KbSettings;
  groups: CompiledGroup[];
  index: FaqIndex | null;
  indexKey: string;
}

const cache = new Map<string, Cached>();

const mtimeOf = (file: string): number => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;

/** The settings and compiled groups of a knowledge base (re-read when kb/NAME.yaml changes). */
export function searchSetup(kb: KnowledgeBase, morph: Morph): { settings: KbSettings; groups: CompiledGroup[] } {
  const settings = readKbSettings(kb.file);
  const key = `${settings.file}:${mtimeOf(settings.file)}`;
  let c = cache.get(kb.file);
  if (!c || c.key !== key) {
    c = { key, settings, groups: compileGroups(morph, effectiveGroups(settings)), index: null, indexKey: '' };
    cache.set(kb.file, c);
  }
  return { settings: c.settings, groups: c.groups };
}

/** The FAQ index of the knowledge base's entries, or null when it has none. */
export function faqIndexFor(kb: KnowledgeBase, morph: Morph): FaqIndex | null {
  const { groups } = searchSetup(kb, morph);
  const c = cache.get(kb.file)!;
  const stamp = kb.entriesStamp();
  if (c.indexKey !== stamp) {
    const entries = kb.entries();
    c.index = entries.length ? new FaqIndex(entries.map((e) => ({ id: e.id, question: e.fields.question, answer: answerField(e.text, e.fields.question) })), morph, groups) : null;
    c.indexKey = stamp;
  }
  return c.index;
}

/** What the answer field holds: every cell of the row except the question. */
function answerField(text: string, question: string): string {
  const at = question ? text.indexOf(question) : -1;
  return at < 0 ? text : text.slice(0, at) + text.slice(at + question.length);
}
