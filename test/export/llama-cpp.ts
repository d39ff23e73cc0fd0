// llama.cpp itself (node-llama-cpp's prebuilt binaries, CPU only) as the judge of exported GGUF files:
// greedy decoding from given prompt ids, next-token distributions over a text, the chat template rendered by
// llama.cpp's own Jinja engine, and tokenization as llama.cpp's chat path does it.
import { getLlama, LlamaLogLevel, TokenBias, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';

let shared: Promise<Llama> | null = null;

export function llamaCpp(): Promise<Llama> {
  shared ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return shared;
}

export async function loadGguf(file: string): Promise<LlamaModel> {
  return (await llamaCpp()).loadModel({ modelPath: file });
}

/** Greedy tokens after `prompt` (at most n, stopping after an end-of-generation token, which is included). */
export async function greedy(model: LlamaModel, prompt: readonly number[], n: number, lora?: string, onlyEndOf?: number): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: 512, threads: 1, ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  try {
    const out: number[] = [];
    // `onlyEndOf` (the vocabulary size): every token but the end-of-generation ones is banned, to see that
    // generation stops on them
    const tokenBias = onlyEndOf ? TokenBias.for(model).set(Array.from({ length: onlyEndOf }, (_, i) => i as Token), 'never') : undefined;
    for await (const t of ctx.getSequence().evaluate([...prompt] as Token[], { temperature: 0, yieldEogToken: true, ...(tokenBias ? { tokenBias } : {}) })) {
      out.push(t);
      if (out.length >= n || model.isEogToken(t)) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** For each position i < ids.length - 1: llama.cpp's most likely next token and the log probability it gives
 *  ids[i + 1]. */
export async function teacherForced(model: LlamaModel, ids: readonly number[]): Promise<{ top1: number[]; logp: number[] }> {
  const ctx = await model.createContext({ contextSize: Math.max(512, ids.length + 8), threads: 1 });
  try {
    const items = ids.slice(0, -1).map((t) => [t as Token, { generateNext: { probabilities: true } }] as [Token, { generateNext: { probabilities: boolean } }]);
    const res = await ctx.getSequence().controlledEvaluate(items);
    const top1: number[] = [];
    const logp: number[] = [];
    res.forEach((r, i) => {
      const probs = r?.next.probabilities;
      if (!probs) throw new Error(`no probabilities at position ${i}`);
      let best = -1;
      let bestP = -1;
      for (const [tok, p] of probs) if (p > bestP) [best, bestP] = [tok, p];
      top1.push(best);
      logp.push(Math.log(Math.max(probs.get(ids[i + 1] as Token) ?? 0, 1e-30)));
    });
    return { top1, logp };
  } finally {
    await ctx.dispose();
  }
}

interface NativeJinja { render(vars: Record<string, unknown>): string }

/** The chat rendered by llama.cpp's own Jinja engine (the template embedded in the GGUF). */
export async function renderNative(template: string, vars: Record<string, unknown>): Promise<string> {
  const llama = await llamaCpp();
  const bindings = (llama as unknown as { _bindings: { AddonJinjaRenderer: new (t: string) => NativeJinja } })._bindings;
  return new bindings.AddonJinjaRenderer(template).render(vars);
}

/** Ids as llama.cpp's chat path tokenizes a rendered chat: a leading bos text is dropped when the model adds
 *  bos itself, then the text is tokenized with special tokens parsed and bos added as the GGUF says. */
export function chatIds(model: LlamaModel, rendered: string, bosText: string | null): number[] {
  const addBos = model.tokens.shouldPrependBosToken;
  const bos = model.tokens.bos;
  const text = addBos && bosText && rendered.startsWith(bosText) ? rendered.slice(bosText.length) : rendered;
  const ids = [...model.tokenize(text, true)];
  return addBos && bos !== null && ids[0] !== bos ? [bos, ...ids] : ids;
}
