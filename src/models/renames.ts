// A checkpoint seen under the names the model uses today: transformers renames the tensors of checkpoints saved
// in an older layout when it loads them (its key mapping, e.g. a multimodal Gemma 3 saved by 4.50 as
// "language_model.model.layers.0..." is "model.language_model.layers.0..." since 4.52). A family lists those
// rewrites; loading, the unclaimed-tensor check and merging then see the current names only.
import type { Checkpoint, CheckpointTensor } from '../io/checkpoint.js';

/** Rewrites of stored names: the first pattern that matches replaces its match (String.replace semantics). */
export type Renames = readonly (readonly [RegExp, string])[];

export function currentName(stored: string, renames: Renames): string {
  for (const [re, to] of renames) if (re.test(stored)) return stored.replace(re, to);
  return stored;
}

/** `ck` with every tensor under its current name (the same object when no name changes). */
export function renamedCheckpoint(ck: Checkpoint, renames: Renames): Checkpoint {
  const storedOf = new Map<string, string>();
  for (const stored of ck.tensors.keys()) {
    const now = currentName(stored, renames);
    if (now !== stored) storedOf.set(now, stored);
  }
  if (storedOf.size === 0) return ck;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [stored, info] of ck.tensors) tensors.set(currentName(stored, renames), info);
  const stored = (name: string) => storedOf.get(name) ?? name;
  return {
    dir: ck.dir,
    files: ck.files,
    tensors,
    metadata: ck.metadata,
    has: (name) => tensors.has(name),
    readF32: (name, out) => ck.readF32(stored(name), out),
    close: () => ck.close(),
  };
}
