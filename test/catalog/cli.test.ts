// `shitate estimate` and `shitate advise` through the CLI entry: flags, JSON output, errors with exit codes,
// both languages, the catalog listing, and answers read from piped input.
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askMissing, defaultLang, toInput } from '../../src/cli/advise.js';
import { tinyModelDir } from '../helpers/tiny-model.js';
import { engineModelTypes, engineSupports, loadCatalog, modelTypeOf } from '../../src/catalog/catalog.js';
import { modelFolder, runCli } from './helpers.js';

const ALL = ['--goal', 'style', '--examples', '500', '--confidential', 'yes', '--budget', 'none', '--hardware', 'cpu', '--skill', 'intermediate', '--purpose', 'commercial'];

describe('shitate estimate', () => {
  it('estimates a catalog model as JSON without measuring', async () => {
    const r = await runCli(['estimate', '--model', 'Llama-2-7b', '--method', 'qlora', '--batch', '1', '--no-measure', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { cpu: { params: number }; gpu: Record<string, { peakBytes: number }>; calibration: unknown; licence: string };
    expect(j.cpu.params).toBeGreaterThan(6.5e9);
    expect(Object.keys(j.gpu)).toEqual(['QLoRA 4-bit', 'QLoRA 4-bit + checkpointing']); // without and with gradient checkpointing
    expect(j.calibration).toBeNull();
    expect(j.licence).toContain('llama2');
    // the not-yet-downloaded folder path that `shitate advise` prints resolves through the catalog
    const planned = await runCli(['estimate', '--model', './Qwen2.5-7B', '--no-measure', '--json']);
    expect(JSON.parse(planned.out)).toMatchObject({ model: 'Qwen/Qwen2.5-7B (catalog: Qwen2.5-7B, base checkpoint)', licence: 'apache-2.0: commercial use yes' });
  });

  it('takes full Hugging Face ids, Instruct/chat checkpoints and any letter case', async () => {
    for (const name of ['Qwen/Qwen2.5-7B-Instruct', 'SmolLM2-135M-Instruct', 'Llama-3.1-8B-Instruct', 'Mistral-7B-Instruct-v0.3',
      'meta-llama/Llama-3.2-1B-Instruct', 'qwen/qwen2.5-7b-instruct']) {
      const r = await runCli(['estimate', '--model', name, '--no-measure', '--json']);
      expect(r.code, `${name}: ${r.err}`).toBe(0);
      const j = JSON.parse(r.out) as { model: string; engineSupported: boolean; cpu: unknown };
      expect(j.model, name).toMatch(/instruct\/chat checkpoint/);
      expect(j.engineSupported, name).toBe(true);
      expect(j.cpu, name).not.toBeNull();
    }
    const r = await runCli(['estimate', '--model', 'Qwen/Qwen2.5-7B-Instruct', '--no-measure']);
    expect(r.out).toContain('model      Qwen/Qwen2.5-7B-Instruct (catalog: Qwen2.5-7B, instruct/chat checkpoint)');
  });

  it('shows no CPU figures for an architecture the engine does not run', async () => {
    const cat = loadCatalog();
    const pick = cat.families.flatMap((f) => f.variants.filter((v) => !engineSupports(modelTypeOf(f, v))).map((v) => ({ f, v })))[0];
    const r = await runCli(['estimate', '--model', pick.v.chat ?? pick.v.hf ?? pick.v.id, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { cpu: unknown; calibration: unknown; cpuSecondsPerEpoch: unknown; engineSupported: boolean; gpu: Record<string, unknown>; params: number };
    expect(j).toMatchObject({ cpu: null, calibration: null, cpuSecondsPerEpoch: null, engineSupported: false });
    expect(Object.keys(j.gpu)).toEqual(['LoRA bf16', 'LoRA bf16 + checkpointing']);
    expect(j.params).toBeGreaterThan(1e8);
    const text = await runCli(['estimate', '--model', pick.v.id]);
    expect(text.out).not.toContain('CPU float32');
    expect(text.out).not.toContain('CPU time');
    expect(text.out).toContain(`does not run ${modelTypeOf(pick.f, pick.v)} models (it runs ${engineModelTypes().join(', ')})`);
    // a downloaded folder of such a family: sized from its config.json, GPU figures only
    const type = ['falcon', 'bloom', 'gpt_neox', 'gemma3_text'].find((t) => !engineSupports(t))!;
    const dir = modelFolder({ 'config.json': JSON.stringify({ model_type: type, hidden_size: 1024, num_hidden_layers: 8, num_attention_heads: 16, vocab_size: 32000, intermediate_size: 4096 }) });
    const folder = await runCli(['estimate', '--model', dir, '--json']);
    expect(folder.code, folder.err).toBe(0);
    expect(JSON.parse(folder.out)).toMatchObject({ cpu: null, engineSupported: false, modelType: type, shape: { C: 1024, L: 8, H: 16, Hkv: 16, D: 64, F: 4096 } });
  });

  it('estimates a model folder with a CPU time from a measured GEMM rate', async () => {
    const r = await runCli(['estimate', '--model', tinyModelDir(), '--method', 'full', '--seq', '64', '--batch', '2', '--tokens', '5000']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('GPU full (mixed precision)');
    expect(r.out).toContain('GPU full (pure bf16)');
    expect(r.out).toMatch(/CPU time\s+\S+.* per epoch of 5,000 tokens/);
    expect(r.out).toMatch(/measured here: GEMM [\d.]+ GFLOP\/s/);
  });

  it('adds the bf16 weight copies to the CPU column with --precision bf16', async () => {
    const json = async (extra: string[]) => JSON.parse((await runCli(['estimate', '--model', tinyModelDir(), '--seq', '64',
      '--no-measure', '--json', ...extra])).out) as { cpu: { weightBytes: number } };
    const [f32, bf16] = [await json([]), await json(['--precision', 'bf16'])];
    expect(bf16.cpu.weightBytes).toBeGreaterThan(f32.cpu.weightBytes);
    expect(bf16.cpu.weightBytes).toBeLessThan(1.5 * f32.cpu.weightBytes);
  });

  it('says what is wrong with --model and --method', async () => {
    const family = await runCli(['estimate', '--model', 'qwen2.5', '--no-measure']);
    expect(family.code).toBe(2);
    expect(family.err).toContain('Qwen2.5-0.5B');
    const missing = await runCli(['estimate', '--model', 'no-such-model', '--no-measure']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('E_NOT_FOUND');
    expect((await runCli(['estimate', '--model', 'Llama-2-7b', '--method', 'dpo'])).code).toBe(2);
    expect((await runCli(['estimate', '--model', 'Llama-2-7b', '--seq', '0'])).code).toBe(2);
    const prec = await runCli(['estimate', '--model', 'Llama-2-7b', '--precision', 'fp16', '--no-measure']);
    expect(prec.code).toBe(2);
    expect(prec.err).toContain('fp32 or bf16');
  });
});

describe('shitate advise', () => {
  it('prints ranked advice with difficulty stars and commands, in English and Japanese', async () => {
    const en = await runCli(['advise', ...ALL, '--lang', 'en']);
    expect(en.code).toBe(0);
    expect(en.out).toMatch(/^1\. LoRA fine-tuning\s+\[recommended\]\s+difficulty ★★☆/m);
    expect(en.out).toContain('$ shitate train --model ./');
    expect(en.out).toContain('--purpose commercial');
    const ja = await runCli(['advise', ...ALL, '--lang', 'ja']);
    expect(ja.out).toMatch(/^1\. LoRA ファインチューニング\s+\[推奨\]\s+難易度 ★★☆/m);
    expect(ja.out).toContain('非推奨:');
  });

  it('--json returns the same advice as data; --yes fills in defaults without asking', async () => {
    const r = await runCli(['advise', '--goal', 'fresh', '--yes', '--json', '--lang', 'en']);
    const j = JSON.parse(r.out) as { input: { goal: string; examples: number; hardware: string }; recommendations: { method: string }[] };
    expect(j.input).toMatchObject({ goal: 'fresh', examples: 0, hardware: 'cpu' });
    expect(j.recommendations[0].method).toBe('rag');
  });

  it('--models lists every family of the catalog', async () => {
    const r = await runCli(['advise', '--models', '--lang', 'en']);
    expect(r.code).toBe(0);
    for (const f of loadCatalog().families) expect(r.out).toContain(f.name);
    expect(r.out).toContain('no local tuning');
  });

  it('rejects answers outside the choices', async () => {
    const r = await runCli(['advise', ...ALL, '--goal', 'magic']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('style, knowledge, fresh, personal');
  });
});

describe('advise questions from piped input', () => {
  const sink = () => {
    let text = '';
    const w = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
    return { w, text: () => text };
  };

  it('reads one answer per line, by number or word, asks for GPU memory only with a GPU, and defaults at the end of input', async () => {
    const out = sink();
    const answers = await askMissing({ purpose: 'research' }, Readable.from(['2\n1200\nno\nlow\ngpu\n12\n']), out.w, 'en');
    expect(answers).toEqual({ purpose: 'research', goal: 'knowledge', examples: '1200', confidential: 'no', budget: 'low', hardware: 'gpu', vram: '12', skill: 'intermediate' });
    expect(out.text()).toContain('What should change?');
    const input = toInput(answers, 'ja');
    expect(input).toMatchObject({ goal: 'knowledge', examples: 1200, confidential: false, hardware: 'gpu', vramGb: 12, purpose: 'research', japanese: true });
  });

  it('asks again after a wrong answer, and gives up after three', async () => {
    const again = await askMissing({ examples: '1', confidential: 'yes', budget: 'none', hardware: 'cpu', skill: 'beginner', purpose: 'none' },
      Readable.from(['x\nper\n']), sink().w, 'ja');
    expect(again.goal).toBe('personal');
    await expect(askMissing({}, Readable.from(['x\ny\nz\n']), sink().w, 'en')).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('takes the language from LANG', () => {
    expect(defaultLang({ LANG: 'ja_JP.UTF-8' })).toBe('ja');
    expect(defaultLang({ LANG: 'C.UTF-8' })).toBe('en');
  });
});
