// `shitate import-run`: brings a GPU run back (a job folder from export-job with its output/, an engine's
// output folder, or an adapter folder) as a shitate run folder for eval, serve, merge and export.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { resolveConfig } from '../config/resolve.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA } from '../train/config.js';
import { ShitateError } from '../errors.js';
import { importRun } from '../export/jobs/import-run.js';

const usage = `usage: shitate import-run JOB_DIR|OUTPUT_DIR|ADAPTER_DIR [--out RUN_DIR] [--model DIR] [--config train.yaml]

Turns what a GPU trainer wrote (transformers Trainer + PEFT, Axolotl, LLaMA-Factory: the adapter and
trainer_state.json or trainer_log.jsonl) into a shitate run folder: adapter/ (PEFT files, the chat template,
shitate.json), metrics.jsonl, loss.svg, summary.json and licence.json. \`shitate eval\`, \`serve\`, \`merge\` and
\`export\` then take RUN_DIR/adapter like a local run's. Prints where the run's setup differed from the local
config (the job's, or --config's).

  --out RUN_DIR        a new folder (default runs/<source folder name>)
  --model DIR          the base model folder here (default: the job's): checks the adapter's shapes, records the licence
  --config FILE        the local train settings to compare with, when the source is not a job folder
`;

export const importRunCommand: Command = {
  summary: 'bring a GPU run (job folder, trainer output or adapter) back as a shitate run folder',
  async run(argv) {
    const p = parseFlags('import-run', argv, { out: { type: 'string' }, model: { type: 'string' }, config: { type: 'string' } }, true);
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const source = p.positionals[0];
    if (!source || p.positionals.length > 1) {
      throw new ShitateError('E_USAGE', `import-run: expected one folder, found ${p.positionals.length}`, 'e.g. shitate import-run jobs/faq-gpu');
    }
    const file = flagStr(p, 'config');
    const config = file ? resolveConfig(TRAIN_SCHEMA, TRAIN_DEFAULTS, { file, env: {}, flags: {} }).values : null;
    const out = flagStr(p, 'out') ?? path.join('runs', path.basename(path.resolve(source)));
    const r = importRun({ source, out, model: flagStr(p, 'model') ?? null, config });
    const lines = [`imported a ${r.engine} run (${r.steps} steps) into ${r.runDir}`, `adapter: ${r.adapterDir}`];
    if (r.differences.length) lines.push('differs from the local config:', ...r.differences.map((d) => `  - ${d}`));
    else lines.push('the adapter and the run match the local config');
    lines.push(...r.notes.map((n) => `note: ${n}`));
    process.stderr.write(lines.join('\n') + '\n');
    return 0;
  },
};
