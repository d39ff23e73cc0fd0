// Optional LLM-as-judge: asks any OpenAI-compatible chat completions endpoint (POST {url}/chat/completions)
// to grade an answer against the reference with a written rubric, and reads back a 1-5 score. Off by
// default; nothing else in evaluation needs a network.
import { ShitateError } from '../errors.js';

export interface JudgeSettings {
  /** base URL of the API, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1 */
  url: string;
  model: string;
  apiKey: string | null;
  rubric: string;
  /** per request (default 120 s) */
  timeoutMs?: number;
}

export interface JudgeVerdict {
  /** 1 (wrong) to 5 (as good as the reference); null when the reply held no score */
  score: number | null;
  reason: string;
}

export const DEFAULT_RUBRIC = `You grade an answer to a customer's question against the reference answer written by the company.
Judge meaning, not wording: paraphrases, politeness and formatting do not matter, and answers in Japanese
and English are graded alike. Facts that contradict the reference count heavily against the answer.
Scores:
5 = states the same facts as the reference; nothing wrong, nothing important missing
4 = correct; a minor detail missing or a harmless extra
3 = partly correct, or misses an important point of the reference
2 = mostly wrong, vague or unhelpful
1 = wrong, contradicts the reference, or off-topic
Reply with JSON only: {"score": <1-5>, "reason": "<one short sentence>"}`;

export function judgeMessages(rubric: string, question: string, reference: string, answer: string): { role: string; content: string }[] {
  return [
    { role: 'system', content: rubric },
    { role: 'user', content: `Question:\n${question}\n\nReference answer:\n${reference}\n\nAnswer to grade:\n${answer}` },
  ];
}

/** Reads the score from a judge reply: a JSON object {"score", "reason"} (possibly inside prose or a code
 *  fence), else a "score: N" phrase. */
export function parseVerdict(text: string): JudgeVerdict {
  const json = /\{[\s\S]*\}/.exec(text);
  if (json) {
    try {
      const o = JSON.parse(json[0]) as { score?: unknown; reason?: unknown };
      const s = typeof o.score === 'number' ? o.score : typeof o.score === 'string' ? Number(o.score) : NaN;
      if (Number.isFinite(s) && s >= 1 && s <= 5) return { score: s, reason: typeof o.reason === 'string' ? o.reason : '' };
    } catch {
      // not JSON after all: fall through to the phrase
    }
  }
  const m = /score\W{0,4}([1-5](?:\.\d+)?)/i.exec(text);
  if (m) return { score: Number(m[1]), reason: text.trim().slice(0, 300) };
  return { score: null, reason: `no score in the judge's reply: ${JSON.stringify(text.slice(0, 200))}` };
}

function judgeError(s: JudgeSettings, found: string): ShitateError {
  return new ShitateError('E_JUDGE', `judge ${s.url} (model ${s.model}): expected a chat completion, found ${found}`,
    'check judge_url (the base URL ending in /v1), judge_model and the key in SHITATE_JUDGE_API_KEY, or run without --judge');
}

/** Grades one answer. HTTP and network failures throw E_JUDGE; an aborted signal rethrows its AbortError. */
export async function judgeAnswer(s: JudgeSettings, question: string, reference: string, answer: string,
  signal?: AbortSignal): Promise<JudgeVerdict> {
  const endpoint = `${s.url.replace(/\/+$/, '')}/chat/completions`;
  const timeout = AbortSignal.timeout(s.timeoutMs ?? 120_000);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (s.apiKey) headers.authorization = `Bearer ${s.apiKey}`;
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: s.model, messages: judgeMessages(s.rubric, question, reference, answer), temperature: 0 }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw judgeError(s, `no response (${(e as Error).message})`);
  }
  const body = await res.text();
  if (!res.ok) throw judgeError(s, `HTTP ${res.status}: ${body.slice(0, 200)}`);
  let content: unknown;
  try {
    const parsed = JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] };
    content = parsed.choices?.[0]?.message?.content;
  } catch {
    content = undefined;
  }
  if (typeof content !== 'string') throw judgeError(s, `a body without choices[0].message.content: ${body.slice(0, 200)}`);
  return parseVerdict(content);
}
