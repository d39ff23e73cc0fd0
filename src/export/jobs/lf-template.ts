// LLaMA-Factory formats chats with its own named templates (src/llamafactory/data/template.py), not the
// model's Jinja template. This picks the named template whose rendering equals the model's template on probe
// conversations, so the GPU run sees the same text shitate trained on; the slots below are LLaMA-Factory's.
import type { ChatMessage, Tokenizer } from '../../tokenizer/index.js';

interface LfTemplate {
  name: string;
  /** {bos} / {eos}: the tokenizer's bos and eos text */
  prefix: string;
  system: string;
  user: string;
  assistant: string;
  defaultSystem: string;
  /** Llama2Template: the system text goes inside the first user turn */
  systemInUser: boolean;
}

const CHATML = {
  prefix: '', system: '<|im_start|>system\n{{content}}<|im_end|>\n',
  user: '<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n', assistant: '{{content}}<|im_end|>\n', systemInUser: false,
};
const GEMMA = {
  prefix: '{bos}', system: '{{content}}\n\n', user: '<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n',
  assistant: '{{content}}<end_of_turn>\n', defaultSystem: '', systemInUser: true,
};

/** Candidates in order: the ones that add a default system prompt first, so a template with one matches it. */
const CANDIDATES: LfTemplate[] = [
  { name: 'smollm2', ...CHATML, defaultSystem: 'You are a helpful AI assistant named SmolLM, trained by Hugging Face.' },
  { name: 'qwen', ...CHATML, defaultSystem: 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' },
  { name: 'chatml', ...CHATML, defaultSystem: '' },
  {
    name: 'llama3', prefix: '{bos}', system: '<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>',
    user: '<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    assistant: '{{content}}<|eot_id|>', defaultSystem: '', systemInUser: false,
  },
  { name: 'gemma3', ...GEMMA },
  { name: 'gemma', ...GEMMA },
  { name: 'mistral', prefix: '{bos}', system: '{{content}}\n\n', user: '[INST] {{content}}[/INST]', assistant: ' {{content}}{eos}', defaultSystem: '', systemInUser: true },
  { name: 'llama2', prefix: '', system: '<<SYS>>\n{{content}}\n<</SYS>>\n\n', user: '{bos}[INST] {{content}} [/INST]', assistant: '{{content}}{eos}', defaultSystem: '', systemInUser: true },
];

/** What LLaMA-Factory's Template._encode writes for a conversation (text, before tokenization). */
export function renderLf(t: LfTemplate, messages: readonly ChatMessage[], bos: string, eos: string): string {
  const fill = (slot: string, content: string) => slot.replaceAll('{bos}', bos).replaceAll('{eos}', eos).replace('{{content}}', () => content);
  const hasSystem = messages[0]?.role === 'system';
  const system = (hasSystem ? messages[0].content : '') || t.defaultSystem;
  let out = '';
  (hasSystem ? messages.slice(1) : messages).forEach((m, i) => {
    let lead = '';
    if (i === 0) {
      out += fill(t.prefix, '');
      const sys = system ? fill(t.system, system) : '';
      if (t.systemInUser) lead = sys;
      else out += sys;
    }
    out += fill(m.role === 'assistant' ? t.assistant : t.user, lead + m.content);
  });
  return out;
}

const PROBES: ChatMessage[][] = [
  [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi there.' }],
  [{ role: 'system', content: 'You answer for ACME.' }, { role: 'user', content: '営業時間は?' }, { role: 'assistant', content: '9時から18時です。' },
    { role: 'user', content: 'Thanks' }, { role: 'assistant', content: 'You are welcome.' }],
];

export interface LfTemplateChoice {
  /** null: leave `template` out, so LLaMA-Factory builds one from the tokenizer's own chat template */
  name: string | null;
  /** the named template renders the probe conversations exactly as the model's template does */
  exact: boolean;
  note: string | null;
  /** LLaMA-Factory's enable_thinking data argument, for its reasoning templates */
  enableThinking?: boolean;
}

export function pickLlamaFactoryTemplate(tok: Tokenizer, modelType: string, templateVars: Record<string, unknown> = {}): LfTemplateChoice {
  const bos = tok.bosToken ?? '';
  const eos = tok.eosToken ?? '';
  let expected: string[];
  try {
    expected = PROBES.map((p) => tok.renderChat(p, { addGenerationPrompt: false, templateVars }));
  } catch {
    return { name: null, exact: false, note: 'the model\'s chat template refuses the probe conversations; LLaMA-Factory will parse the tokenizer\'s template itself' };
  }
  if (modelType.startsWith('qwen3') && (tok.chatTemplate ?? '').includes('enable_thinking')) {
    const off = templateVars.enable_thinking === false;
    return {
      name: 'qwen3', exact: false, enableThinking: !off,
      note: off
        ? 'Qwen3 with thinking off: LLaMA-Factory puts an empty <think></think> block in the prompt of every turn (the model\'s template only in the last) and removes reasoning from answers (shitate trains answers with their reasoning)'
        : 'Qwen3 with thinking on: LLaMA-Factory\'s qwen3 template trains an empty <think></think> block in every assistant turn that has none (the model\'s template writes it only in turns after the last user message)',
    };
  }
  const hit = CANDIDATES.find((t) => PROBES.every((p, i) => renderLf(t, p, bos, eos) === expected[i]));
  if (hit) return { name: preferred(hit.name, modelType), exact: true, note: null };
  const family = familyOf(tok.chatTemplate ?? '', modelType);
  if (!family) {
    return {
      name: null, exact: false,
      note: 'no LLaMA-Factory template renders as this model\'s chat template; `template` is left out so LLaMA-Factory derives one from the tokenizer (check the first example it prints)',
    };
  }
  const t = CANDIDATES.find((c) => c.name === family)!;
  const i = PROBES.findIndex((p, k) => renderLf(t, p, bos, eos) !== expected[k]);
  const got = renderLf(t, PROBES[i], bos, eos);
  const at = commonPrefix(got, expected[i]);
  const show = (x: string) => JSON.stringify(x.slice(Math.max(0, at - 20), at + 40));
  return { name: family, exact: false, note: `LLaMA-Factory's "${family}" template writes ${show(got)} where the model's template writes ${show(expected[i])}` };
}

/** qwen3_nothink and chatml write the same text, so do gemma and gemma3: the name of the model's family wins */
function preferred(name: string, modelType: string): string {
  if (name === 'chatml' && modelType.startsWith('qwen3')) return 'qwen3_nothink';
  if (name === 'gemma3' && !modelType.startsWith('gemma3')) return 'gemma';
  return name;
}

/** The named template of the model's family when none renders exactly (e.g. Llama 3.1+'s date header). */
function familyOf(template: string, modelType: string): string | null {
  if (template.includes('<|start_header_id|>')) return 'llama3';
  if (template.includes('<start_of_turn>')) return preferred('gemma3', modelType);
  if (template.includes('<|im_start|>')) return modelType.startsWith('qwen3') ? 'qwen3_nothink' : modelType.startsWith('qwen2') ? 'qwen' : 'chatml';
  if (template.includes('[INST]')) return modelType.startsWith('mistral') ? 'mistral' : 'llama2';
  return null;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
