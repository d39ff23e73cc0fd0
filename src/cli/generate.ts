// `shitate generate`: one completion streamed to stdout, from a prompt as plain text or as a chat turn with
// the model's template. Also the model, template and sampling flags shared with `shitate chat`.
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags, type FlagSpec, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { chatPrompt, generate, openModel, reasoningMode, type GenDone, type GenerateOptions, type OpenedModel } from '../generate/index.js';
import { foldSystem, parseTemplateVars, systemSupport, type ChatMessage } from '../tokenizer/index.js';
import { ReplyPrinter } from './reply-printer.js';
import { preferSleepingBlasThreads } from '../kernels/index.js';
import type { WeightFormat } from '../tensor/index.js';
import type { KvCacheFormat } from '../models/index.js';

export const MODEL_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  adapter: { type: 'string' },
  system: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'chat-template-kwargs': { type: 'string' },
  'show-thinking': { type: 'boolean' },
  weights: { type: 'string' },
  'kv-cache': { type: 'string' },
};

export const SAMPLING_HELP = `  --model, -m DIR           Hugging Face model folder (config.json, *.safetensors, tokenizer.json)
  --adapter DIR             LoRA adapter folder (PEFT format) to apply
  --chat-template-kwargs J  chat template variables as JSON, e.g. '{"enable_thinking": false}' (default: the ones
                            the adapter was trained with)
  --show-thinking           print the model's reasoning (<think> blocks), dimmed; hidden by default
  --max-tokens N            most tokens in a reply (default: generation_config.json, else 512, within the context)
  --temperature T           0 = greedy; > 0 samples (default: the model's generation_config.json, else greedy)
  --top-p P                 nucleus sampling, 0 < P <= 1
  --top-k K                 sample among the K most likely tokens (0 = off; default 50 when sampling)
  --min-p P                 drop tokens below P x the top probability
  --repetition-penalty R    > 1 discourages repeating tokens already seen
  --seed S                  make sampling reproducible
  --stop STR                stop when STR appears (repeatable); STR itself is not printed
  --weights f32|bf16|int8   multiply with float32 weights (default), bf16 ones (half the memory read per
                            token, faster decode; logits within bf16 rounding) or int8 ones with a scale per
                            output channel (a quarter; logits move by a few percent) (shitate doctor shows the path)
  --kv-cache f32|bf16|auto  how the cache holds keys and values: bf16 halves its memory and what attention reads
                            per token (default auto: bf16 with --weights bf16 or int8 for the Llama-shaped
                            families, else f32)`;

function num(p: Parsed, name: string, integer: boolean): number | undefined {
  const s = flagStr(p, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new ShitateError('E_USAGE', `--${name}: expected ${integer ? 'a whole number' : 'a number'}, found "${s}"`,
      `e.g. --${name} ${integer ? '256' : '0.7'}`);
  }
  return v;
}

/** The generation options the flags ask for (unset flags stay unset, so the model's defaults apply). */
export function generateOptionsFromFlags(p: Parsed): GenerateOptions {
  const o: GenerateOptions = {};
  const set = <K extends keyof GenerateOptions>(k: K, v: GenerateOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('maxNewTokens', num(p, 'max-tokens', true));
  set('temperature', num(p, 'temperature', false));
  set('topP', num(p, 'top-p', false));
  set('topK', num(p, 'top-k', true));
  set('minP', num(p, 'min-p', false));
  set('repetitionPenalty', num(p, 'repetition-penalty', false));
  set('seed', num(p, 'seed', true));
  const stop = flagList(p, 'stop');
  if (stop.length > 0) o.stop = stop;
  return o;
}

/** --model and --adapter, loaded. */
export function openFromFlags(command: string, p: Parsed): OpenedModel {
  const dir = flagStr(p, 'model');
  if (!dir) {
    throw new ShitateError('E_USAGE', `${command}: expected --model DIR, found no model folder`,
      `pass the Hugging Face model folder, e.g. shitate ${command} --model ./models/SmolLM2-135M-Instruct`);
  }
  const templateVars = parseTemplateVars(flagStr(p, 'chat-template-kwargs'), '--chat-template-kwargs');
  const weights = weightsFlag(flagStr(p, 'weights'), '--weights');
  const kvCache = kvCacheFlag(flagStr(p, 'kv-cache'), '--kv-cache');
  return openModel(dir, { adapter: flagStr(p, 'adapter') ?? null, templateVars, weights, kvCache });
}

/** f32, bf16 or auto (unset: auto, the format that goes with the weights). */
export function kvCacheFlag(v: string | undefined, what: string): KvCacheFormat | 'auto' {
  if (v === undefined) return 'auto';
  if (v !== 'auto' && v !== 'f32' && v !== 'bf16') throw new ShitateError('E_USAGE', `${what}: expected f32, bf16 or auto, found "${v}"`, `e.g. ${what} bf16`);
  return v;
}

/** f32, bf16 or int8 (default f32). For bf16 and int8, OpenBLAS's idle threads sleep at once (set before the
 *  kernels load): the decode GEMMs then run on the addon's own threads, which a spinning BLAS thread would slow. */
export function weightsFlag(v: string | undefined, what: string): WeightFormat {
  if (v === undefined || v === 'f32') return 'f32';
  if (v !== 'bf16' && v !== 'int8') throw new ShitateError('E_USAGE', `${what}: expected f32, bf16 or int8, found "${v}"`, `e.g. ${what} bf16`);
  preferSleepingBlasThreads();
  return v;
}

/** The note printed when the model ships no chat template. */
export const FALLBACK_NOTE = 'note: this model ships no chat template; using shitate\'s documented fallback format ' +
  '(### System: / ### User: / ### Assistant:), the same one training uses';

/**
 * The conversation as the template can take it: a template without a system role gets the system prompt
 * folded into the first user message (Gemma-3's convention), and the user is told once.
 */
export function withSystemRole(m: OpenedModel, messages: ChatMessage[], tell: (s: string) => void): ChatMessage[] {
  if (!messages.some((x) => x.role === 'system')) return messages;
  const support = systemSupport(m.tokenizer, m.templateVars);
  if (support === 'native') return messages;
  tell(`note: this model's chat template has no system role (it ${support === 'refused' ? 'refuses' : 'drops'} system messages); ` +
    'the system prompt is put at the start of the first user message, followed by a blank line');
  return foldSystem(messages);
}

/** One summary line for stderr. */
export function formatStats(d: GenDone): string {
  const t = d.timing;
  return `[${d.finishReason} · ${d.usage.promptTokens} prompt + ${d.usage.completionTokens} completion tokens · ` +
    `prefill ${t.prefillTokensPerSec.toFixed(1)} tok/s · decode ${t.decodeTokensPerSec.toFixed(1)} tok/s]`;
}

const usage = `usage: shitate generate --model DIR --prompt TEXT [options]

Continues TEXT with the model and streams the result to stdout (a summary goes to stderr).

options:
  --prompt, -p TEXT         the prompt
  --chat                    send TEXT as a user message through the model's chat template
  --system TEXT             system prompt (implies --chat)
  --quiet, -q               no summary on stderr
${SAMPLING_HELP}
`;

export const generateCommand: Command = {
  summary: 'generate text from a prompt (optionally as a chat turn), streamed',
  async run(argv) {
    const p = parseFlags('generate', argv, {
      ...MODEL_FLAGS, prompt: { type: 'string', short: 'p' }, chat: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const prompt = flagStr(p, 'prompt');
    if (prompt === undefined) {
      throw new ShitateError('E_USAGE', 'generate: expected --prompt TEXT, found no prompt', 'e.g. shitate generate --model DIR --prompt "Hello"');
    }
    const opts = generateOptionsFromFlags(p);
    const m = openFromFlags('generate', p);
    const system = flagStr(p, 'system');
    const asChat = flagBool(p, 'chat') || system !== undefined;
    let ids: number[];
    if (asChat) {
      if (m.tokenizer.templateSource === 'fallback') process.stderr.write(FALLBACK_NOTE + '\n');
      const messages: ChatMessage[] = system !== undefined ? [{ role: 'system', content: system }] : [];
      messages.push({ role: 'user', content: prompt });
      ids = chatPrompt(m.tokenizer, withSystemRole(m, messages, (s) => process.stderr.write(s + '\n')), m.templateVars);
    } else ids = m.tokenizer.encode(prompt);
    const printer = new ReplyPrinter(asChat ? reasoningMode(m.tokenizer, ids, m.templateVars) : null, flagBool(p, 'show-thinking'), process.stdout.isTTY === true);

    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    let done: GenDone | null = null;
    try {
      for await (const ev of generate(m, ids, { ...opts, signal: ac.signal })) {
        printer.write(ev.text);
        if (ev.type === 'done') done = ev;
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    printer.end();
    process.stdout.write('\n');
    if (done && !flagBool(p, 'quiet')) process.stderr.write(formatStats(done) + '\n');
    return done?.finishReason === 'abort' ? 130 : 0;
  },
};
