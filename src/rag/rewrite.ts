// Query rewriting: before search, a chat model restates the customer's question in the wording of the
// knowledge base, shown a few of its own questions that a first search found. Search then ranks both
// wordings and fuses them, so a bad rewrite can add candidates but never hides what the question found.
import { createProvider, complete, type Provider } from '../providers/index.js';
import type { KbSettings } from './kb-settings.js';
import type { QueryRewriter } from './search.js';

const CJK = /[\u3040-\u30ff\u3400-\u9fff]/;

/** The rewriting prompt, in the question's language. */
export function rewriteMessages(query: string, examples: readonly string[]): { role: string; content: string }[] {
  const ja = CJK.test(query);
  const list = examples.slice(0, 8).map((e) => `- ${e.replace(/\s+/g, ' ').slice(0, 120)}`).join('\n');
  const system = ja
    ? 'お客様の質問を、下のFAQで使われている言葉づかいで、同じ意味の短い質問1文に書き直してください。書き直した質問だけを答えてください。'
    : 'Rewrite the customer question as one short question with the same meaning, in the words the FAQ below uses. Reply with the rewritten question only.';
  const user = ja ? `FAQの質問の例:\n${list}\n\nお客様の質問: ${query}\n書き直した質問:` : `FAQ questions:\n${list}\n\nCustomer question: ${query}\nRewritten question:`;
  return [{ role: 'system', content: system }, { role: 'user', content: user }];
}

/** The first non-empty line of a reply, without a label or quotes the model may add. */
export function cleanRewrite(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.replace(/^(?:書き直した質問|rewritten question)\s*[:：]\s*/i, '').replace(/^["「『]|["」』]$/g, '').trim();
}

/** A rewriter over any chat provider: greedy, short, one line. */
export function chatRewriter(provider: Provider, maxTokens = 64): QueryRewriter {
  return async (query, examples) => {
    const r = await complete(provider, { messages: rewriteMessages(query, examples), params: { temperature: 0, maxTokens } });
    return cleanRewrite(r.text) || null;
  };
}

const opened = new Map<string, QueryRewriter>();

/** The rewriter kb/NAME.yaml configures (its model opened once per process), or null. */
export function rewriterFromSettings(s: KbSettings): QueryRewriter | null {
  if (!s.rewrite) return null;
  const key = JSON.stringify(s.rewrite);
  let r = opened.get(key);
  if (!r) {
    r = chatRewriter(createProvider(s.rewrite));
    opened.set(key, r);
  }
  return r;
}
