// Finds what a GPU run left behind: the job bundle (job.json), the adapter (hf: output/adapter; Axolotl and
// LLaMA-Factory: the output folder itself, else the best or newest checkpoint-N), and its training log
// (trainer_state.json beside the adapter, in the output folder or the newest checkpoint; LLaMA-Factory's
// trainer_log.jsonl). Checks the adapter is plain PEFT LoRA that shitate loads, with shapes that fit the model.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../../errors.js';
import { readJsonObject } from '../../io/json-fields.js';
import { openSafetensors } from '../../io/safetensors.js';
import { parsePeftConfig } from '../../lora/peft.js';
import type { LoraConfig } from '../../lora/config.js';
import type { ModelShape } from '../../train/estimate.js';
import { readTrainerLog, readTrainerState, type ImportedLog } from './import-logs.js';
import type { JobFile } from './types.js';

export interface Located {
  job: JobFile | null;
  jobDir: string | null;
  /** the folder the engine wrote (JOB/output, or the adapter's own folder) */
  outputDir: string;
  adapterDir: string;
  log: ImportedLog | null;
  notes: string[];
}

const has = (dir: string, file: string) => fs.existsSync(path.join(dir, file));

function checkpoints(dir: string): { dir: string; step: number }[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((n) => ({ n, m: /^checkpoint-(\d+)$/.exec(n) })).filter((x) => x.m !== null)
    .map((x) => ({ dir: path.join(dir, x.n), step: Number(x.m![1]) })).sort((a, b) => b.step - a.step);
}

function findLog(dirs: string[], output: string): ImportedLog | null {
  for (const d of dirs) if (has(d, 'trainer_state.json')) return readTrainerState(path.join(d, 'trainer_state.json'));
  const ck = checkpoints(output).find((c) => has(c.dir, 'trainer_state.json'));
  if (ck) return readTrainerState(path.join(ck.dir, 'trainer_state.json'));
  if (has(output, 'trainer_log.jsonl')) return readTrainerLog(path.join(output, 'trainer_log.jsonl'));
  return null;
}

function findAdapter(output: string, log: ImportedLog | null, notes: string[]): string | null {
  for (const d of [path.join(output, 'adapter'), output]) if (has(d, 'adapter_config.json')) return d;
  const cks = checkpoints(output).filter((c) => has(c.dir, 'adapter_config.json'));
  const best = log?.bestStep !== null && log?.bestStep !== undefined ? cks.find((c) => c.step === log.bestStep) : undefined;
  const pick = best ?? cks[0];
  if (pick) notes.push(`no final adapter in ${output}: took ${path.basename(pick.dir)} (${best ? 'the best validation loss' : 'the newest checkpoint'})`);
  return pick?.dir ?? null;
}

/** Reads the job folder, engine output folder or adapter folder `source`. */
export function locateRun(source: string): Located {
  const abs = path.resolve(source);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new ShitateError('E_NOT_FOUND', `expected a job folder or an adapter folder at ${source}, found ${fs.existsSync(abs) ? 'a file' : 'nothing'}`,
      'pass the folder `shitate export-job` wrote (with output/ copied back), or the folder holding adapter_config.json');
  }
  const notes: string[] = [];
  const job = has(abs, 'job.json') ? (readJsonObject(path.join(abs, 'job.json'), 'job.json is written by shitate export-job') as unknown as JobFile) : null;
  if (job && job.format !== 'shitate-job') throw new ShitateError('E_IMPORT', `${abs}/job.json: expected a shitate job, found format ${JSON.stringify(job.format)}`, 'pass the folder export-job wrote');
  const outputDir = job ? path.join(abs, 'output') : has(abs, 'adapter_config.json') ? abs : abs;
  const preLog = findLog(job ? [path.join(outputDir, 'adapter'), outputDir] : [abs, path.dirname(abs)], outputDir);
  const adapterDir = job || !has(abs, 'adapter_config.json') ? findAdapter(outputDir, preLog, notes) : abs;
  if (!adapterDir) {
    throw new ShitateError('E_NOT_FOUND', `expected an adapter (adapter_config.json) in ${outputDir}, found none`,
      job ? 'run the job to the end on the GPU machine and copy its output/ folder back into the job folder' : 'pass the folder that holds adapter_config.json and adapter_model.safetensors');
  }
  const log = preLog ?? findLog([adapterDir, path.dirname(adapterDir)], outputDir);
  if (!log) notes.push('no training log (trainer_state.json or trainer_log.jsonl) was found: metrics.jsonl and loss.svg stay empty');
  return { job, jobDir: job ? abs : null, outputDir, adapterDir, log, notes };
}

/** [in, out] of a decoder linear by its PEFT module name, for shape checks */
function linearDims(mod: string, s: Omit<ModelShape, 'counts'>): [number, number] | null {
  const HD = s.H * s.D;
  const KD = s.Hkv * s.D;
  const dims: Record<string, [number, number]> = {
    q_proj: [s.C, HD], k_proj: [s.C, KD], v_proj: [s.C, KD], o_proj: [HD, s.C], gate_proj: [s.C, s.F], up_proj: [s.C, s.F], down_proj: [s.F, s.C],
  };
  return dims[mod] ?? null;
}

/** The adapter's LoRA settings; refuses what eval, serve and merge could not load (pickle weights, DoRA,
 *  modules_to_save, factors that are not LoRA, shapes that do not fit the model). */
export function checkAdapter(dir: string, shape: Omit<ModelShape, 'counts'> | null): LoraConfig {
  const cfgFile = path.join(dir, 'adapter_config.json');
  const config = parsePeftConfig(readJsonObject(cfgFile, 'an adapter folder holds adapter_config.json and adapter_model.safetensors'), cfgFile);
  const wFile = path.join(dir, 'adapter_model.safetensors');
  if (!fs.existsSync(wFile)) {
    throw new ShitateError('E_NOT_FOUND', `expected ${wFile}, found ${has(dir, 'adapter_model.bin') ? 'only adapter_model.bin (pickle)' : 'nothing'}`,
      'save the adapter as safetensors on the GPU machine (PEFT save_pretrained(..., safe_serialization=True); the engines do by default)');
  }
  const st = openSafetensors(wFile);
  try {
    for (const [name, info] of st.header) {
      const m = /^base_model\.model\.(?:.*\.)?layers\.(\d+)\.[a-z_]+\.([a-z_]+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(name);
      if (!/\.lora_[AB](?:\.[A-Za-z0-9_-]+)?\.weight$/.test(name)) {
        throw new ShitateError('E_ADAPTER', `${wFile}: tensor "${name}" is not a LoRA factor`, 'train plain LoRA on the projections (no embeddings, no modules_to_save)');
      }
      const dims = m && shape ? linearDims(m[2], shape) : null;
      if (!m || !dims || !shape) continue;
      const want = m[3] === 'A' ? [config.r, dims[0]] : [dims[1], config.r];
      if (Number(m[1]) >= shape.L || info.shape.join('x') !== want.join('x')) {
        throw new ShitateError('E_ADAPTER', `${wFile}: "${name}" has shape [${info.shape.join(', ')}], expected [${want.join(', ')}] for this model (layer ${m[1]} of ${shape.L})`,
          'the adapter was trained on another model: import it with the base model it was trained on');
      }
    }
  } finally {
    st.close();
  }
  return config;
}
