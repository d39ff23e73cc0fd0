// Tokenizer folders shaped like the published Qwen3.5 and LFM2 ones, which no npm package ships: a byte-level BPE
// trained here on a small English/Japanese corpus, their special tokens in their published order (Qwen3.5's after
// the vocabulary, with <think> and the tool tags as plain added tokens; LFM2's with <|startoftext|> put before every
// text), tokenizer_config.json as published (eos, pad, bos) and chat templates of the published structure:
// Qwen3.5 ChatML with a thinking switch, vision items, XML tool calls and tool responses in user turns; LFM2 ChatML
// after the BOS with the tool list in the system turn and tool responses in their own tags.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { everyByte, trainBpe } from './bpe.js';

/** Qwen3.5's chat template: ChatML, no BOS; the system turn first (tool signatures in it when tools are given);
 *  assistant turns after the last user query keep <think>reasoning</think>, earlier ones only their answer (unless
 *  preserve_thinking); tool calls as <tool_call><function=...><parameter=...>; tool results inside the next user turn
 *  as <tool_response>; the generation prompt opens a <think> block, or an empty one with enable_thinking=false. */
export const QWEN35_CHAT = String.raw`{%- set images = namespace(n=0) -%}
{%- set videos = namespace(n=0) -%}
{%- macro text_of(content, in_system) -%}
{%- if content is string -%}{{- content -}}
{%- elif content is not none -%}
{%- for part in content -%}
{%- if part.type == 'image' or 'image' in part or 'image_url' in part -%}
{%- if in_system -%}{{- raise_exception('Images are not allowed in the system message.') -}}{%- endif -%}
{%- set images.n = images.n + 1 -%}
{%- if add_vision_id -%}{{- 'Picture ' ~ images.n ~ ': ' -}}{%- endif -%}
{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}
{%- elif part.type == 'video' or 'video' in part -%}
{%- if in_system -%}{{- raise_exception('Videos are not allowed in the system message.') -}}{%- endif -%}
{%- set videos.n = videos.n + 1 -%}
{%- if add_vision_id -%}{{- 'Video ' ~ videos.n ~ ': ' -}}{%- endif -%}
{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}
{%- elif 'text' in part -%}{{- part.text -}}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- if not messages -%}{{- raise_exception('At least one message is needed.') -}}{%- endif -%}
{%- set has_system = messages[0].role == 'system' -%}
{%- if tools -%}
{{- '<|im_start|>system\n# Tools\n\nThese functions are available:\n\n<tools>' -}}
{%- for tool in tools -%}{{- '\n' ~ (tool | tojson) -}}{%- endfor -%}
{{- '\n</tools>\n\nTo call one, reply with exactly:\n\n<tool_call>\n<function=NAME>\n<parameter=ARGUMENT>\nVALUE\n</parameter>\n</function>\n</tool_call>' -}}
{%- if has_system -%}{{- '\n\n' ~ (text_of(messages[0].content, true) | trim) -}}{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- elif has_system -%}
{{- '<|im_start|>system\n' ~ (text_of(messages[0].content, true) | trim) ~ '<|im_end|>\n' -}}
{%- endif -%}
{%- set q = namespace(last=-1) -%}
{%- for message in messages -%}
{%- if message.role == 'user' and not (message.content is string and message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) -%}
{%- set q.last = loop.index0 -%}
{%- endif -%}
{%- endfor -%}
{%- if q.last < 0 -%}{{- raise_exception('No user query found in the messages.') -}}{%- endif -%}
{%- for message in messages -%}
{%- if message.role == 'system' -%}
{%- if not loop.first -%}{{- raise_exception('The system message must come first.') -}}{%- endif -%}
{%- elif message.role == 'user' -%}
{{- '<|im_start|>user\n' ~ text_of(message.content, false) ~ '<|im_end|>\n' -}}
{%- elif message.role == 'assistant' -%}
{%- set answer = text_of(message.content, false) -%}
{%- set thought = '' -%}
{%- if message.reasoning_content is string -%}
{%- set thought = message.reasoning_content -%}
{%- elif '</think>' in answer -%}
{%- set thought = answer.split('</think>')[0].split('<think>')[-1] -%}
{%- set answer = answer.split('</think>')[-1] -%}
{%- endif -%}
{%- set thought = thought.strip('\n') -%}
{%- set answer = answer.lstrip('\n') -%}
{%- if loop.index0 > q.last or preserve_thinking -%}
{{- '<|im_start|>assistant\n<think>\n' ~ thought ~ '\n</think>\n\n' ~ answer -}}
{%- else -%}
{{- '<|im_start|>assistant\n' ~ answer -}}
{%- endif -%}
{%- if message.tool_calls -%}
{%- for call in message.tool_calls -%}
{%- set fn = call.function if call.function is defined else call -%}
{%- if not loop.first or answer -%}{{- '\n' -}}{%- endif -%}
{{- '<tool_call>\n<function=' ~ fn.name ~ '>\n' -}}
{%- if fn.arguments is mapping -%}
{%- for name, value in fn.arguments | items -%}
{{- '<parameter=' ~ name ~ '>\n' ~ (value if value is string else value | tojson) ~ '\n</parameter>\n' -}}
{%- endfor -%}
{%- endif -%}
{{- '</function>\n</tool_call>' -}}
{%- endfor -%}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- elif message.role == 'tool' -%}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
{{- '\n<tool_response>\n' ~ text_of(message.content, false) ~ '\n</tool_response>' -}}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
{%- else -%}{{- raise_exception('Unknown role: ' ~ message.role) -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}{%- else -%}{{- '<think>\n' -}}{%- endif -%}
{%- endif -%}`;

/** LFM2's chat template: the BOS, then a system turn (with "List of tools: <|tool_list_start|>[...]<|tool_list_end|>"
 *  appended when tools are given), every message as <|im_start|>role\n...<|im_end|>\n (tool results inside
 *  <|tool_response_start|>...<|tool_response_end|>), and <|im_start|>assistant\n to generate. */
export const LFM2_CHAT = String.raw`{{- bos_token -}}
{%- set sys = namespace(text='') -%}
{%- set rest = messages -%}
{%- if messages and messages[0].role == 'system' -%}
{%- set sys.text = messages[0].content -%}
{%- set rest = messages[1:] -%}
{%- endif -%}
{%- if tools -%}
{%- set sys.text = sys.text ~ ('\n' if sys.text else '') ~ 'List of tools: <|tool_list_start|>[' -%}
{%- for tool in tools -%}
{%- set sys.text = sys.text ~ (tool if tool is string else tool | tojson) ~ ('' if loop.last else ', ') -%}
{%- endfor -%}
{%- set sys.text = sys.text ~ ']<|tool_list_end|>' -%}
{%- endif -%}
{%- if sys.text -%}{{- '<|im_start|>system\n' ~ sys.text ~ '<|im_end|>\n' -}}{%- endif -%}
{%- for message in rest -%}
{%- set body = message.content if message.content is string else message.content | tojson -%}
{%- if message.role == 'tool' -%}{%- set body = '<|tool_response_start|>' ~ body ~ '<|tool_response_end|>' -%}{%- endif -%}
{{- '<|im_start|>' ~ message.role ~ '\n' ~ body ~ '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}`;

const CORPUS = [
  'Our return policy allows refunds within 30 days. Please keep the receipt.',
  'The office is open from 9 am to 6 pm on weekdays. Contact support by e-mail.',
  '弊社の返品ポリシーについて教えてください。返品は30日以内に受け付けております。',
  '営業時間は平日9時から18時です。お問い合わせはメールでお願いします。',
  'What are your hours? We are open 9 to 6 on weekdays. 返品できますか? 30日以内なら返品できます。',
];

/** Qwen3.5's special tokens in their published order (<|endoftext|> first, then ChatML, vision, tools, think). */
const QWEN35_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>',
  '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
  '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>',
  '<tool_response>', '</tool_response>', '<think>', '</think>'];
/** added tokens Qwen3.5 keeps in decoded text (not special) */
const QWEN35_PLAIN = new Set(['<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>', '<think>', '</think>']);

/** LFM2's special tokens in their published order (<|pad|> ... <|im_end|>, then the tool tags). */
const LFM2_SPECIALS = ['<|pad|>', '<|startoftext|>', '<|endoftext|>', '<|fim_pre|>', '<|fim_mid|>', '<|fim_suf|>', '<|im_start|>', '<|im_end|>',
  '<|tool_list_start|>', '<|tool_list_end|>', '<|tool_call_start|>', '<|tool_call_end|>', '<|tool_response_start|>', '<|tool_response_end|>'];

export interface HybridTokenizer {
  dir: string;
  vocabSize: number;
  /** token ids by content */
  ids: Record<string, number>;
}

function build(specials: string[], config: (ids: Record<string, number>) => Record<string, unknown>, bos?: string, plain?: Set<string>): HybridTokenizer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-hybrid-tok-'));
  const t = trainBpe(dir, `${CORPUS.join('\n').repeat(10)}\n${everyByte()}\n`, { specials, ...(bos ? { bos } : {}) });
  const ids = Object.fromEntries(specials.map((s) => [s, t.tokenToId(s) ?? -1]));
  if (plain) {
    const file = path.join(dir, 'tokenizer.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { added_tokens: { content: string; special: boolean }[] };
    for (const a of json.added_tokens) if (plain.has(a.content)) a.special = false;
    fs.writeFileSync(file, JSON.stringify(json));
  }
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config(ids)));
  return { dir, vocabSize: t.getVocabSize(true), ids };
}

let qwen35: HybridTokenizer | null = null;
let lfm2: HybridTokenizer | null = null;

/** A Qwen3.5-shaped tokenizer folder (built once per process). */
export function qwen35Tokenizer(): HybridTokenizer {
  qwen35 ??= build(QWEN35_SPECIALS, () => ({
    add_bos_token: false, add_prefix_space: false, bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>',
    errors: 'replace', model_max_length: 262144, split_special_tokens: false, tokenizer_class: 'Qwen2Tokenizer', unk_token: null,
    chat_template: QWEN35_CHAT,
  }), undefined, QWEN35_PLAIN);
  return qwen35;
}

/** An LFM2-shaped tokenizer folder (built once per process). */
export function lfm2Tokenizer(): HybridTokenizer {
  lfm2 ??= build(LFM2_SPECIALS, () => ({
    add_bos_token: true, add_eos_token: false, bos_token: '<|startoftext|>', eos_token: '<|im_end|>', pad_token: '<|pad|>',
    legacy: false, model_max_length: 1e30, spaces_between_special_tokens: false,
    tokenizer_class: 'PreTrainedTokenizerFast', use_default_system_prompt: false, chat_template: LFM2_CHAT,
  }), '<|startoftext|>');
  return lfm2;
}
