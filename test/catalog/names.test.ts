// Model names as people type them: full Hugging Face ids, Instruct/chat/-it checkpoints, any letter case,
// resolved to the catalog family and size; engine support asked of the model registry; advice that points at
// chat checkpoints and says how to download them once.
import { describe, expect, it } from 'vitest';
import { engineModelTypes, engineSupports, findModel, loadCatalog, modelTypeOf } from '../../src/catalog/catalog.js';
import { checkpointWord, sizeStem } from '../../src/catalog/names.js';
import { buildAdvice, suggestModels } from '../../src/catalog/advice.js';
import { formatAdvice } from '../../src/catalog/advice-format.js';
import { FAMILIES, SUPPORTED_MODEL_TYPES } from '../../src/models/registry.js';
import type { AdviceInput } from '../../src/catalog/advisor.js';

const cat = loadCatalog();

describe('model names', () => {
  const cases: [string, string, string, string][] = [
    // name, family, size (catalog variant), Hugging Face id of the checkpoint
    ['Qwen/Qwen2.5-7B-Instruct', 'qwen2.5', 'Qwen2.5-7B', 'Qwen/Qwen2.5-7B-Instruct'],
    ['SmolLM2-135M-Instruct', 'smollm2', 'SmolLM2-135M', 'HuggingFaceTB/SmolLM2-135M-Instruct'],
    ['Llama-3.1-8B-Instruct', 'llama-3.1', 'Llama-3.1-8B', 'meta-llama/Llama-3.1-8B-Instruct'],
    ['Mistral-7B-Instruct-v0.3', 'mistral', 'Mistral-7B-v0.3', 'mistralai/Mistral-7B-Instruct-v0.3'],
    ['meta-llama/Llama-3.2-1B-Instruct', 'llama-3.2', 'Llama-3.2-1B', 'meta-llama/Llama-3.2-1B-Instruct'],
    ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'llama-3.1', 'Llama-3.1-8B', 'meta-llama/Llama-3.1-8B-Instruct'],
    ['QWEN/qwen2.5-0.5b-INSTRUCT', 'qwen2.5', 'Qwen2.5-0.5B', 'Qwen/Qwen2.5-0.5B-Instruct'],
    ['google/gemma-3-1b-it', 'gemma', 'gemma-3-1b-pt', 'google/gemma-3-1b-it'],
    ['meta-llama/Llama-2-7b-chat-hf', 'llama-2', 'Llama-2-7b', 'meta-llama/Llama-2-7b-chat-hf'],
    ['https://huggingface.co/Qwen/Qwen3-4B', 'qwen3', 'Qwen3-4B', 'Qwen/Qwen3-4B'],
  ];
  for (const [name, family, size, repo] of cases) {
    it(`${name} -> ${family} ${size}, chat checkpoint`, () => {
      const m = findModel(name);
      expect(m?.family.id).toBe(family);
      expect(m?.variant?.id).toBe(size);
      expect(m?.checkpoint).toBe('chat');
      expect(m?.repo).toBe(repo);
    });
  }

  it('tells base checkpoints from chat ones, and keeps listed instruct variants as themselves', () => {
    expect(findModel('HuggingFaceTB/SmolLM2-135M')).toMatchObject({ checkpoint: 'base', repo: 'HuggingFaceTB/SmolLM2-135M', match: 'exact' });
    // Qwen3's listed id is the chat model; its base checkpoint has another name the catalog does not list
    expect(findModel('Qwen/Qwen3-8B-Base')).toMatchObject({ checkpoint: 'base', repo: null, match: 'variant' });
    expect(findModel('llm-jp-3-13b-instruct')?.variant?.id).toBe('llm-jp-3-13b-instruct');
    expect(findModel('TinyLlama/TinyLlama-1.1B-Chat-v1.0')?.checkpoint).toBe('chat');
  });

  it('resolves another revision of a listed size only when asked, and never another model line', () => {
    expect(findModel('mistralai/Mistral-7B-Instruct-v0.2')).toMatchObject({ match: 'size', checkpoint: 'chat' });
    expect(findModel('mistralai/Mistral-7B-Instruct-v0.2')?.variant?.id).toMatch(/^Mistral-7B-v0\.\d$/);
    expect(findModel('mistralai/Mistral-7B-Instruct-v0.2', cat, false)).toBeNull();
    expect(findModel('Qwen/Qwen2.5-Coder-7B-Instruct')).toBeNull();
    expect(findModel('Qwen/Qwen2.5-7B-Instruct-1M')?.variant?.id).toBe('Qwen2.5-7B');
  });

  it('every chat checkpoint in the catalog resolves back to its own size', () => {
    for (const f of cat.families) {
      for (const v of f.variants) {
        if (!v.chat) continue;
        const m = findModel(v.chat);
        expect(m?.variant?.id === v.id || m?.variant?.chat === v.chat, v.chat).toBe(true);
        expect(m?.checkpoint, v.chat).toBe('chat');
        expect(findModel(v.chat.toUpperCase())?.variant, v.chat).toBe(m?.variant);
      }
    }
  });

  it('splits checkpoint words from the size name', () => {
    expect(sizeStem('mistralai/Mistral-Nemo-Base-2407')).toBe(sizeStem('Mistral-Nemo-Instruct-2407'));
    expect(sizeStem('Meta-Llama-3-8B-Instruct')).toBe('llama-3-8b');
    expect(checkpointWord('gemma-3-1b-pt')).toBe('base');
    expect(checkpointWord('gemma-3-1b-it')).toBe('chat');
    expect(checkpointWord('Qwen2.5-7B')).toBeNull();
  });
});

describe('engine support comes from the model registry', () => {
  it('matches the registry for every catalog model type, whatever families it holds', () => {
    expect(engineModelTypes()).toEqual(FAMILIES.map((f) => f.modelType));
    const types = new Set(cat.families.flatMap((f) => f.variants.map((v) => modelTypeOf(f, v))).filter((t): t is string => t !== null));
    for (const t of types) expect(engineSupports(t), t).toBe(SUPPORTED_MODEL_TYPES.includes(t));
    expect(engineSupports('llama')).toBe(true);
    expect(engineSupports('no_such_type')).toBe(false);
  });
});

describe('advice points at chat checkpoints', () => {
  const input: AdviceInput = { goal: 'style', examples: 500, confidential: true, budget: 'none', hardware: 'cpu', vramGb: null, ramGb: 16,
    skill: 'intermediate', purpose: 'commercial', japanese: false };

  it('suggests instruct/chat checkpoints, never base ones', () => {
    for (const method of ['prompt', 'lora'] as const) {
      const picks = suggestModels(input, method);
      expect(picks.length, method).toBeGreaterThan(0);
      for (const p of picks) {
        expect(findModel(p.hf!)?.checkpoint, p.hf!).toBe('chat');
        expect(p.hf!.endsWith(`/${p.id}`)).toBe(true);
      }
    }
  });

  it('says how to get the folder once, into the path the commands use', () => {
    const a = buildAdvice(input);
    expect(a.download).not.toBeNull();
    const d = a.download!;
    expect(d.commands).toContain(`hf download ${d.repo} --local-dir ${d.dir}`);
    const lora = a.recommendations.find((r) => r.method === 'lora')!;
    expect(lora.commands.some((c) => c.includes(`--model ${d.dir} `))).toBe(true);
    const text = formatAdvice(a, 'en');
    expect(text).toContain(`$ hf download ${d.repo} --local-dir ${d.dir}`);
    expect(text).toMatch(/once.*never connects/);
    expect(formatAdvice(a, 'ja')).toContain('一度だけ');
  });
});
