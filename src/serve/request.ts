// Parsing of the two generation endpoints' bodies into checked requests: POST /v1/chat/completions (messages)
// and POST /v1/completions (a prompt as text or token ids). Errors are 400s naming the field.
import type { ChatMessage } from '../tokenizer/index.js';
import { cleanControls, countControls } from '../data/sanitize.js';
import { badParam } from './errors.js';
import { checkFields, modelField, samplingFields, streamFields, type Body, type SamplingParams, type StreamParams } from './params.js';

export interface ChatRequest extends StreamParams {
  kind: 'chat';
  model: string;
  messages: ChatMessage[];
  sampling: SamplingParams;
  /** OpenAI's `user` field, when the request names its end user */
  user?: string;
  /** vLLM's chat_template_kwargs: template variables (enable_thinking, ...) over the server's defaults */
  templateVars?: Record<string, unknown>;
}

export interface CompletionRequest extends StreamParams {
  kind: 'completion';
  model: string;
  /** text to tokenize, or token ids as given */
  prompt: string | number[];
  sampling: SamplingParams;
}

export type GenerationRequest = ChatRequest | CompletionRequest;

const SAMPLING_KEYS = ['temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'seed', 'stop', 'n', 'stream', 'stream_options'];
const CHAT_KEYS = new Set(['model', 'messages', 'max_tokens', 'max_completion_tokens', 'chat_template_kwargs', ...SAMPLING_KEYS]);
const COMPLETION_KEYS = new Set(['model', 'prompt', 'max_tokens', ...SAMPLING_KEYS]);
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** OpenAI's legacy completions endpoint defaults to 16 new tokens; clients rely on it. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

export function parseChatRequest(body: Body, allowUnknown: boolean): ChatRequest {
  checkFields(body, CHAT_KEYS, allowUnknown);
  const model = modelField(body);
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) {
    throw badParam('messages', `expected a non-empty list of {role, content} messages, found ${Array.isArray(raw) ? 'an empty list' : raw === undefined ? 'nothing' : typeof raw}`,
      raw === undefined ? 'missing_required_parameter' : 'invalid_value');
  }
  const messages = raw.map((m, i) => parseMessage(m, `messages[${i}]`));
  // max_completion_tokens is the newer name; it wins when both are sent
  const sampling = samplingFields(body, ['max_tokens', 'max_completion_tokens']);
  const user = userField(body);
  const templateVars = templateVarsField(body);
  return { kind: 'chat', model, messages, sampling, ...streamFields(body), ...(user !== undefined ? { user } : {}), ...(templateVars ? { templateVars } : {}) };
}

/** chat_template_kwargs: an object of template variables, as vLLM accepts it. */
function templateVarsField(body: Body): Record<string, unknown> | undefined {
  const v = body.chat_template_kwargs;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw badParam('chat_template_kwargs', `expected an object of chat template variables, e.g. {"enable_thinking": false}, found ${Array.isArray(v) ? 'a list' : typeof v}`);
  }
  return { ...(v as Body) };
}

/** user: an opaque end-user id (at most 200 characters); blank counts as unset. */
function userField(body: Body): string | undefined {
  const u = body.user;
  if (u === undefined || u === null) return undefined;
  if (typeof u !== 'string' || u.length > 200) {
    throw badParam('user', `expected a string of at most 200 characters naming the end user, found ${typeof u === 'string' ? `${u.length} characters` : typeof u}`);
  }
  const bad = countControls(u);
  if (bad.count > 0) throw badParam('user', `expected an id without control characters or broken UTF-16, found ${bad.names}`);
  return u.trim() === '' ? undefined : u;
}

function parseMessage(m: unknown, where: string): ChatMessage {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw badParam(where, 'expected an object with role and content');
  const msg = m as Body;
  if (typeof msg.role !== 'string' || !ROLES.has(msg.role)) {
    throw badParam(`${where}.role`, `expected one of ${[...ROLES].join(', ')}, found ${JSON.stringify(msg.role ?? null)}`);
  }
  if (Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0) {
    throw badParam(`${where}.tool_calls`, 'this server does not run tools; expected no tool_calls', 'unsupported_parameter');
  }
  // "developer" is OpenAI's newer name for the system role; the model's template knows "system"
  const role = msg.role === 'developer' ? 'system' : msg.role;
  const out: ChatMessage = { role, content: parseContent(msg.content, `${where}.content`, role) };
  // an earlier answer's reasoning goes to the template, which decides whether to show it (vLLM's field names)
  const reasoning = msg.reasoning_content ?? msg.reasoning;
  if (role === 'assistant' && typeof reasoning === 'string') out.reasoning_content = cleanControls(reasoning);
  return out;
}

/** A string, or a list of text parts joined (images and audio cannot be read by a text model). Control
 *  characters and lone surrogates are cleaned here, once, so nothing behind the parser meets them. */
function parseContent(c: unknown, where: string, role: string): string {
  if (typeof c === 'string') return cleanControls(c);
  if ((c === null || c === undefined) && role === 'assistant') return '';
  if (!Array.isArray(c)) throw badParam(where, `expected a string or a list of text parts, found ${c === null ? 'null' : typeof c}`);
  return c.map((part, j) => {
    const p = part as Body | null;
    if (p === null || typeof p !== 'object' || p.type !== 'text' || typeof p.text !== 'string') {
      const type = p !== null && typeof p === 'object' ? JSON.stringify(p.type ?? null) : typeof p;
      throw badParam(`${where}[${j}]`, `expected a part {"type": "text", "text": ...} (this model reads text only), found type ${type}`);
    }
    return cleanControls(p.text);
  }).join('');
}

export function parseCompletionRequest(body: Body, allowUnknown: boolean): CompletionRequest {
  checkFields(body, COMPLETION_KEYS, allowUnknown);
  const model = modelField(body);
  const prompt = parsePrompt(body.prompt);
  const sampling = samplingFields(body, ['max_tokens']);
  if (sampling.maxTokens === undefined) sampling.maxTokens = COMPLETIONS_DEFAULT_MAX_TOKENS;
  return { kind: 'completion', model, prompt, sampling, ...streamFields(body) };
}

const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);

/** One prompt: a string, token ids, or a list holding exactly one of those (batches are not served). */
function parsePrompt(p: unknown): string | number[] {
  if (typeof p === 'string') return cleanControls(p);
  if (isIds(p)) return p;
  if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') return cleanControls(p[0]);
  if (Array.isArray(p) && p.length === 1 && isIds(p[0])) return p[0];
  if (Array.isArray(p) && p.length > 1 && p.every((x) => typeof x === 'string' || isIds(x))) {
    throw badParam('prompt', `expected one prompt per request, found a batch of ${p.length}; send them as separate requests`, 'unsupported_value');
  }
  throw badParam('prompt', `expected a string or a list of token ids (whole numbers >= 0), found ${p === undefined ? 'nothing' : Array.isArray(p) ? 'another list' : typeof p}`,
    p === undefined ? 'missing_required_parameter' : 'invalid_value');
}
