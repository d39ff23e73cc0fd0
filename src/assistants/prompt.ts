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

export function systemPrompt(p: Profile, instructions: string, memory: string, sources: readonly Source[]): string {
  const w = p.language.toLowerCase().startsWith('ja') ? JA : EN;
  const head = [instructions.trim(), p.tone ? w.tone(p.tone) : '', p.language ? w.language(p.language.toLowerCase().split(/[-_]/)[0]) : '']
    .filter(Boolean).join('\n');
  const parts = [head];
  if (memory) parts.push(`${w.memory}\n${memory}`);
  if (sources.length) parts.push(`${w.sources}\n${w.sourcesRule}\n\n${formatSources(sources)}`);
  return parts.filter(Boolean).join('\n\n');
}
