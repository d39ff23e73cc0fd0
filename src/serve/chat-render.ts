// A served chat's prompt and reply, template-wise: the template variables (the adapter's training ones, under
// the server's --chat-template-kwargs, under the request's chat_template_kwargs, as vLLM layers them), the
// prompt ids checked against the embedding, and replies split into reasoning_content and content the way
// vLLM's reasoning parser does for models whose template writes <think> blocks.
import { ShitateError } from '../errors.js';
import { chatPrompt, reasoningMode, ReasoningStream, splitReasoning, type ReasoningMode } from '../generate/index.js';
import { checkIdsFit, type ChatMessage, type TemplateVars } from '../tokenizer/index.js';
import type { Engine } from './engine.js';
import { badParam } from './errors.js';
import * as oa from './openai.js';
import type { ServedModel } from './registry.js';
import type { ChatRequest } from './request.js';

export function chatTemplateVars(engine: Engine, served: ServedModel, req: ChatRequest): TemplateVars {
  return { ...served.adapter?.templateVars, ...engine.opened.templateVars, ...req.templateVars };
}

/** The prompt ids of a chat; a conversation the template refuses, or one holding a token the model has no
 *  embedding for, is a 400 naming the messages. */
export function chatPromptIds(engine: Engine, messages: ChatMessage[], vars: TemplateVars): number[] {
  const { tokenizer, config } = engine.opened;
  try {
    const ids = chatPrompt(tokenizer, messages, vars);
    checkIdsFit(tokenizer, ids, config.vocabSize, 'messages');
    return ids;
  } catch (e) {
    if (e instanceof ShitateError) throw badParam('messages', e.message, 'invalid_messages');
    throw e;
  }
}

/** How replies to this prompt are split, or null when they are not (no reasoning blocks, or turned off). */
export function replyMode(engine: Engine, ids: readonly number[], vars: TemplateVars, enabled: boolean): ReasoningMode | null {
  return enabled ? reasoningMode(engine.opened.tokenizer, ids, vars) : null;
}

/** The chat.completion object of a finished reply. */
export function chatBody(meta: oa.ResponseMeta, text: string, finish: oa.ApiFinishReason, u: oa.Usage, mode: ReasoningMode | null): object {
  if (!mode) return oa.chatCompletion(meta, text, finish, u);
  const split = splitReasoning(text, mode);
  return oa.chatCompletion(meta, split.content, finish, u, split.reasoning);
}

/** Turns text deltas into the deltas of chat.completion.chunk objects (none while a tag may be starting). */
export function chatDeltas(mode: ReasoningMode | null): (text: string, last: boolean) => oa.ChatDelta[] {
  if (!mode) return (text) => (text ? [{ content: text }] : []);
  const stream = new ReasoningStream(mode);
  return (text, last) => {
    const a = stream.push(text);
    const b = last ? stream.flush() : { reasoning: '', content: '' };
    const reasoning = a.reasoning + b.reasoning;
    const content = a.content + b.content;
    if (!reasoning && !content) return [];
    return [{ ...(reasoning ? { reasoning_content: reasoning } : {}), ...(content ? { content } : {}) }];
  };
}
