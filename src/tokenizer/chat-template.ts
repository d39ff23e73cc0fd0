// Chat templates: find the model's template (chat_template.jinja, tokenizer_config.json, chat_template.json),
// and render it with @huggingface/jinja the way transformers' apply_chat_template does (trim_blocks,
// lstrip_blocks, the special-tokens map, tools=None, raise_exception and strftime_now).
import fs from 'node:fs';
import path from 'node:path';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { ShitateError } from '../errors.js';
import type { ChatMessage } from './types.js';

/**
 * The documented plain format for models without a template:
 *   [bos]### System:\n{content}\n\n### User:\n{content}\n\n### Assistant:\n{content}{eos}\n\n ...
 * and, with add_generation_prompt, a final "### Assistant:\n". The eos after each assistant turn is what
 * teaches a tuned model to stop. bos is written only when the tokenizer itself adds one to plain text.
 */
export const FALLBACK_CHAT_TEMPLATE = [
  "{%- if add_bos_token and bos_token %}{{ bos_token }}{% endif %}",
  '{%- for message in messages %}',
  "{%- if message.role == 'system' %}{{ '### System:\\n' + message.content + '\\n\\n' }}",
  "{%- elif message.role == 'user' %}{{ '### User:\\n' + message.content + '\\n\\n' }}",
  "{%- elif message.role == 'assistant' %}{{ '### Assistant:\\n' + message.content + eos_token + '\\n\\n' }}",
  "{%- else %}{{ raise_exception('the plain chat format knows the roles system, user and assistant; found ' + message.role) }}",
  '{%- endif %}',
  '{%- endfor %}',
  "{%- if add_generation_prompt %}{{ '### Assistant:\\n' }}{% endif %}",
].join('\n');

export interface FoundTemplate {
  template: string;
  file: string; // where it came from, for error messages
}

/**
 * The model's chat template, or null. Order as transformers: a chat_template.jinja file overrides
 * tokenizer_config.json's "chat_template", which a legacy chat_template.json fills when absent.
 * A list of {name, template} (or an object name -> template) yields `name` (default "default").
 */
export function findChatTemplate(dir: string, tokenizerConfig: Record<string, unknown>, name = 'default'): FoundTemplate | null {
  const jinjaFile = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinjaFile)) return { template: fs.readFileSync(jinjaFile, 'utf8'), file: jinjaFile };
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const fromCfg = pickTemplate(cfgFile, tokenizerConfig.chat_template, name);
  if (fromCfg !== null) return { template: fromCfg, file: cfgFile };
  const jsonFile = path.join(dir, 'chat_template.json');
  if (fs.existsSync(jsonFile)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    } catch (err) {
      throw new ShitateError('E_JSON', `${jsonFile}: expected valid JSON, found a parse error (${(err as Error).message})`, 're-download the file');
    }
    const t = typeof parsed === 'object' && parsed !== null ? pickTemplate(jsonFile, (parsed as Record<string, unknown>).chat_template, name) : null;
    if (t !== null) return { template: t, file: jsonFile };
  }
  return null;
}

function pickTemplate(file: string, value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  const named = new Map<string, unknown>();
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === 'object' && item !== null) {
        const { name: n, template: t } = item as Record<string, unknown>;
        if (typeof n === 'string') named.set(n, t);
      }
    }
  } else if (typeof value === 'object') {
    for (const [n, t] of Object.entries(value)) named.set(n, t);
  }
  const chosen = named.get(name);
  if (typeof chosen === 'string') return chosen;
  throw new ShitateError('E_CHAT_TEMPLATE',
    `${file}: expected a chat template named "${name}", found ${named.size > 0 ? `only ${[...named.keys()].map((n) => `"${n}"`).join(', ')}` : JSON.stringify(value).slice(0, 80)}`,
    'choose one of the listed template names');
}

const compiled = new Map<string, Template>();

function compile(template: string, file: string): Template {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (err) {
      throw new ShitateError('E_CHAT_TEMPLATE', `${file}: expected a Jinja chat template, found one that does not parse (${(err as Error).message})`,
        'the template uses syntax @huggingface/jinja does not support, or it is damaged; supply a corrected chat_template.jinja');
    }
    compiled.set(template, t);
  }
  return t;
}

/** Renders `template` with transformers' variables; `vars` holds the special-token map and user kwargs. */
export function renderTemplate(template: string, file: string, messages: readonly ChatMessage[],
  addGenerationPrompt: boolean, vars: Record<string, unknown>): string {
  const t = compile(template, file);
  try {
    const env = makeEnvironment({
      ...vars,
      messages: messages.map((m) => ({ ...m })),
      // transformers passes tools=None and documents=None when there are none (so `tools is none` holds).
      tools: null,
      documents: null,
      add_generation_prompt: addGenerationPrompt,
    });
    return String(new Interpreter(env).run(t.parsed).value);
  } catch (err) {
    if (err instanceof ShitateError) throw err;
    throw new ShitateError('E_CHAT_TEMPLATE', `${file}: expected the chat template to render, found an error (${(err as Error).message})`,
      'check the messages: each needs a role and a string content, in the order the model expects');
  }
}

// Template.render() declares its own raise_exception (whose message is lost) and a locale-dependent
// strftime_now, and refuses redeclarations; so the globals are set here, once each, with ours.
function makeEnvironment(vars: Record<string, unknown>): Environment {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    range: pyRange, raise_exception: raiseException, strftime_now: strftimeNow,
    ...vars,
  };
  for (const [k, v] of Object.entries(globals)) env.set(k, v);
  return env;
}

/** Python's range(stop) / range(start, stop[, step]). */
function pyRange(a: number, b?: number, step = 1): number[] {
  const [start, stop] = b === undefined ? [0, a] : [a, b];
  if (step === 0) throw new Error('range() arg 3 must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

function raiseException(message: unknown): never {
  throw new ShitateError('E_CHAT_TEMPLATE', `expected a conversation the chat template accepts, found one it refuses: ${String(message)}`,
    'many templates require a leading optional system message, then alternating user and assistant turns');
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Python's datetime.now().strftime in the C locale (English names), as templates like Llama 3.1's expect
 *  ("Today Date: 26 Jul 2024"); local time, as Python's now(). */
export function strftimeNow(format: string, now: Date = new Date()): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const h12 = now.getHours() % 12 === 0 ? 12 : now.getHours() % 12;
  const dayOfYear = Math.floor((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(now.getFullYear(), 0, 1)) / 86_400_000) + 1;
  const codes: Record<string, string> = {
    Y: String(now.getFullYear()), y: p2(now.getFullYear() % 100), m: p2(now.getMonth() + 1), d: p2(now.getDate()),
    H: p2(now.getHours()), I: p2(h12), M: p2(now.getMinutes()), S: p2(now.getSeconds()), p: now.getHours() < 12 ? 'AM' : 'PM',
    B: MONTHS[now.getMonth()], b: MONTHS[now.getMonth()].slice(0, 3), A: DAYS[now.getDay()], a: DAYS[now.getDay()].slice(0, 3),
    j: String(dayOfYear).padStart(3, '0'), '%': '%',
  };
  return format.replace(/%(.)/g, (whole, c: string) => codes[c] ?? whole);
}
