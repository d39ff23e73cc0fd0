// The Ollama Modelfile written next to an exported GGUF: FROM (and ADAPTER for a GGUF LoRA), the chat
// template converted to Go template syntax, a stop parameter for every token that ends a reply, the context
// size, the model's recommended sampling, the run's system prompt, and the `ollama create` line to run.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { GenerationConfig } from '../io/generation-config.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { convertChatTemplate } from './ollama-template.js';

export interface ModelfileOptions {
  /** the GGUF the Modelfile loads (FROM) */
  gguf: string;
  /** a GGUF LoRA adapter to apply on it (ADAPTER) */
  adapterGguf?: string | null;
  tokenizer: Tokenizer;
  /** chat template variables the run trained with */
  templateVars: Record<string, unknown>;
  /** the GGUF makes Ollama add bos itself (the template's own bos text is dropped) */
  addBos: boolean;
  /** ids that end a reply */
  endIds: readonly number[];
  numCtx: number;
  system: string | null;
  generation: GenerationConfig;
  /** where to write the Modelfile (default: next to the GGUF, <name>.Modelfile) */
  file?: string;
}

export interface ModelfileResult {
  file: string;
  name: string;
  createCommand: string;
  stops: string[];
  /** why there is no TEMPLATE (the conversion was refused), else null */
  templateProblem: string | null;
}

/** An Ollama model name from a file name: lower case letters, digits, '.', '_' and '-'. */
export function ollamaName(file: string): string {
  const stem = path.basename(file).replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return stem || 'shitate-model';
}

/** A Modelfile triple-quoted block; text containing the delimiter cannot be written. */
function block(keyword: string, text: string): string {
  if (text.includes('"""')) {
    throw new ShitateError('E_EXPORT_OLLAMA', `ollama: the ${keyword} text contains """, which a Modelfile cannot quote`, `remove the triple quote from the ${keyword.toLowerCase()} text`);
  }
  return `${keyword} """${text}"""`;
}

const rel = (from: string, to: string) => {
  const r = path.relative(path.dirname(path.resolve(from)), path.resolve(to));
  return r.startsWith('.') || path.isAbsolute(r) ? r : `./${r}`;
};

function sampling(g: GenerationConfig): string[] {
  if (g.doSample === false) return ['PARAMETER temperature 0'];
  const out: string[] = [];
  if (g.temperature !== null) out.push(`PARAMETER temperature ${g.temperature}`);
  if (g.topP !== null) out.push(`PARAMETER top_p ${g.topP}`);
  if (g.topK !== null && g.topK > 0) out.push(`PARAMETER top_k ${g.topK}`);
  if (g.repetitionPenalty !== null) out.push(`PARAMETER repeat_penalty ${g.repetitionPenalty}`);
  return out;
}

export function writeModelfile(o: ModelfileOptions): ModelfileResult {
  const file = o.file ?? o.gguf.replace(/\.gguf$/i, '') + '.Modelfile';
  const tok = o.tokenizer;
  const lines = [`# Ollama Modelfile written by shitate export`, `FROM ${rel(file, o.gguf)}`];
  if (o.adapterGguf) lines.push(`ADAPTER ${rel(file, o.adapterGguf)}`);
  let templateProblem: string | null = null;
  try {
    const bos = o.addBos ? tok.bosToken : null;
    lines.push(block('TEMPLATE', convertChatTemplate(tok, o.templateVars, bos).template));
  } catch (e) {
    if (!(e instanceof ShitateError)) throw e;
    templateProblem = e.message;
    lines.push(`# no TEMPLATE: ${e.message.replace(/\n/g, ' ')}`, '# Ollama falls back to the chat template embedded in the GGUF');
  }
  if (o.system) lines.push(block('SYSTEM', o.system));
  const stops = [...new Set(o.endIds.map((id) => tok.decode([id])).filter((t) => t.length > 0))];
  for (const s of stops) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
  lines.push(`PARAMETER num_ctx ${o.numCtx}`, ...sampling(o.generation));
  writeFileAtomic(file, lines.join('\n') + '\n');
  const name = ollamaName(o.gguf);
  return { file, name, createCommand: `ollama create ${name} -f ${file}`, stops, templateProblem };
}

/** The system prompt every chat example of a run shared (read from the adapter's shitate.json data path), or
 *  null when the run had none or several. */
export function runSystemPrompt(adapterDir: string): string | null {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(adapterDir, 'shitate.json'), 'utf8')) as { config?: { data?: unknown } };
    const data = meta.config?.data;
    if (typeof data !== 'string' || !fs.existsSync(data)) return null;
    const seen = new Set<string>();
    let chats = 0;
    for (const line of fs.readFileSync(data, 'utf8').split('\n').slice(0, 2000)) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as { messages?: { role?: unknown; content?: unknown }[] };
      if (!Array.isArray(rec.messages)) continue;
      chats++;
      const sys = rec.messages.find((m) => m.role === 'system');
      seen.add(typeof sys?.content === 'string' ? sys.content : '');
    }
    const [only] = [...seen];
    return chats > 0 && seen.size === 1 && only ? only : null;
  } catch {
    return null; // the system prompt is a convenience: an unreadable run record leaves it out
  }
}
