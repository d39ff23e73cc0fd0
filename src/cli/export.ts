// `shitate export`: the tuned model where people run models — a GGUF for llama.cpp / Ollama / LM Studio (the
// adapter merged first), a GGUF LoRA adapter, an Ollama Modelfile beside it, or a check that vLLM loads the
// adapter as it is, with the `vllm serve` line.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { exportGguf } from '../export/gguf-export.js';
import { LORA_QUANTS, exportGgufLora, type LoraQuant } from '../export/gguf-lora.js';
import { QUANTS, type Quant } from '../export/gguf-types.js';
import { runSystemPrompt, writeModelfile } from '../export/ollama.js';
import { checkVllmAdapter, vllmRankVerdict, vllmServeLine } from '../export/vllm-check.js';
import { loadGenerationConfig } from '../io/generation-config.js';
import { readJsonObject } from '../io/json-fields.js';
import { loadModelConfig } from '../models/index.js';
import { adapterTemplateVars } from '../generate/open.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';

const usage = `usage: shitate export --model DIR [--adapter DIR] --format gguf [--quant Q] --out FILE.gguf [--ollama] [--force]
       shitate export --model DIR --adapter DIR --format gguf-lora [--quant f32|f16|bf16] --out FILE.gguf [--ollama --base-gguf FILE]
       shitate export --check vllm --adapter DIR [--model DIR|NAME] [--max-lora-rank N] [--name NAME]

--format gguf       one GGUF file (v3) for llama.cpp, Ollama and LM Studio: the adapter is merged into the weights
                    first; tensors, hyper-parameters, tokenizer, special tokens and the model's chat template are
                    written as llama.cpp reads them. Families: llama, mistral, qwen2, qwen3, smollm3, granite,
                    gemma2, gemma3 (text), phi3.
  --quant Q         q4_k_m (default; q8_0 when the hidden size is not a multiple of 256), q8_0, f16, bf16, f32
--format gguf-lora  the adapter alone, for llama.cpp --lora or an Ollama ADAPTER line on a GGUF of the same base
--ollama            also write FILE.Modelfile (FROM, TEMPLATE converted from the chat template, stop tokens,
                    num_ctx, sampling, the run's system prompt) and print the \`ollama create\` command
  --num-ctx N       context size in the Modelfile (default: max_position_embeddings, at most 4096)
  --system TEXT     system prompt in the Modelfile (default: the one every training example of the run shared)
  --base-gguf FILE  gguf-lora --ollama: the base GGUF the adapter applies to (FROM)
--check vllm        whether vLLM loads the adapter (rank, plain LoRA, target modules, no embedding factors) and
                    the \`vllm serve\` line; --max-lora-rank N checks against your server's setting (default 16)
--force             replace an existing output file
`;

function choice<T extends string>(p: Parsed, flag: string, allowed: readonly T[], fallback: T | null): T | null {
  const v = flagStr(p, flag);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ShitateError('E_USAGE', `export: --${flag} must be one of ${allowed.join(', ')}, found "${v}"`, 'run `shitate export --help`');
  }
  return v as T;
}

function required(p: Parsed, flag: string, why: string): string {
  const v = flagStr(p, flag);
  if (!v) throw new ShitateError('E_USAGE', `export: --${flag} is required ${why}`, 'run `shitate export --help`');
  return v;
}

function positiveInt(p: Parsed, flag: string): number | null {
  const v = flagStr(p, flag);
  if (v === undefined) return null;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new ShitateError('E_USAGE', `export: --${flag} must be a positive integer, found "${v}"`, 'run `shitate export --help`');
  return Number(v);
}

function checkVllm(p: Parsed): number {
  const adapter = required(p, 'adapter', 'with --check vllm');
  const { rank, problems } = checkVllmAdapter(adapter);
  const { problem, note } = vllmRankVerdict(rank, positiveInt(p, 'max-lora-rank'));
  if (problem) problems.push(problem);
  const peft = readJsonObject(path.join(adapter, 'adapter_config.json'), 'an adapter folder holds adapter_config.json');
  const model = flagStr(p, 'model') ?? (typeof peft.base_model_name_or_path === 'string' ? peft.base_model_name_or_path : null);
  const name = flagStr(p, 'name') ?? (path.basename(path.resolve(adapter)) === 'adapter' ? path.basename(path.dirname(path.resolve(adapter))) : path.basename(path.resolve(adapter)));
  if (problems.length) {
    process.stdout.write(`vLLM will not load ${adapter}:\n${problems.map((x) => `  - ${x.message}\n    fix: ${x.hint}\n`).join('')}`);
    return 1;
  }
  process.stdout.write(`vLLM loads ${adapter} (LoRA rank ${rank}).\n`);
  if (note) process.stdout.write(`note: ${note}\n`);
  process.stdout.write(`${vllmServeLine(model ?? 'BASE_MODEL', name, path.resolve(adapter), rank)}\n`);
  if (!model) process.stdout.write('(the adapter does not name its base model: replace BASE_MODEL, or pass --model)\n');
  return 0;
}

function progress(): ((done: number, total: number, name: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, name) => process.stderr.write(`\r\x1b[K  ${done}/${total} ${name}${done === total ? '\n' : ''}`);
}

function defaultQuant(model: string): Quant {
  return loadModelConfig(model).hiddenSize % 256 === 0 ? 'q4_k_m' : 'q8_0';
}

function ollama(p: Parsed, model: string, adapter: string | null, gguf: string, addBos: boolean, adapterGguf: string | null): void {
  const tok = loadTokenizer(model);
  const c = loadModelConfig(model);
  const generation = loadGenerationConfig(model);
  const endIds = [...new Set([...generation.eosTokenIds, ...c.eosTokenIds, ...tok.eosTokenIds, ...endOfTurnIds(tok)])].filter((id) => id < c.vocabSize);
  const system = flagStr(p, 'system') ?? (adapter ? runSystemPrompt(adapter) : null);
  const r = writeModelfile({
    gguf, adapterGguf, tokenizer: tok, templateVars: (adapter ? adapterTemplateVars(adapter) : null) ?? {}, addBos, endIds,
    numCtx: positiveInt(p, 'num-ctx') ?? Math.min(c.maxPositions, 4096), system, generation,
  });
  if (r.templateProblem) process.stderr.write(`warning: no TEMPLATE in the Modelfile: ${r.templateProblem}\n`);
  process.stdout.write(`wrote ${r.file} (stop ${r.stops.map((s) => JSON.stringify(s)).join(', ')}${system ? ', with the system prompt' : ''})\n`);
  process.stdout.write(`run: ${r.createCommand} && ollama run ${r.name}\n`);
}

function ggufModel(p: Parsed, model: string, out: string): number {
  const adapter = flagStr(p, 'adapter') ?? null;
  const quant = choice(p, 'quant', QUANTS, null) ?? defaultQuant(model);
  const r = exportGguf({ model, adapter, quant, out, overwrite: flagBool(p, 'force'), progress: progress() });
  const merged = adapter ? `, ${r.mergedLayers} LoRA layers merged` : '';
  process.stdout.write(`wrote ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, ${r.arch}, ${quant}, ${r.tensors} tensors${merged})\n`);
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
  if (flagBool(p, 'ollama')) ollama(p, model, adapter, out, r.addBos, null);
  else process.stdout.write(`run: llama-cli -m ${out}   (or --ollama for an Ollama Modelfile)\n`);
  return 0;
}

function ggufLora(p: Parsed, model: string, out: string): number {
  const adapter = required(p, 'adapter', 'with --format gguf-lora');
  const quant = choice<LoraQuant>(p, 'quant', LORA_QUANTS, 'f32') ?? 'f32';
  const r = exportGgufLora({ model, adapter, out, quant, overwrite: flagBool(p, 'force') });
  process.stdout.write(`wrote ${r.file} (${r.arch} LoRA adapter, ${r.layers} layers, rank ${r.rank}, alpha ${r.alpha})\n`);
  if (flagBool(p, 'ollama')) {
    const base = required(p, 'base-gguf', 'with --format gguf-lora --ollama (the GGUF of the base model: shitate export --format gguf)');
    if (!fs.existsSync(base)) throw new ShitateError('E_NOT_FOUND', `expected the base GGUF ${base}, found nothing`, 'export the base first: shitate export --model DIR --format gguf --quant f16 --out BASE.gguf');
    const tok = loadTokenizer(model);
    ollama(p, model, adapter, base, tok.bosTokenId !== null && tok.encode('a')[0] === tok.bosTokenId, out);
  } else {
    process.stdout.write(`run: llama-cli -m BASE.gguf --lora ${out}   (BASE.gguf: shitate export --model ${model} --format gguf --quant f16)\n`);
  }
  return 0;
}

export const exportCommand: Command = {
  summary: 'export for llama.cpp / Ollama (GGUF, GGUF LoRA, Modelfile) or check an adapter for vLLM',
  async run(argv) {
    const p = parseFlags('export', argv, {
      model: { type: 'string' }, adapter: { type: 'string' }, format: { type: 'string' }, quant: { type: 'string' }, out: { type: 'string' },
      ollama: { type: 'boolean' }, 'num-ctx': { type: 'string' }, system: { type: 'string' }, 'base-gguf': { type: 'string' },
      check: { type: 'string' }, 'max-lora-rank': { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    if (flagStr(p, 'check') !== undefined) {
      choice(p, 'check', ['vllm'] as const, null);
      return checkVllm(p);
    }
    const format = choice(p, 'format', ['gguf', 'gguf-lora'] as const, null);
    if (!format) throw new ShitateError('E_USAGE', 'export: --format gguf, --format gguf-lora or --check vllm is required', 'run `shitate export --help`');
    const model = required(p, 'model', `with --format ${format}`);
    const out = required(p, 'out', `with --format ${format} (the .gguf file to write)`);
    return format === 'gguf' ? ggufModel(p, model, out) : ggufLora(p, model, out);
  },
};
