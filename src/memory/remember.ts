// Which facts to keep: those the user asks to be remembered ("remember that…", "…覚えておいて"), and,
// when enabled, facts the model extracts from the conversation.
import { complete, type ChatMessage, type Provider } from '../providers/index.js';

const EN = /^\s*(?:please\s+)?(?:remember|don'?t forget|do not forget|keep in mind)\b\s*(?:that\b)?\s*[:,-]?\s*(.+)$/is;
const JA = /(?:ということ|ってこと|こと)?[をは]?\s*(?:覚えて(?:おいて|といて|て)?|記憶して(?:おいて)?|忘れないで)(?:ください|くれ|ね|ほしい|下さい)?[。．.!！、,\s]*/;
const TRIM = /^[\s:：、,。．・-]+|[\s:：、,-]+$/g;

/** The fact in a message that asks to be remembered, or null. */
export function explicitFact(message: string): string | null {
  const en = EN.exec(message);
  if (en) {
    const fact = en[1].trim().replace(/[.!]+$/, '');
    return fact.length >= 2 ? fact : null;
  }
  const ja = JA.exec(message);
  if (!ja) return null;
  const fact = (message.slice(0, ja.index) + ' ' + message.slice(ja.index + ja[0].length)).replace(TRIM, '').trim();
  return fact.length >= 2 ? fact : null;
}

export const EXTRACT_PROMPT = `You maintain a short memory about a user across conversations.
From the user's message below, list facts about the user that will still matter in later conversations
(name, role, preferences, recurring needs). Skip anything temporary or about other people.
Answer with one fact per line, each starting with "- ", in the language of the message. Answer NONE if there is nothing.`;

/** Facts from a model answer in the EXTRACT_PROMPT format. */
export function parseFacts(answer: string, max = 3): string[] {
  if (/^\s*none\s*$/i.test(answer)) return [];
  return answer.split(/\r?\n/).map((l) => /^\s*[-*・]\s*(.+)$/.exec(l)?.[1].trim() ?? '').filter((f) => f.length >= 2 && f.length <= 200).slice(0, max);
}

/** Tokens the extraction's answer may take. */
export const EXTRACT_REPLY_TOKENS = 200;

/** The extraction call's messages: the instructions with the facts already known, then the user's message. */
export function extractionMessages(message: string, known: readonly string[]): ChatMessage[] {
  const system = known.length ? `${EXTRACT_PROMPT}\nAlready known (do not repeat):\n${known.map((k) => `- ${k}`).join('\n')}` : EXTRACT_PROMPT;
  return [{ role: 'system', content: system }, { role: 'user', content: message }];
}

/** Asks the model which facts in the message are worth remembering. */
export async function extractFacts(p: Provider, message: string, known: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const r = await complete(p, { messages: extractionMessages(message, known), params: { temperature: 0, maxTokens: EXTRACT_REPLY_TOKENS }, ...(signal ? { signal } : {}) });
  return parseFacts(r.text);
}
