// What vLLM accepts as a LoRA adapter (vllm/config/lora.py, vllm/lora/peft_helper.py, vllm/lora/lora_model.py):
// the rank at most --max-lora-rank from a fixed set, plain LoRA (no DoRA, no modules_to_save, no bias, no
// per-module rank or alpha patterns), only the projections of the decoder blocks, no embedding or LM head
// factors, safetensors weights. One place for these rules: the vLLM job bundle and `export --check vllm`.
import fs from 'node:fs';
import path from 'node:path';
import { openSafetensors } from '../io/safetensors.js';
import { readJsonObject, type Json } from '../io/json-fields.js';

/** --max-lora-rank must be one of these (vLLM's MaxLoRARanks); an adapter's r may be anything up to it */
export const VLLM_MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** Module names vLLM applies LoRA to in dense decoder models (its fused qkv_proj and gate_up_proj stand for
 *  q/k/v and gate/up; Phi-3-style checkpoints name them so themselves). */
export const VLLM_TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'qkv_proj', 'gate_up_proj'] as const;

export interface VllmProblem {
  /** short id for tests and scripts: rank, dora, modules_to_save, bias, pattern, embedding, module, peft_type, weights */
  rule: string;
  message: string;
  hint: string;
}

/** The smallest allowed --max-lora-rank that holds rank r, or null when r is above vLLM's largest. */
export function vllmMaxLoraRank(r: number): number | null {
  return VLLM_MAX_LORA_RANKS.find((m) => m >= r) ?? null;
}

/** The module a LoRA tensor belongs to: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" -> q_proj */
export function loraTensorModule(name: string): string | null {
  const m = /\.([A-Za-z0-9_]+)\.(?:lora_(?:A|B|embedding_A|embedding_B|magnitude_vector)|lora_[a-z_]+)(?:\.[A-Za-z0-9_-]+)?(?:\.weight)?$/.exec(name);
  return m ? m[1] : null;
}

const isEmbeddingTensor = (name: string): boolean =>
  /lora_embedding_[AB]|(?:^|\.)(?:embed_tokens|lm_head|wte|word_embeddings)(?:\.|$)|trainable_tokens/.test(name);

const nonEmpty = (v: unknown): boolean =>
  (Array.isArray(v) && v.length > 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0);

/** Problems of an adapter for vLLM, from its adapter_config.json and the names of its weight tensors. */
export function vllmAdapterProblems(config: Json, tensorNames: readonly string[]): VllmProblem[] {
  const out: VllmProblem[] = [];
  const add = (rule: string, message: string, hint: string) => out.push({ rule, message, hint });
  if (config.peft_type !== undefined && config.peft_type !== 'LORA') {
    add('peft_type', `peft_type ${JSON.stringify(config.peft_type)}: vLLM serves LoRA adapters only`, 'train a LoRA adapter (peft_type "LORA")');
  }
  const r = config.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) add('rank', `r ${JSON.stringify(r)}: expected a positive integer rank`, 'the adapter_config.json is damaged; save the adapter again');
  else if (vllmMaxLoraRank(r) === null) add('rank', `r ${r} is above vLLM's largest --max-lora-rank (${VLLM_MAX_LORA_RANKS[VLLM_MAX_LORA_RANKS.length - 1]})`, 'train with a smaller rank, or merge the adapter into the base weights (`shitate merge`)');
  if (config.use_dora === true) add('dora', 'use_dora is true: vLLM does not serve DoRA adapters', 'train plain LoRA, or merge the adapter (`shitate merge`) and serve the merged model');
  if (nonEmpty(config.modules_to_save)) add('modules_to_save', `modules_to_save ${JSON.stringify(config.modules_to_save)}: vLLM requires none`, 'train without modules_to_save (no fully trained embedding or head), or merge the adapter');
  if (config.bias !== undefined && config.bias !== 'none') add('bias', `bias ${JSON.stringify(config.bias)}: vLLM serves adapters without bias terms`, 'train with bias "none"');
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    if (nonEmpty(config[k])) add('pattern', `${k} ${JSON.stringify(config[k])}: vLLM ignores per-module ranks and alphas, so the adapter would be scaled wrongly`, 'train one rank and alpha for every module');
  }
  const embeddings = tensorNames.filter(isEmbeddingTensor);
  if (embeddings.length) add('embedding', `${embeddings.length} embedding or LM head tensor(s) (${embeddings[0]}): vLLM no longer loads adapters for them`, 'train LoRA on the block projections only (not embed_tokens or lm_head), or merge the adapter');
  const unknown = new Set<string>();
  for (const n of tensorNames) {
    if (isEmbeddingTensor(n)) continue;
    const mod = loraTensorModule(n);
    if (mod === null || !(VLLM_TARGET_MODULES as readonly string[]).includes(mod)) unknown.add(mod ?? n);
  }
  if (unknown.size) add('module', `LoRA on ${[...unknown].slice(0, 5).join(', ')}: vLLM adapts only ${VLLM_TARGET_MODULES.slice(0, 7).join(', ')}`, 'target the attention and MLP projections only, or merge the adapter');
  return out;
}

/** Reads an adapter folder and lists its problems for vLLM (a missing or pickle-only weight file is one). */
export function checkVllmAdapter(dir: string): { rank: number | null; problems: VllmProblem[] } {
  const config = readJsonObject(path.join(dir, 'adapter_config.json'), 'an adapter folder holds adapter_config.json and adapter_model.safetensors');
  const weights = path.join(dir, 'adapter_model.safetensors');
  if (!fs.existsSync(weights)) {
    const problems = vllmAdapterProblems(config, []);
    problems.push({ rule: 'weights', message: `${weights} is missing`, hint: 'save the adapter as safetensors (PEFT save_pretrained with safe_serialization=True)' });
    return { rank: typeof config.r === 'number' ? config.r : null, problems };
  }
  const st = openSafetensors(weights);
  try {
    return { rank: typeof config.r === 'number' ? config.r : null, problems: vllmAdapterProblems(config, [...st.header.keys()]) };
  } finally {
    st.close();
  }
}

/** vLLM's --max-lora-rank when the server is started without it (vllm/config/lora.py). */
export const VLLM_DEFAULT_MAX_LORA_RANK = 16;

/** The adapter against a server's --max-lora-rank: told (`maxLoraRank`), or vLLM's default, which the serve
 *  line can raise (a note, not a problem). */
export function vllmRankVerdict(rank: number | null, maxLoraRank: number | null): { problem: VllmProblem | null; note: string | null } {
  if (rank === null || vllmMaxLoraRank(rank) === null) return { problem: null, note: null };
  if (maxLoraRank !== null && rank > maxLoraRank) {
    return {
      problem: { rule: 'max_rank', message: `r ${rank} is above the server's --max-lora-rank ${maxLoraRank}`, hint: `start vLLM with --max-lora-rank ${vllmMaxLoraRank(rank)}` },
      note: null,
    };
  }
  if (maxLoraRank === null && rank > VLLM_DEFAULT_MAX_LORA_RANK) {
    return { problem: null, note: `r ${rank} is above vLLM's default --max-lora-rank ${VLLM_DEFAULT_MAX_LORA_RANK}: start it with --max-lora-rank ${vllmMaxLoraRank(rank)} (the command below does)` };
  }
  return { problem: null, note: null };
}

/** The `vllm serve` line that loads the adapter. */
export function vllmServeLine(model: string, name: string, adapterDir: string, rank: number | null): string {
  const q = (s: string) => (/^[A-Za-z0-9_./:=@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const maxRank = Math.max(VLLM_DEFAULT_MAX_LORA_RANK, vllmMaxLoraRank(rank ?? 1) ?? VLLM_DEFAULT_MAX_LORA_RANK);
  return `vllm serve ${q(model)} --enable-lora --lora-modules ${q(`${name}=${adapterDir}`)} --max-lora-rank ${maxRank}`;
}

/** What `shitate train` says at start when its LoRA settings will make an adapter vLLM cannot load as it is. */
export function vllmTrainNotes(c: { method: string; loraR: number; loraAlpha: number; targetModules: readonly string[] | 'all-linear'; useRslora: boolean }): string[] {
  if (c.method !== 'lora') return [];
  const targets = c.targetModules === 'all-linear' || (c.targetModules.length === 1 && c.targetModules[0] === 'all-linear') ? [] : c.targetModules;
  // the tensor names PEFT will save for these targets, for the same rules an adapter on disk is checked by
  const names = targets.flatMap((m) => [`base_model.model.model.layers.0.${m}.lora_A.weight`, `base_model.model.model.layers.0.${m}.lora_B.weight`]);
  const config: Json = { peft_type: 'LORA', r: c.loraR, lora_alpha: c.loraAlpha, use_rslora: c.useRslora, bias: 'none' };
  const out = vllmAdapterProblems(config, names).map((p) => `vLLM will not load this adapter: ${p.message} (${p.hint})`);
  const rank = vllmRankVerdict(c.loraR, null).note;
  if (rank) out.push(`for vLLM: ${rank.replace(' (the command below does)', '')}`);
  return out;
}
