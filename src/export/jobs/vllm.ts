// The `vllm` bundle: a launch script serving the base model with every adapter of a project as --lora-modules,
// the chat template shitate trained with, and copies of the adapters, each checked against vLLM's rules first
// (vllm-check.ts). The OpenAI-compatible API it starts answers the same requests as `shitate serve`.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../../errors.js';
import { loadModelConfig } from '../../models/index.js';
import { FALLBACK_CHAT_TEMPLATE, loadTokenizer } from '../../tokenizer/index.js';
import { checkVllmAdapter, vllmMaxLoraRank } from '../vllm-check.js';

export interface AdapterRef {
  name: string;
  dir: string;
}

export interface VllmOptions {
  model: string;
  remoteModel?: string | null;
  adapters: AdapterRef[];
  /** tensor-parallel GPUs */
  gpus: number;
  port: number;
  now?: Date;
}

/** Every adapter of a project folder: RUN/adapter (shitate runs) or a folder holding adapter_config.json. */
export function projectAdapters(root: string): AdapterRef[] {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new ShitateError('E_NOT_FOUND', `expected a folder of runs at ${root}, found none`, 'pass --runs DIR (e.g. runs/) or --adapter NAME=DIR');
  }
  const out: AdapterRef[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    for (const dir of [path.join(root, name, 'adapter'), path.join(root, name)]) {
      if (fs.existsSync(path.join(dir, 'adapter_config.json'))) {
        out.push({ name, dir });
        break;
      }
    }
  }
  return out;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The largest rank among the adapters; throws naming every adapter vLLM would refuse. */
function checkedAdapters(adapters: AdapterRef[]): number {
  if (adapters.length === 0) {
    throw new ShitateError('E_USAGE', 'export-job --engine vllm: expected at least one adapter, found none', 'pass --adapter NAME=DIR (repeatable) or --runs DIR');
  }
  const seen = new Set<string>();
  let rank = 1;
  const failures: string[] = [];
  for (const a of adapters) {
    if (!NAME.test(a.name) || seen.has(a.name)) {
      throw new ShitateError('E_USAGE', `adapter name "${a.name}": expected a unique name of letters, digits, ".", "_" or "-"`, 'name it with --adapter NAME=DIR');
    }
    seen.add(a.name);
    const r = checkVllmAdapter(a.dir);
    rank = Math.max(rank, r.rank ?? 1);
    for (const p of r.problems) failures.push(`${a.name} (${a.dir}): ${p.message}; ${p.hint}`);
  }
  if (failures.length) {
    throw new ShitateError('E_ADAPTER', `vLLM cannot serve ${failures.length === 1 ? 'this adapter' : 'these adapters'}:\n  ${failures.join('\n  ')}`,
      'fix or leave out the adapters listed, or merge one into the base model with `shitate merge` and serve that');
  }
  return rank;
}

function serveScript(o: VllmOptions, remote: string, baseName: string, maxRank: number, maxLen: number): string {
  const modules = o.adapters.map((a) => `${a.name}=adapters/${a.name}`).join(' ');
  return [
    '#!/usr/bin/env sh',
    `# Serves ${baseName} with ${o.adapters.length} LoRA adapter(s) through vLLM's OpenAI-compatible API (written by shitate export-job).`,
    '# A request picks an adapter by its "model" field; MODEL=... overrides where the base model is read from.',
    'set -e',
    'cd "$(dirname "$0")"',
    `MODEL="\${MODEL:-${remote}}"`,
    'exec vllm serve "$MODEL" \\',
    `  --served-model-name ${baseName} \\`,
    '  --enable-lora \\',
    `  --max-lora-rank ${maxRank} \\`,
    `  --max-loras ${Math.min(o.adapters.length, 8)} \\`,
    `  --lora-modules ${modules} \\`,
    '  --chat-template ./chat_template.jinja \\',
    `  --max-model-len ${maxLen} \\`,
    ...(o.gpus > 1 ? [`  --tensor-parallel-size ${o.gpus} \\`] : []),
    `  --port ${o.port} "$@"`,
    '',
  ].join('\n');
}

/** The bundle's files: serve.sh, chat_template.jinja, adapters/NAME/..., job.json, README.md */
export function buildVllmBundle(o: VllmOptions): { files: Record<string, string | Uint8Array>; modes: Record<string, number> } {
  const mc = loadModelConfig(o.model);
  const tok = loadTokenizer(o.model);
  const rank = checkedAdapters(o.adapters);
  const maxRank = vllmMaxLoraRank(rank)!;
  const template = tok.chatTemplate ?? FALLBACK_CHAT_TEMPLATE;
  const remote = o.remoteModel ?? path.resolve(o.model);
  const baseName = path.basename(path.resolve(o.model));
  const notes: string[] = [];
  const files: Record<string, string | Uint8Array> = { 'chat_template.jinja': template };
  for (const a of o.adapters) {
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) files[`adapters/${a.name}/${f}`] = fs.readFileSync(path.join(a.dir, f));
    const own = path.join(a.dir, 'chat_template.jinja');
    if (fs.existsSync(own) && fs.readFileSync(own, 'utf8') !== template) notes.push(`${a.name} was trained with a chat template other than the model's; vLLM serves every adapter with the model's`);
  }
  files['serve.sh'] = serveScript(o, remote, baseName, maxRank, mc.maxPositions);
  files['job.json'] = JSON.stringify({
    format: 'shitate-job', version: 1, engine: 'vllm', created_at: (o.now ?? new Date()).toISOString(),
    model: { local: path.resolve(o.model), remote, modelType: mc.modelType }, adapters: o.adapters.map((a) => ({ name: a.name, source: path.resolve(a.dir) })),
    max_lora_rank: maxRank, notes,
  }, null, 2) + '\n';
  files['README.md'] = [
    `# shitate job: serve ${baseName} and ${o.adapters.length} adapter(s) with vLLM`, '',
    '```sh', 'pip install vllm', './serve.sh', '```', '',
    `The API listens on port ${o.port} (\`/v1/chat/completions\`, \`/v1/completions\`, \`/v1/models\`). The "model" field picks ` +
      `\`${baseName}\` (the base) or an adapter: ${o.adapters.map((a) => `\`${a.name}\``).join(', ')}. Chats are rendered with ` +
      '`chat_template.jinja`, the template the adapters were trained with; sampling defaults follow the model\'s generation_config.json.', '',
    `Every adapter passed vLLM's checks (rank at most --max-lora-rank ${maxRank}, plain LoRA, projections only, safetensors).`,
    ...notes.map((n) => `- ${n}`), '',
  ].join('\n');
  return { files, modes: { 'serve.sh': 0o755 } };
}
