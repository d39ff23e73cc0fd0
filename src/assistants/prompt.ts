// The system prompt of an assistant turn: its rendered instructions, tone and language, what it remembers
// about the user, and the numbered sources it should answer from and cite.
import { formatSources, type Source } from '../rag/index.js';
import type { Profile } from './profile.js';

const LANGUAGES: Record<string, [string, string]> = {
  ja: ['Japanese', '日本語'], en: ['English', '英語'], zh: ['Chinese', '中国語'], ko: ['Korean', '韓国語'],
  fr: ['French', 'フランス語'], de: ['German', 'ドイツ語'], es: ['Spanish', 'スペイン語'], pt: ['Portuguese', 'ポルトガル語'],
};

interface Words {
  tone: (t: string) => string;
  language: (l: string) => string;
  memory: string;
  sources: string;
  sourcesRule: string;
}

const EN: Words = {
  tone: (t) => `Tone: ${t}.`,
  language: (l) => `Always answer in ${LANGUAGES[l]?.[0] ?? l}.`,
  memory: '## What you remember about this user',
  sources: '## Reference documents',
  sourcesRule: 'Answer from these documents when they are relevant and cite them by number, like [1]. If they do not contain the answer, say so rather than guess.',
};

const JA: Words = {
  tone: (t) => `口調：${t}`,
  language: (l) => `回答は必ず${LANGUAGES[l]?.[1] ?? l}で書いてください。`,
  memory: '## このユーザーについて覚えていること',
  sources: '## 参考資料',
  sourcesRule: '関連する場合は以下の資料に基づいて回答し、[1] のように番号で出典を示してください。資料に答えがない場合は推測せず、そう伝えてください。',
};

const wordsOf = (p: Profile): Words => (p.language.toLowerCase().startsWith('ja') ? JA : EN);

/** The fixed head of the system prompt: rendered instructions, tone and language. */
export function promptHead(p: Profile, instructions: string): string {
  const w = wordsOf(p);
  return [instructions.trim(), p.tone ? w.tone(p.tone) : '', p.language ? w.language(p.language.toLowerCase().split(/[-_]/)[0]) : '']
    .filter(Boolean).join('\n');
}

export const memoryHeading = (p: Profile): string => wordsOf(p).memory;

/** The memory section for "- fact" lines ('' without any). */
export function memorySection(p: Profile, lines: string): string {
  return lines ? `${memoryHeading(p)}\n${lines}` : '';
}

/** The heading and rule of the knowledge section, which every source in it shares. */
export function knowledgeHeading(p: Profile): string {
  const w = wordsOf(p);
  return `${w.sources}\n${w.sourcesRule}`;
}

/** The knowledge section for numbered sources ('' without any). */
export function knowledgeSection(p: Profile, sources: readonly Source[]): string {
  return sources.length ? `${knowledgeHeading(p)}\n\n${formatSources(sources)}` : '';
}

/** The system prompt: head, then memory, then sources, separated by blank lines. */
export function systemPrompt(p: Profile, instructions: string, memory: string, sources: readonly Source[]): string {
  return [promptHead(p, instructions), memorySection(p, memory), knowledgeSection(p, sources)].filter(Boolean).join('\n\n');
}
