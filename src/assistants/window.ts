// The context an assistant's prompt must fit: the model's window in tokens, where that number comes from, and
// how tokens are counted — exactly with a local model's own tokenizer and chat template (so the template's
// tokens are counted, not guessed), estimated for hosted APIs whose tokenizers are not at hand.
import { ShitateError } from '../errors.js';
import { DEFAULT_MAX_NEW_TOKENS } from '../generate/index.js';
import { adapterTemplateVars } from '../generate/open.js';
import { loadGenerationConfig } from '../io/generation-config.js';
import { loadModelConfig } from '../models/index.js';
import { estimateTokens, type ChatMessage, type ProviderConfig, type ProviderKind } from '../providers/index.js';
import { foldSystem, loadTokenizer, systemSupport, type SystemSupport, type Tokenizer } from '../tokenizer/index.js';
import { hostedContext } from './hosted-limits.js';

export interface ContextWindow {
  /** tokens the prompt and the reply share */
  readonly tokens: number;
  /** where the number comes from, for messages ("max_position_embeddings of models/x", "the published limit of gpt-4o") */
  readonly source: string;
  /** true when counts come from the model's own tokenizer and chat template */
  readonly exact: boolean;
  /** the room kept for the reply when generation.max_tokens is not set */
  readonly defaultAnswer: number;
  countText(text: string): number;
  /** the whole prompt: the messages rendered with the chat template and the assistant's turn opened */
  countChat(messages: readonly ChatMessage[]): number;
  /** the same window rendering with more template variables (a request's chat_template_kwargs) on top */
  withTemplateVars(vars: Record<string, unknown>): ContextWindow;
  /** whether the chat template takes a system message ('native'); when it refuses or drops one, shape()
   *  folds the system prompt into the first user message, as Gemma-3's own template does */
  readonly systemRole: SystemSupport;
  /** the messages as they are sent: unchanged, or with the system prompt folded */
  shape(messages: readonly ChatMessage[]): ChatMessage[];
}

/** What a local model brings: its tokenizer, its max_position_embeddings and generation_config's max_new_tokens. */
export interface LocalModelParts {
  tokenizer: Tokenizer;
  config: { maxPositions: number };
  generation: { maxNewTokens: number | null };
}

/** The reply's room by default: generation_config's max_new_tokens (else shitate's 512), but never more
 *  than a quarter of the context, so a small model keeps room for instructions and knowledge. */
export function defaultAnswerTokens(context: number, fromModel: number | null): number {
  return Math.max(1, Math.min(fromModel ?? DEFAULT_MAX_NEW_TOKENS, Math.floor(context / 4)));
}

function checkOverride(override: number | undefined, limit: number, what: string): number {
  if (override === undefined) return limit;
  if (override > limit) {
    throw new ShitateError('E_PROFILE', `provider.context_tokens: expected at most ${what}'s context of ${limit} tokens, found ${override}`,
      `remove provider.context_tokens, or set it to ${limit} or less`);
  }
  return override;
}

/** A local model's window from what is already open (a server's model) or loaded for the purpose; chats are
 *  counted as they will be rendered, with the same template variables (an adapter's enable_thinking, ...). */
export function modelWindow(m: LocalModelParts, label: string, override?: number, templateVars?: Record<string, unknown>): ContextWindow {
  const chat = templateVars && Object.keys(templateVars).length ? { addGenerationPrompt: true, templateVars } : { addGenerationPrompt: true };
  const withTemplateVars = (vars: Record<string, unknown>): ContextWindow => modelWindow(m, label, override, { ...templateVars, ...vars });
  const systemRole = systemSupport(m.tokenizer, chat.templateVars);
  const tokens = checkOverride(override, m.config.maxPositions, label);
  return {
    tokens,
    source: override === undefined ? 'max_position_embeddings' : `provider.context_tokens; the model holds ${m.config.maxPositions}`,
    exact: true,
    defaultAnswer: defaultAnswerTokens(tokens, m.generation.maxNewTokens),
    countText: (text) => m.tokenizer.encode(text, { addSpecialTokens: false }).length,
    countChat: (messages) => m.tokenizer.encodeChat(messages, chat).length,
    withTemplateVars,
    systemRole,
    shape: (messages) => (systemRole === 'native' ? [...messages] : foldSystem(messages)),
  };
}

/** Reads the tokenizer and the configs of a model folder (no weights). */
export function localWindow(dir: string, override?: number, templateVars?: Record<string, unknown>): ContextWindow {
  const parts: LocalModelParts = { tokenizer: loadTokenizer(dir), config: loadModelConfig(dir), generation: loadGenerationConfig(dir) };
  return modelWindow(parts, dir, override, templateVars);
}

/** Per message, chat APIs add a few tokens of their own (role and separators); 4 covers the common ones. */
const HOSTED_PER_MESSAGE = 4;
const HOSTED_PRIMING = 3;

export function hostedWindow(kind: Exclude<ProviderKind, 'local'>, model: string, override?: number): ContextWindow {
  const known = hostedContext(kind, model);
  const tokens = override ?? known.tokens;
  const source = override !== undefined ? 'provider.context_tokens'
    : known.known ? `the published limit of ${model}` : 'assumed: a model shitate does not know; set provider.context_tokens to its real context';
  const w: ContextWindow = {
    tokens, source, exact: false,
    defaultAnswer: defaultAnswerTokens(tokens, null),
    countText: estimateTokens,
    countChat: (messages) => messages.reduce((s, m) => s + estimateTokens(m.content) + HOSTED_PER_MESSAGE, HOSTED_PRIMING),
    withTemplateVars: () => w, // hosted APIs render their own templates
    systemRole: 'native',
    shape: (messages) => [...messages],
  };
  return w;
}

/** The window of the model a profile names; a local adapter's training template variables count as the
 *  local engine renders them. */
export function windowFor(provider: ProviderConfig, override?: number): ContextWindow {
  if (provider.kind !== 'local') return hostedWindow(provider.kind, provider.model, override);
  return localWindow(provider.model, override, (provider.adapter ? adapterTemplateVars(provider.adapter) : null) ?? undefined);
}
