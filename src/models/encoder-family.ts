// What an encoder family file exports, and the classification head every family assembles the same way: parts
// under their PEFT module names (modules_to_save), each read from the checkpoint when it holds it with the right
// shapes, else created fresh (normal init as transformers' _init_weights) and trained.
// Legend: C hidden, K labels.
import { Tensor } from '../tensor/index.js';
import type { Checkpoint } from '../io/checkpoint.js';
import type { Fields } from '../io/json-fields.js';
import { Rng } from '../kernels/rng.js';
import type { Linear } from './linear.js';
import { loadTable, tableTensors, type LoadedRecord, type LoadedTable, type ParamTable, type SpecRecord } from './params.js';
import type { Renames } from './renames.js';
import type { EncoderConfig, EncoderModel, HeadPart } from './encoder-types.js';
import type { NamedTensor } from './types.js';

/** One module of a classification head: its PEFT module name and its weights' specs. */
export interface HeadSpec {
  module: string;
  slots: SpecRecord;
  /** the classifier proper: always trained; other parts (a pooler, a prediction head) train only when fresh */
  classifier: boolean;
  /** std of a fresh part's normal init (default config.initializerRange) */
  initStd?: number;
}

/** The loaded head: every slot of every part by key, and the parts as HeadParts. */
export interface LoadedHead {
  slots: Record<string, Tensor | Linear | null>;
  parts: HeadPart[];
  /** the labels K of the classifier */
  numLabels: number;
}

export interface EncoderFamily<T extends ParamTable = ParamTable> {
  readonly modelType: string;
  readonly aliases: readonly string[];
  parseConfig(f: Fields): EncoderConfig;
  /** the encoder body (embeddings and layers), without any head */
  table(c: EncoderConfig): T;
  /** the parts of a K-label sequence-classification head */
  headSpecs(c: EncoderConfig, K: number): HeadSpec[];
  /** checkpoint tensors the family knowingly leaves unused (pre-training heads, buffers) */
  ignoredTensors(c: EncoderConfig): readonly RegExp[];
  /** the base-model checkpoints (BertModel, XLMRobertaModel, ...) name tensors without the prefix the task models use */
  readonly renames: Renames;
  /** name of the classifier's weight, to read K from a checkpoint that has one */
  readonly classifierWeight: string;
  build(c: EncoderConfig, weights: LoadedTable<T>, head: LoadedHead | null): EncoderModel;
}

function specShapes(slots: SpecRecord): { name: string; shape: readonly number[] }[] {
  return tableTensors({ global: slots, layers: [] });
}

/** Whether the checkpoint holds every tensor of the slots with exactly these shapes. */
function holds(ck: Checkpoint, slots: SpecRecord): boolean {
  return specShapes(slots).every(({ name, shape }) => {
    const t = ck.tensors.get(name);
    return t !== undefined && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  });
}

/** Fresh weights: linear weights ~ N(0, std), biases 0, LayerNorm weights 1 and biases 0 (a 1-D tensor slot). */
function freshRecord(slots: SpecRecord, std: number, rng: Rng): Record<string, Tensor | Linear | null> {
  const normal = (shape: number[], name: string): Tensor => {
    const t = Tensor.from(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * std), shape);
    t.name = name;
    return t;
  };
  const out: Record<string, Tensor | Linear | null> = {};
  for (const [key, s] of Object.entries(slots)) {
    if (!s) out[key] = null;
    else if (s.kind === 'linear') {
      const bias = s.bias ? Tensor.zeros([s.out]) : null;
      if (bias) bias.name = `${s.name}.bias`;
      out[key] = { name: s.name, weight: normal([s.out, s.in], `${s.name}.weight`), bias, adapter: null };
    } else {
      const t = Tensor.from(new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(s.name.endsWith('.bias') ? 0 : 1), [...s.shape]);
      t.name = s.name;
      out[key] = t;
    }
  }
  return out;
}

function weightsOf(slots: SpecRecord, rec: Record<string, Tensor | Linear | null>): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const [key, s] of Object.entries(slots)) {
    const v = rec[key];
    if (!s || !v) continue;
    if (v instanceof Tensor) out.push({ name: s.name, tensor: v });
    else {
      out.push({ name: `${s.name}.weight`, tensor: v.weight });
      if (v.bias) out.push({ name: `${s.name}.bias`, tensor: v.bias });
    }
  }
  return out;
}

/** The head of K labels: parts the checkpoint holds are read, the rest made fresh (seeded). A classifier of another
 *  K in the checkpoint is replaced by a fresh one; `onNote` hears about it. */
export function loadHead(ck: Checkpoint, c: EncoderConfig, specs: HeadSpec[], K: number, seed: number,
  onNote: (message: string) => void): LoadedHead {
  const rng = new Rng(seed);
  const slots: Record<string, Tensor | Linear | null> = {};
  const parts: HeadPart[] = [];
  for (const spec of specs) {
    const present = holds(ck, spec.slots);
    if (!present && spec.classifier && specShapes(spec.slots).some(({ name }) => ck.has(name))) {
      onNote(`${ck.dir}: its classifier has another number of labels than the ${K} asked for; a new classifier is trained`);
    }
    const rec = present ? (loadTable(ck, { global: spec.slots, layers: [] }).global as LoadedRecord<SpecRecord>) : freshRecord(spec.slots, spec.initStd ?? c.initializerRange, rng);
    Object.assign(slots, rec);
    parts.push({ module: spec.module, weights: weightsOf(spec.slots, rec), trained: spec.classifier || !present });
  }
  return { slots, parts, numLabels: K };
}

/** Every tensor name a head of these specs may use (claimed for the unknown-tensor check). */
export function headTensorNames(specs: HeadSpec[]): string[] {
  return specs.flatMap((s) => specShapes(s.slots).map((e) => e.name));
}
