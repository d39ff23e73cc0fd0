// Where the exporter reads weights from: the Hugging Face folder's safetensors one tensor at a time, or, with an
// adapter, the model merged in memory by the same path `shitate merge` takes (load, attach, fuse).
import { openCheckpoint } from '../io/checkpoint.js';
import { loadAdapter, mergedWeights } from '../lora/index.js';
import { loadModel } from '../models/index.js';
import { assert } from '../errors.js';

export interface TensorSource {
  /** the float32 values of a weight by HF name, row-major in its HF shape */
  get(name: string): Float32Array;
  close(): void;
  /** LoRA layers merged into the weights (0 without an adapter) */
  mergedLayers: number;
  /** a tied base whose embedding and head the adapter changed differently: the head is stored on its own */
  untied: boolean;
}

/** Reads tensors straight from the checkpoint (peak memory: one tensor) when it holds every name the export
 *  needs; a checkpoint saved under older names (a family's renames) is read through the model loader instead. */
export function checkpointSource(dir: string, names: readonly string[]): TensorSource {
  const ck = openCheckpoint(dir);
  if (names.every((n) => ck.has(n))) return { get: (name) => ck.readF32(name), close: () => ck.close(), mergedLayers: 0, untied: false };
  ck.close();
  const { model } = loadModel(dir);
  const byName = new Map(model.namedWeights().map(({ name, tensor }) => [name, tensor]));
  return {
    get(name) {
      const t = byName.get(name);
      assert(t, `model has no weight ${name}`);
      return t.data;
    },
    close: () => byName.clear(),
    mergedLayers: 0,
    untied: false,
  };
}

/** The base with the adapter fused in, exactly as `shitate merge` computes it: W + scaling * B A for the
 *  projections, the adapted embedding / LM head for token-matrix LoRA (untied when they now differ). */
export function mergedSource(dir: string, adapterDir: string): TensorSource {
  const { model } = loadModel(dir);
  const set = loadAdapter(adapterDir, model, false, { baseDir: dir });
  set.fuse();
  const { weights, untied } = mergedWeights(model.namedWeights(), model, set.tokens.length > 0);
  const byName = new Map(weights.map(({ name, tensor }) => [name, tensor]));
  return {
    get(name) {
      const t = byName.get(name);
      assert(t, `merged model has no weight ${name}`);
      return t.data;
    },
    close: () => byName.clear(),
    mergedLayers: set.layers.size + set.tokens.length,
    untied,
  };
}
