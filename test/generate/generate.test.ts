// generate() on the llama-tiny fixture (greedy tokens equal the PyTorch reference; end ids, budget, abort,
// seeds, context limits) and on a scripted model with a trained tokenizer (stop strings, held-back text,
// Japanese split across byte tokens streamed without a broken character).
import path from 'node:path';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShitateError } from '../../src/errors.js';
import { chatPrompt, generate, generateText, openModel, type GenerationModel, type GenEvent, type GenerateOptions, type GenerateTarget } from '../../src/generate/index.js';
import { KVCache, loadModel, type ForwardInput, type ForwardOutput, type CausalLM } from '../../src/models/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { FIXTURES, modelDir } from './model-dir.js';

interface Golden { greedy: { prompt: number[]; max_new_tokens: number; tokens: number[] } }
const golden = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'llama-tiny', 'golden.json'), 'utf8')) as Golden).greedy;

async function collect(target: GenerationModel | GenerateTarget, prompt: readonly number[], opts: GenerateOptions = {}): Promise<GenEvent[]> {
  const out: GenEvent[] = [];
  for await (const ev of generate(target, prompt, opts)) out.push(ev);
  return out;
}

async function rejects(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ShitateError);
  expect((err as ShitateError).code).toBe(code);
  for (const m of mentions) expect((err as ShitateError).message).toContain(m);
}

let model: CausalLM;
let eosIds: number[];
beforeAll(() => {
  const loaded = loadModel(path.join(FIXTURES, 'llama-tiny'));
  model = loaded.model;
  eosIds = loaded.eosTokenIds;
});

describe('generate on llama-tiny', () => {
  it('greedy tokens equal the reference, none of them an eos', async () => {
    expect(golden.tokens.some((t) => eosIds.includes(t))).toBe(false);
    const r = await generateText({ model, endIds: eosIds }, golden.prompt, { maxNewTokens: golden.max_new_tokens });
    expect(r.tokens).toEqual(golden.tokens);
    expect(r.finishReason).toBe('length');
    expect(r.usage).toEqual({ promptTokens: golden.prompt.length, completionTokens: golden.max_new_tokens });
    for (const v of Object.values(r.timing)) expect(Number.isFinite(v) && v >= 0).toBe(true);
  });

  it('stops on an end id without emitting it', async () => {
    const events = await collect(model, golden.prompt, { maxNewTokens: 10, endIds: [golden.tokens[2]] });
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.map((e) => e.id)).toEqual(golden.tokens.slice(0, 2));
    const done = events.at(-1);
    expect(done?.type === 'done' && done.finishReason).toBe('stop');
    expect(done?.type === 'done' && done.tokens).toEqual(golden.tokens.slice(0, 3));
  });

  it('stops at the token budget', async () => {
    const r = await generateText(model, golden.prompt, { maxNewTokens: 4 });
    expect(r.tokens).toEqual(golden.tokens.slice(0, 4));
    expect(r.finishReason).toBe('length');
  });

  it('honours an AbortSignal between tokens, and one aborted before the start', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    let last: GenEvent | null = null;
    for await (const ev of generate(model, golden.prompt, { maxNewTokens: 10, signal: ac.signal })) {
      last = ev;
      if (ev.type === 'token') seen.push(ev.id);
      if (seen.length === 3) ac.abort();
    }
    expect(seen).toEqual(golden.tokens.slice(0, 3));
    expect(last?.type === 'done' && last.finishReason).toBe('abort');
    const pre = await generateText(model, golden.prompt, { signal: AbortSignal.abort() });
    expect(pre).toMatchObject({ finishReason: 'abort', tokens: [], text: '' });
  });

  it('yields to the event loop between tokens', async () => {
    let fired = false;
    setImmediate(() => {
      fired = true;
    });
    let firedBySecond = false;
    let n = 0;
    for await (const ev of generate(model, golden.prompt, { maxNewTokens: 3 })) {
      if (ev.type === 'token' && ++n === 2) firedBySecond = fired;
    }
    expect(firedBySecond).toBe(true);
  });

  it('repeats sampled tokens under a seed and changes with the seed', async () => {
    const run = async (seed: number) => (await generateText(model, golden.prompt, { maxNewTokens: 20, temperature: 1, topK: 0, seed })).tokens;
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
  });

  it('refuses a prompt plus budget beyond the context, and fits a default budget into it', async () => {
    const ctx = model.config.maxPositions;
    await rejects(generateText(model, golden.prompt, { maxNewTokens: ctx }), 'E_CONTEXT', `${golden.prompt.length}`, `${ctx}`, 'max_new_tokens');
    await rejects(generateText(model, new Array<number>(ctx).fill(5)), 'E_CONTEXT', `${ctx}`);
    await rejects(generateText(model, []), 'E_CONFIG', 'empty prompt');
    const long = Array.from({ length: ctx - 3 }, (_, i) => (i * 7) % 200);
    const r = await generateText(model, long);
    expect(r.tokens.length).toBe(3);
    expect(r.finishReason).toBe('length');
  });

  it('refuses stop strings without a tokenizer', async () => {
    await rejects(generateText(model, golden.prompt, { stop: ['x'] }), 'E_CONFIG', 'tokenizer');
  });
});

describe('openModel', () => {
  it('stops on the template\'s end of turn and samples only ids the tokenizer knows', async () => {
    const m = openModel(modelDir('llama-tiny'));
    const imEnd = m.tokenizer.tokenToId('<|im_end|>');
    expect(m.endIds).toContain(imEnd);
    expect(m.tokenizer.vocabSize).toBeLessThan(m.config.vocabSize);
    const r = await generateText(m, m.tokenizer.encode('Hello world'), { maxNewTokens: 40, temperature: 2, topK: 0, seed: 5, endIds: [] });
    expect(r.tokens.length).toBe(40);
    expect(Math.max(...r.tokens)).toBeLessThan(m.tokenizer.vocabSize);
    expect(r.text).toBe(m.tokenizer.decode(r.tokens, { skipSpecialTokens: true }));
  });

  it('applies an adapter, fused or not, and detaching restores the base', async () => {
    const dir = modelDir('llama-tiny');
    const adapter = path.join(FIXTURES, 'llama-tiny-lora');
    const opts: GenerateOptions = { maxNewTokens: 10, vocabLimit: 256, endIds: [] };
    const fused = openModel(dir, { adapter });
    const unfused = openModel(dir, { adapter, fuse: false });
    // bare models: the golden ids lie beyond the trained tokenizer's vocabulary
    const a = await generateText(fused.model, golden.prompt, opts);
    expect((await generateText(unfused.model, golden.prompt, opts)).tokens).toEqual(a.tokens);
    expect(a.tokens).not.toEqual(golden.tokens);
    fused.adapter?.detach();
    expect((await generateText(fused.model, golden.prompt, opts)).tokens).toEqual(golden.tokens);
  });

  it('chatPrompt renders with the template and opens the assistant turn', () => {
    const m = openModel(modelDir('llama-tiny'));
    const msgs = [{ role: 'user', content: 'hi there' }];
    const ids = chatPrompt(m.tokenizer, msgs);
    expect(ids).toEqual(m.tokenizer.encodeChat(msgs, { addGenerationPrompt: true }));
    expect(m.tokenizer.decode(ids)).toBe('<s><|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n');
  });
});

/** A stand-in model that emits a fixed script of ids, then the end id, whatever the input. */
function scripted(script: number[], end: number, vocab: number): GenerationModel {
  const config = { ...model.config, vocabSize: vocab };
  let step = 0;
  return {
    config,
    forward(input: ForwardInput): ForwardOutput {
      (input.cache as KVCache).advance(input.seqLen);
      const logits = new Float32Array(vocab);
      logits[step < script.length ? script[step] : end] = 10;
      step++;
      return { logits: Tensor.from(logits, [1, 1, vocab]), loss: null };
    },
  };
}

/** GPT-2's byte-to-character table, which byte-level BPE vocabularies are written in. */
function byteChar(b: number): string {
  const printable = (x: number) => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  if (printable(b)) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) n++;
  return String.fromCharCode(256 + n);
}

describe('text, stop strings and streaming', () => {
  let tok: Tokenizer;
  let end: number;
  beforeAll(() => {
    tok = loadTokenizer(modelDir('llama-tiny'));
    end = tok.tokenToId('<|im_end|>') ?? -1;
  });
  const run = (script: number[], opts: GenerateOptions) =>
    collect({ model: scripted(script, end, tok.vocabSize), tokenizer: tok, endIds: [end] }, [1], opts);
  const textOf = (evs: GenEvent[]) => evs.map((e) => e.text).join('');

  it('streams Japanese split across byte tokens without a broken character', async () => {
    const text = '弊社の返品。こんにちは';
    const bytes = [...Buffer.from('弊社の返品', 'utf8')].map((b) => tok.tokenToId(byteChar(b)) ?? -1);
    expect(bytes.every((id) => id >= 0)).toBe(true);
    const evs = await run([...bytes, ...tok.encode('。こんにちは', { addSpecialTokens: false })], {});
    for (const e of evs) expect(e.text).not.toContain('\uFFFD');
    expect(evs.filter((e) => e.type === 'token' && e.text === '').length).toBeGreaterThan(0);
    expect(textOf(evs)).toBe(text);
    expect(evs.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('stops on the earliest stop string, across token boundaries, without emitting it', async () => {
    const ids = tok.encode('Hello world, STOP now!', { addSpecialTokens: false });
    for (const [stop, want] of [[['STOP'], 'Hello world, '], [['now', 'STOP'], 'Hello world, '], [['ld, S'], 'Hello wor']] as const) {
      const evs = await run(ids, { stop });
      expect(textOf(evs)).toBe(want);
      const done = evs.at(-1);
      expect(done?.type === 'done' && done.finishReason).toBe('stop');
      expect(done?.type === 'done' && done.tokens).not.toContain(end);
    }
  });

  it('stops on a special token given as a stop string, though it never shows in the text', async () => {
    const ids = tok.encode('hi there', { addSpecialTokens: false });
    const target = { model: scripted(ids, end, tok.vocabSize), tokenizer: tok, endIds: [] };
    const evs = await collect(target, [1], { stop: ['<|im_end|>'], maxNewTokens: 20 });
    expect(textOf(evs)).toBe('hi there');
    expect(evs.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop', tokens: [...ids, end] });
  });

  it('holds back exactly the text that could still become a stop string', async () => {
    const full = 'Please keep the receipt.';
    const ids = tok.encode(full, { addSpecialTokens: false });
    const stop = 'receipt!';
    let released = '';
    let held = 0;
    const seen: number[] = [];
    for await (const ev of generate({ model: scripted(ids, end, tok.vocabSize), tokenizer: tok, endIds: [end] }, [1], { stop: [stop] })) {
      released += ev.text;
      if (ev.type !== 'token') continue;
      seen.push(ev.id);
      const decoded = tok.decode(seen);
      expect(decoded.startsWith(released)).toBe(true);
      const rest = decoded.slice(released.length);
      expect(stop.startsWith(rest)).toBe(true);
      if (rest.length > 0) held++;
    }
    expect(held).toBeGreaterThan(0);
    expect(released).toBe(full);
  });
});
