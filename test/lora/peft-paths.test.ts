// Module paths of adapters on a Qwen3.5 wrapper checkpoint: transformers builds it as Qwen3_5ForCausalLM (layers at
// model.layers.*), so PEFT adapters name the layers that way and adapters saved here do too; an adapter trained on
// Qwen3_5ForConditionalGeneration (model.language_model.layers.*) loads to the same model.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/models/index.js';
import { ADAPTER_WEIGHTS, attachLora, loadAdapter, saveAdapter } from '../../src/lora/index.js';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { noGrad } from '../../src/tensor/index.js';
import { tempDir } from '../io/helpers.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');
const BASE = path.join(FIX, 'qwen3_5-mm-tiny');
const ADAPTER = path.join(FIX, 'qwen3_5-mm-tiny-lora');

function names(dir: string): string[] {
  const f = openSafetensors(path.join(dir, ADAPTER_WEIGHTS));
  const out = [...f.header.keys()].sort();
  f.close();
  return out;
}

/** The adapter with its tensors renamed by `rename`, in a new folder. */
function renamedAdapter(rename: (n: string) => string): string {
  const dir = tempDir('shitate-peft-paths-');
  fs.copyFileSync(path.join(ADAPTER, 'adapter_config.json'), path.join(dir, 'adapter_config.json'));
  const f = openSafetensors(path.join(ADAPTER, ADAPTER_WEIGHTS));
  const tensors = [...f.header.entries()].map(([n, info]) => ({ name: rename(n), shape: [...info.shape], dtype: 'F32' as const, data: f.readF32(n) }));
  f.close();
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors);
  return dir;
}

function logitsWith(adapter: string): Float32Array {
  const { model } = loadModel(BASE);
  loadAdapter(adapter, model);
  const ids = Int32Array.from([5, 17, 42, 9, 3, 77]);
  return noGrad(() => model.forward({ ids, batch: 1, seqLen: ids.length, logits: 'all' })).logits!.data;
}

describe('adapters of the Qwen3.5 wrapper', () => {
  it('are saved under the paths PEFT gives Qwen3_5ForCausalLM', () => {
    expect(names(ADAPTER).every((n) => n.startsWith('base_model.model.model.layers.'))).toBe(true);
    const { model } = loadModel(BASE);
    const set = attachLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', useRslora: false });
    const dir = tempDir('shitate-peft-paths-');
    saveAdapter(dir, set, BASE);
    expect(names(dir)).toEqual(names(ADAPTER));
  });

  it('load from either naming to the same model', () => {
    const wrapperPaths = renamedAdapter((n) => n.replace('base_model.model.model.layers.', 'base_model.model.model.language_model.layers.'));
    expect(names(wrapperPaths)[0]).toMatch(/^base_model\.model\.model\.language_model\.layers\./);
    const a = logitsWith(ADAPTER);
    const b = logitsWith(wrapperPaths);
    expect(Array.from(b)).toEqual(Array.from(a));
    const { model } = loadModel(BASE);
    const base = noGrad(() => model.forward({ ids: Int32Array.from([5, 17, 42, 9, 3, 77]), batch: 1, seqLen: 6, logits: 'all' })).logits!.data;
    expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - base[i])))).toBeGreaterThan(1e-2); // the adapter is applied
  });
});
