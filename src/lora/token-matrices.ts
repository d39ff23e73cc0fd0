// LoRA on the token matrices, for inference and merging: the embedding (PEFT's lora.Embedding, factors
// lora_embedding_A [R, V] and lora_embedding_B [C, R]) and the LM head (a lora.Linear, lora_A [R, C] and
// lora_B [V, R]). The adapted matrix — E + s (B A)^T for the embedding, W + s B A for the head — is computed
// once and swapped in for the model's own, which is put back untouched on detach. A tied model gets two
// separate matrices, as PEFT's two independent adapters compute (peft/tuners/lora/layer.py).
import { Tensor, matmul, noGrad } from '../tensor/index.js';
import { kernels } from '../kernels/index.js';
import { ShitateError } from '../errors.js';
import type { NamedTensor } from '../models/index.js';

/** The two matrices a decoder's forward pass reads (DecoderModel.weights): [V, C] each, one Tensor when tied. */
export interface TokenMatrices {
  embed: Tensor;
  lmHead: Tensor;
}

export interface HasTokenMatrices {
  weights: TokenMatrices;
}

export function hasTokenMatrices(model: object): model is HasTokenMatrices {
  const w = (model as { weights?: unknown }).weights;
  return typeof w === 'object' && w !== null && (w as TokenMatrices).embed instanceof Tensor && (w as TokenMatrices).lmHead instanceof Tensor;
}

export type TokenModule = 'embed_tokens' | 'lm_head';

/** Which token matrix an adapter module path names ("model.embed_tokens", "lm_head"), or null. */
export function tokenModuleOf(name: string): TokenModule | null {
  if (name === 'lm_head' || name.endsWith('.lm_head')) return 'lm_head';
  return name === 'embed_tokens' || name.endsWith('.embed_tokens') ? 'embed_tokens' : null;
}

/** One token matrix's adapter: its factors, and the adapter's own copy of the base layer when it carries one. */
export class TokenMatrixLora {
  private original: Tensor | null = null;
  private target: TokenMatrices | null = null;

  constructor(readonly name: string, readonly module: TokenModule, readonly A: Tensor, readonly B: Tensor, readonly scaling: number,
    readonly baseCopy: Tensor | null) {}

  private get key(): keyof TokenMatrices {
    return this.module === 'embed_tokens' ? 'embed' : 'lmHead';
  }

  /** Checks the factors against the model's [V, C] matrix. */
  check(m: TokenMatrices): void {
    const [V, C] = m[this.key].shape;
    const R = this.A.shape[0];
    const [wantA, wantB] = this.module === 'embed_tokens' ? [[R, V], [C, R]] : [[R, C], [V, R]];
    const fits = (t: Tensor, want: number[]) => t.shape.length === 2 && t.shape[0] === want[0] && t.shape[1] === want[1];
    if (!fits(this.A, wantA) || !fits(this.B, wantB) || (this.baseCopy && !fits(this.baseCopy, [V, C]))) {
      const base = this.baseCopy ? `, base_layer [${this.baseCopy.shape}]` : '';
      throw new ShitateError('E_ADAPTER', `adapter for "${this.name}": factors [${this.A.shape}] and [${this.B.shape}]${base} do not fit this model's [${V}, ${C}] ${this.module}`,
        V !== (this.baseCopy?.shape[0] ?? V) ? 'the adapter was trained with a resized vocabulary (added tokens), which shitate does not load; merge it in PEFT and load the merged model'
          : 'the adapter was trained on a different base model (another size or vocabulary); pass the base it was trained on');
    }
  }

  /** Swaps the adapted matrix in; the model's own matrix is kept for restore(). */
  apply(m: TokenMatrices): void {
    if (this.original) return;
    this.check(m);
    const own = m[this.key];
    const base = this.baseCopy ?? own;
    const [V, C] = own.shape;
    const out = new Float32Array(base.data);
    noGrad(() => {
      const delta = matmul(this.B, this.A); // embedding: [C, V]; head: [V, C]
      if (this.module === 'lm_head') {
        kernels().axpy(out, delta.data, this.scaling, delta.size);
        return;
      }
      const d = delta.data;
      for (let v = 0; v < V; v++) for (let c = 0; c < C; c++) out[v * C + c] += this.scaling * d[c * V + v];
    });
    this.original = own;
    this.target = m;
    m[this.key] = Tensor.from(out, [V, C]);
  }

  /** Puts the model's own matrix back (exactly: it was never written to). */
  restore(): void {
    if (!this.original || !this.target) return;
    this.target[this.key] = this.original;
    this.original = null;
    this.target = null;
  }

  /** The adapted matrix while applied. */
  get adapted(): Tensor | null {
    return this.original && this.target ? this.target[this.key] : null;
  }

  /** Whether the adapter's copy of the base layer differs from the model's own matrix (largest |difference|). */
  baseCopyDiffers(m: TokenMatrices): number {
    const own = this.original ?? m[this.key];
    if (!this.baseCopy) return 0;
    let worst = 0;
    for (let i = 0; i < own.data.length; i++) worst = Math.max(worst, Math.abs(own.data[i] - this.baseCopy.data[i]));
    return worst;
  }
}

/** A model's weights by HF name for writing a merged folder, with the adapted token matrices in place of its
 *  own. `untied`: a tied model whose embedding and head now differ, so the folder needs its own lm_head.weight
 *  and tie_word_embeddings false. */
export function mergedWeights(named: NamedTensor[], model: object, adapted: boolean): { weights: NamedTensor[]; untied: boolean } {
  if (!adapted || !hasTokenMatrices(model)) return { weights: named, untied: false };
  const m = model.weights;
  const weights = named.map((n) => (tokenModuleOf(n.name.replace(/\.weight$/, '')) === 'embed_tokens' ? { name: n.name, tensor: m.embed }
    : n.name === 'lm_head.weight' ? { name: n.name, tensor: m.lmHead } : n));
  const untied = !weights.some((n) => n.name === 'lm_head.weight') && m.lmHead !== m.embed;
  if (untied) weights.push({ name: 'lm_head.weight', tensor: m.lmHead });
  return { weights, untied };
}
