// `shitate merge`: folds a LoRA adapter into the base weights and writes a complete HF model folder in the
// base's dtype (for serving stacks without adapter support, or conversion to other formats).
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { loadModel, baseDtype, saveModelFolder } from '../models/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { loadAdapter, mergedWeights } from '../lora/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ShitateError } from '../errors.js';
import { PURPOSES, gateLicence, writeLicenceRecord, type Purpose } from '../catalog/gate.js';

const usage = `usage: shitate merge --model DIR --adapter DIR --out DIR [--dtype bf16|f16|f32] [--purpose commercial|research|personal] [--accept-licence]

Writes DIR with merged weights (W + scaling * B A) in the base model's dtype unless --dtype says
otherwise, plus the base's config, tokenizer and licence files. The output folder must not exist yet.
`;

const DTYPES = { bf16: 'BF16', f16: 'F16', f32: 'F32' } as const;

/** Sets tie_word_embeddings false in the merged folder's config.json (its own copy of the base's). */
function untieConfig(out: string): void {
  const file = path.join(out, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.tie_word_embeddings = false;
  writeFileAtomic(file, JSON.stringify(config, null, 2) + '\n');
}

export const merge: Command = {
  summary: 'merge a LoRA adapter into the base model (a complete HF folder)',
  async run(argv) {
    const p = parseFlags('merge', argv, {
      model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' },
      purpose: { type: 'string' }, 'accept-licence': { type: 'boolean' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const [model, adapter, out] = [flagStr(p, 'model'), flagStr(p, 'adapter'), flagStr(p, 'out')];
    if (!model || !adapter || !out) throw new ShitateError('E_USAGE', 'merge: --model, --adapter and --out are required', 'run `shitate merge --help`');
    const d = flagStr(p, 'dtype');
    if (d && !(d in DTYPES)) throw new ShitateError('E_USAGE', `merge: --dtype must be bf16, f16 or f32, found "${d}"`, 'omit it to keep the base dtype');
    const purpose = flagStr(p, 'purpose') ?? process.env.SHITATE_PURPOSE ?? null;
    if (purpose !== null && !(PURPOSES as readonly string[]).includes(purpose)) {
      throw new ShitateError('E_USAGE', `merge: --purpose must be one of ${PURPOSES.join(', ')}, found "${purpose}"`, 'commercial use checks the model licence');
    }
    const licence = gateLicence(model, { purpose: purpose as Purpose | null, acknowledge: flagBool(p, 'accept-licence') });
    const loaded = loadModel(model);
    const set = loadAdapter(adapter, loaded.model, false, { baseDir: model });
    set.fuse();
    const dtype = d ? DTYPES[d as keyof typeof DTYPES] : baseDtype(model);
    const { weights, untied } = mergedWeights(loaded.model.namedWeights(), loaded.model, set.tokens.length > 0);
    saveModelFolder(out, { namedWeights: () => weights }, model, dtype);
    if (untied) untieConfig(out);
    writeLicenceRecord(out, licence);
    const tokens = set.tokens.length ? ` and LoRA on ${set.tokens.map((t) => t.module).join(' and ')}` : '';
    process.stderr.write(`merged ${set.layers.size} LoRA layers${tokens} into ${out} (${dtype})\n`);
    if (untied) process.stderr.write('note: the base ties lm_head to embed_tokens; the adapter changes them differently, so the merged model stores both (tie_word_embeddings false)\n');
    return 0;
  },
};
