// Puts LoRA layers on a model's target linears (fresh, PEFT's init) or from a loaded adapter; the set
// is what the trainer optimises and what is saved.
import { Tensor } from '../tensor/index.js';
import { uniform } from '../kernels/rng.js';
import { currentName, findFamily, type CausalLM, type Linear } from '../models/index.js';
import { ShitateError } from '../errors.js';
import { LoraLayer } from './lora.js';
import { DEFAULT_LORA, isTarget, loraScaling, moduleLora, validateLora, type LoraConfig } from './config.js';
import { tokenModuleOf, type TokenMatrices, type TokenMatrixLora } from './token-matrices.js';

export interface HasLinears {
  linears(): Linear[];
}

export class LoraSet {
  readonly config: LoraConfig;
  /** by the target linear's HF name, in model order */
  readonly layers: Map<string, LoraLayer>;
  /** LoRA on the embedding and LM head (loaded adapters only): applied while attached, never trained */
  readonly tokens: TokenMatrixLora[] = [];

  constructor(config: LoraConfig, layers: Map<string, LoraLayer>) {
    this.config = config;
    this.layers = layers;
  }

  /** Applies token-matrix adapters to the model's embedding / LM head (detach() puts the originals back). */
  attachTokens(tokens: TokenMatrixLora[], m: TokenMatrices): void {
    for (const t of tokens) {
      t.apply(m);
      this.tokens.push(t);
    }
  }

  /** trainable tensors with their PEFT names, A before B, in model order */
  params(): { name: string; tensor: Tensor }[] {
    return [...this.layers.entries()].flatMap(([n, l]) => [
      { name: l.A.name ?? peftName(n, 'A'), tensor: l.A },
      { name: l.B.name ?? peftName(n, 'B'), tensor: l.B },
    ]);
  }

  setTraining(on: boolean, seed = 0): void {
    let i = 0;
    for (const l of this.layers.values()) {
      l.training = on;
      l.seed = (seed * 7919 + i++ * 104729) >>> 0;
    }
  }

  fuse(): void {
    for (const l of this.layers.values()) l.fuse();
  }

  unfuse(): void {
    for (const l of this.layers.values()) l.unfuse();
  }

  /** Removes the adapters from the model (fused weights are restored first, token matrices swapped back). */
  detach(): void {
    for (const l of this.layers.values()) {
      l.unfuse();
      if (l.target.adapter === l) l.target.adapter = null;
    }
    for (const t of this.tokens.splice(0).reverse()) t.restore();
  }
}

/** The module path PEFT gives a linear of this model (the family's peftRenames; most families: its own name). */
export function peftModuleNamer(model: HasLinears): (name: string) => string {
  const family = 'config' in model ? findFamily((model as HasLinears & Pick<CausalLM, 'config'>).config.modelType) : null;
  const renames = family?.peftRenames ?? [];
  return renames.length === 0 ? (n) => n : (n) => currentName(n, renames);
}

/** PEFT's on-disk tensor name for a linear layer's factor. */
export function peftName(linearName: string, factor: 'A' | 'B'): string {
  return `base_model.model.${linearName}.lora_${factor}.weight`;
}

/** The default targets name the seven Llama projections (q_proj ... down_proj). A model whose projections are fused
 *  or named otherwise (Phi-3's qkv_proj and gate_up_proj; Falcon's and BLOOM's query_key_value, dense,
 *  dense_h_to_4h, dense_4h_to_h) would match some of them or none, and a hybrid model has the seven in its attention
 *  layers only (Qwen3.5's linear-attention in_proj_qkv ... out_proj beside them), so there the default means every
 *  projection of the model: its linear layers, listed by name as PEFT writes a resolved all-linear. Other lists stay
 *  as given. */
export function resolveTargets(model: HasLinears, targets: LoraConfig['targetModules']): LoraConfig['targetModules'] {
  if (targets === 'all-linear') return targets;
  const defaults = DEFAULT_LORA.targetModules === 'all-linear' ? [] : DEFAULT_LORA.targetModules;
  if (targets.length !== defaults.length || !defaults.every((t) => targets.includes(t))) return targets;
  const names = [...new Set(model.linears().map((l) => l.name.split('.').pop() ?? l.name))];
  return targets.every((t) => names.includes(t)) && names.every((n) => targets.includes(n)) ? targets : names;
}

/** Fresh adapters: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform with a=sqrt(5)), B = 0, so the
 *  adapted model starts equal to the base. The default targets resolve per model (resolveTargets). */
export function attachLora(model: HasLinears, given: LoraConfig, seed = 0): LoraSet {
  validateLora(given);
  const config = { ...given, targetModules: resolveTargets(model, given.targetModules) };
  const tokenTargets = config.targetModules === 'all-linear' ? [] : config.targetModules.filter((t) => tokenModuleOf(t) !== null);
  if (tokenTargets.length > 0) {
    throw new ShitateError('E_CONFIG', `lora: target_modules ${JSON.stringify(tokenTargets)}: this engine does not train LoRA on the embedding or the LM head`,
      'leave them out (the projections q_proj ... down_proj carry the tuning); adapters with them that were trained in PEFT still load for chat, eval and merge');
  }
  const layers = new Map<string, LoraLayer>();
  const peftPath = peftModuleNamer(model);
  let k = 0;
  for (const lin of model.linears()) {
    if (!isTarget(lin.name, config.targetModules)) continue;
    const [out, inp] = lin.weight.shape;
    const { r, alpha } = moduleLora(config, peftPath(lin.name));
    const bound = 1 / Math.sqrt(inp);
    const a = new Float32Array(r * inp);
    const s = (seed * 1000003 + k++ * 2654435761) >>> 0;
    for (let i = 0; i < a.length; i++) a[i] = (2 * uniform(s, i) - 1) * bound;
    layers.set(lin.name, makeLayer(lin, Tensor.from(a, [r, inp], true), Tensor.zeros([out, r], true), { ...config, r, alpha }, peftPath));
  }
  if (layers.size === 0) {
    const names = [...new Set(model.linears().map((l) => l.name.split('.').pop()))].join(', ');
    throw new ShitateError('E_CONFIG', `lora: target_modules ${JSON.stringify(config.targetModules)} match no linear layer of this model`,
      `this model's linear layers are: ${names} (or use "all-linear")`);
  }
  return new LoraSet(config, layers);
}

/** Attaches given A/B tensors (from a PEFT file) to the named linears. */
export function attachLoraWeights(model: HasLinears, config: LoraConfig, factors: Map<string, { A: Tensor; B: Tensor }>): LoraSet {
  validateLora(config);
  const byName = new Map(model.linears().map((l) => [l.name, l]));
  // every factor is checked before any is attached, so a refused adapter leaves the model as it was
  const targets = [...factors].map(([name, f]) => {
    const lin = byName.get(name);
    if (!lin) throw unknownModule(name, model);
    const [out, inp] = lin.weight.shape;
    if (f.A.shape[1] !== inp || f.B.shape[0] !== out || f.A.shape[0] !== f.B.shape[1]) {
      throw new ShitateError('E_ADAPTER', `adapter for "${name}": lora_A [${f.A.shape}] and lora_B [${f.B.shape}] do not fit a [${out}, ${inp}] layer`,
        'the adapter was trained on a different base model (another size); pass the base it was trained on');
    }
    if (lin.adapter) throw new ShitateError('E_ADAPTER', `${lin.name} already has an adapter`, 'detach the current adapter before attaching another');
    return { name, lin, f };
  });
  const layers = new Map<string, LoraLayer>();
  const peftPath = peftModuleNamer(model);
  for (const { name, lin, f } of targets) {
    layers.set(name, makeLayer(lin, f.A, f.B, { ...config, r: f.A.shape[0], alpha: moduleLora(config, peftPath(name)).alpha }, peftPath));
  }
  return new LoraSet(config, layers);
}

/** Says exactly why an adapter module is not here: a layer past this model's depth, or a module it lacks. */
function unknownModule(name: string, model: HasLinears): ShitateError {
  const names = model.linears().map((l) => l.name);
  const layers = new Set(names.map((n) => /\.layers\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined)).size;
  const at = /\.layers\.(\d+)\./.exec(name);
  if (at && Number(at[1]) >= layers) {
    return new ShitateError('E_ADAPTER', `adapter has weights for "${name}", but this model has ${layers} layers (0-${layers - 1})`,
      'the adapter was trained on a deeper base model; pass the base it was trained on');
  }
  const kinds = [...new Set(names.map((n) => n.split('.').pop()))].join(', ');
  return new ShitateError('E_ADAPTER', `adapter has LoRA weights for "${name}", which is not a layer of this model: LoRA loads here on ${kinds}, lm_head and embed_tokens`,
    'the adapter was made for another architecture or module naming; load it on the model it was trained for');
}

function makeLayer(lin: Linear, A: Tensor, B: Tensor, c: LoraConfig, peftPath: (name: string) => string): LoraLayer {
  if (lin.adapter) {
    throw new ShitateError('E_ADAPTER', `${lin.name} already has an adapter`, 'detach the current adapter before attaching another');
  }
  A.name = peftName(peftPath(lin.name), 'A');
  B.name = peftName(peftPath(lin.name), 'B');
  const layer = new LoraLayer(lin, A, B, loraScaling(c), c.dropout);
  lin.adapter = layer;
  return layer;
}
