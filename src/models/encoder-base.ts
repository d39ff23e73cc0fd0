// What every encoder model shares beside its forward: the parameter table and loaded weights (linears and named
// weights from them, plus the head's), the classification head, and dropout switched on with a seed in training.
import { type Tensor, dropout } from '../tensor/index.js';
import { ShitateError } from '../errors.js';
import type { Linear } from './linear.js';
import { linearsOf, namedWeightsOf, type LoadedTable, type ParamTable } from './params.js';
import type { LoadedHead } from './encoder-family.js';
import type { EncoderConfig, EncoderInput, EncoderModel, HeadPart } from './encoder-types.js';
import type { NamedTensor } from './types.js';

/** The head's linears that LoRA may target: those of frozen pretrained parts (a pooler), never a trained part. */
export function headLinears(head: LoadedHead | null): Linear[] {
  if (!head) return [];
  const trained = new Set(head.parts.filter((p) => p.trained).flatMap((p) => p.weights.map((w) => w.tensor)));
  return Object.values(head.slots).filter((v): v is Linear => v !== null && 'weight' in v && !trained.has(v.weight));
}

export abstract class EncoderBase<T extends ParamTable> implements EncoderModel {
  private seed: number | null = null;
  private drops = 0;

  constructor(readonly config: EncoderConfig, protected readonly table: T, protected readonly w: LoadedTable<T>, protected readonly loadedHead: LoadedHead | null) {}

  abstract encode(input: EncoderInput): Tensor;
  abstract classify(input: EncoderInput): Tensor;

  get head(): HeadPart[] | null {
    return this.loadedHead?.parts ?? null;
  }

  get numLabels(): number {
    return this.loadedHead?.numLabels ?? 0;
  }

  /** the loaded head, or an error saying the model has none */
  protected requireHead(): LoadedHead {
    if (this.loadedHead) return this.loadedHead;
    throw new ShitateError('E_NO_HEAD', `${this.config.modelType}: expected a model loaded with a classification head, found none`, 'load it with numLabels, or with head: true for a fine-tuned classifier');
  }

  setTraining(on: boolean, seed: number): void {
    this.seed = on ? seed >>> 0 : null;
    this.drops = 0;
  }

  /** dropout while training, with a fresh seed per call site and step */
  protected drop(x: Tensor, p: number): Tensor {
    return this.seed === null || p === 0 ? x : dropout(x, p, (this.seed * 2654435761 + ++this.drops * 40503) >>> 0);
  }

  linears(): Linear[] {
    return [...linearsOf(this.w), ...headLinears(this.loadedHead)];
  }

  namedWeights(): NamedTensor[] {
    return [...namedWeightsOf(this.table, this.w), ...(this.loadedHead?.parts.flatMap((p) => p.weights) ?? [])];
  }
}
