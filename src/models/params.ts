// The parameter table: every weight of a family declared once, by HF name and shape. The same table drives
// loading (shape checks, unclaimed-tensor checks), namedWeights (save, merge, full fine-tuning), the LoRA
// target list (its linear entries) and the parameter counts of `estimate`.
import { Tensor } from '../tensor/index.js';
import type { Checkpoint } from '../io/checkpoint.js';
import { ShitateError } from '../errors.js';
import type { Linear } from './linear.js';
import type { NamedTensor } from './types.js';

/** A plain weight tensor, e.g. a norm's "model.norm.weight" [C]. */
export interface TensorSpec {
  readonly kind: 'tensor';
  readonly name: string;
  readonly shape: readonly number[];
}

/** A linear layer "<name>.weight" [out, in] (+ "<name>.bias" [out]): a LoRA target. */
export interface LinearSpec {
  readonly kind: 'linear';
  readonly name: string;
  readonly out: number;
  readonly in: number;
  readonly bias: boolean;
}

export type ParamSpec = TensorSpec | LinearSpec;
/** Named slots of one part of the model; null marks a slot this configuration does not have. */
export type SpecRecord = Readonly<Record<string, ParamSpec | null>>;

/** A family's whole table: the model-wide weights and one record per decoder layer. */
export interface ParamTable<G extends SpecRecord = SpecRecord, Y extends SpecRecord = SpecRecord> {
  global: G;
  layers: Y[];
}

type LoadedOf<S> = S extends LinearSpec ? Linear : S extends TensorSpec ? Tensor : null;
export type LoadedRecord<S extends SpecRecord> = { -readonly [K in keyof S]: LoadedOf<S[K]> };
export interface LoadedTable<T extends ParamTable> {
  global: LoadedRecord<T['global']>;
  layers: LoadedRecord<T['layers'][number]>[];
}

export function tensorSpec(name: string, shape: readonly number[]): TensorSpec {
  return { kind: 'tensor', name, shape };
}

export function linearSpec(name: string, out: number, inp: number, bias: boolean): LinearSpec {
  return { kind: 'linear', name, out, in: inp, bias };
}

function records(t: ParamTable): SpecRecord[] {
  return [t.global, ...t.layers];
}

/** Every tensor the table declares: HF name and shape, in table order. */
export function tableTensors(t: ParamTable): { name: string; shape: readonly number[] }[] {
  const out: { name: string; shape: readonly number[] }[] = [];
  for (const rec of records(t)) {
    for (const s of Object.values(rec)) {
      if (!s) continue;
      if (s.kind === 'tensor') out.push({ name: s.name, shape: s.shape });
      else {
        out.push({ name: `${s.name}.weight`, shape: [s.out, s.in] });
        if (s.bias) out.push({ name: `${s.name}.bias`, shape: [s.out] });
      }
    }
  }
  return out;
}

export interface ParamCounts {
  /** every parameter (a tied LM head counted once) */
  total: number;
  /** weights of the linear layers (LoRA targets), biases excluded */
  linear: number;
  /** LoRA parameters per unit of rank with every linear targeted: sum of (in + out) */
  loraPerRank: number;
}

export function countParams(t: ParamTable): ParamCounts {
  let total = 0;
  let linear = 0;
  let loraPerRank = 0;
  for (const rec of records(t)) {
    for (const s of Object.values(rec)) {
      if (!s) continue;
      if (s.kind === 'tensor') {
        total += s.shape.reduce((a, b) => a * b, 1);
        continue;
      }
      total += s.out * s.in + (s.bias ? s.out : 0);
      linear += s.out * s.in;
      loraPerRank += s.out + s.in;
    }
  }
  return { total, linear, loraPerRank };
}

function readTensor(ck: Checkpoint, name: string, shape: readonly number[]): Tensor {
  const info = ck.tensors.get(name);
  if (!info) {
    throw new ShitateError('E_TENSOR_MISSING', `${ck.dir}: expected weight "${name}" with shape [${shape.join(', ')}], found none`,
      'the weights do not match config.json (another architecture or an incomplete download)');
  }
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ShitateError('E_SHAPE', `${info.file}: weight "${name}" has shape [${info.shape.join(', ')}], config.json implies [${shape.join(', ')}]`,
      'config.json and the weights come from different models; re-download the folder as a whole');
  }
  const t = Tensor.from(ck.readF32(name), [...shape]);
  t.name = name;
  return t;
}

function loadRecord<S extends SpecRecord>(ck: Checkpoint, rec: S): LoadedRecord<S> {
  const out: Record<string, Tensor | Linear | null> = {};
  for (const [key, s] of Object.entries(rec)) {
    if (!s) out[key] = null;
    else if (s.kind === 'tensor') out[key] = readTensor(ck, s.name, s.shape);
    else {
      out[key] = {
        name: s.name,
        weight: readTensor(ck, `${s.name}.weight`, [s.out, s.in]),
        bias: s.bias ? readTensor(ck, `${s.name}.bias`, [s.out]) : null,
        adapter: null,
      };
    }
  }
  // every key of rec was filled with the loaded counterpart of its spec, which is what LoadedRecord<S> says
  return out as LoadedRecord<S>;
}

/** Reads every weight of the table, checking each shape against config.json before a byte is read. */
export function loadTable<T extends ParamTable>(ck: Checkpoint, t: T): LoadedTable<T> {
  return { global: loadRecord(ck, t.global), layers: t.layers.map((rec) => loadRecord(ck, rec)) } as LoadedTable<T>;
}

/** Checkpoint tensors that no table entry claims and no `ignored` pattern excuses, sorted. */
export function unclaimedTensors(ck: Checkpoint, t: ParamTable, ignored: readonly RegExp[]): string[] {
  const claimed = new Set(tableTensors(t).map((e) => e.name));
  return [...ck.tensors.keys()].filter((n) => !claimed.has(n) && !ignored.some((re) => re.test(n))).sort();
}

function isLinear(v: Tensor | Linear | null): v is Linear {
  return v !== null && !(v instanceof Tensor);
}

/** The loaded linear layers in table order (global first, then layer by layer in record order). */
export function linearsOf(w: LoadedTable<ParamTable>): Linear[] {
  const recs: Record<string, Tensor | Linear | null>[] = [w.global, ...w.layers];
  return recs.flatMap((r) => Object.values(r).filter(isLinear));
}

/** Every loaded weight under its HF name (taken from the table), in table order; a tensor that fills two
 *  slots appears once. */
export function namedWeightsOf<T extends ParamTable>(t: T, w: LoadedTable<T>): NamedTensor[] {
  const out: NamedTensor[] = [];
  const seen = new Set<Tensor>();
  const push = (name: string, tensor: Tensor) => {
    if (seen.has(tensor)) return;
    seen.add(tensor);
    out.push({ name, tensor });
  };
  const specs = records(t);
  const loaded: Record<string, Tensor | Linear | null>[] = [w.global, ...w.layers];
  specs.forEach((rec, i) => {
    for (const [key, s] of Object.entries(rec)) {
      const v = loaded[i][key];
      if (!s || v === null || v === undefined) continue;
      if (v instanceof Tensor) push(s.name, v);
      else {
        push(`${s.name}.weight`, v.weight);
        if (v.bias) push(`${s.name}.bias`, v.bias);
      }
    }
  });
  return out;
}
