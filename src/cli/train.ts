// `shitate train`: LoRA (or full) fine-tuning with the resolved config printed and saved, progress,
// checkpoints, exact resume (--resume RUN_DIR) and a clean stop on Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { flagsToKeys, resolveConfig, schemaFlags, snake } from '../config/resolve.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA, type TrainConfig } from '../train/config.js';
import { runTraining } from '../train/session.js';
import { progressPrinter } from './progress.js';
import { ShitateError } from '../errors.js';
import { fastBf16, preferSleepingBlasThreads } from '../kernels/index.js';
import { LICENCE_DEFAULTS, LICENCE_SCHEMA, gateLicence, writeLicenceRecord, type Purpose } from '../catalog/gate.js';

const SCHEMA = { ...TRAIN_SCHEMA, ...LICENCE_SCHEMA };

const usage = `usage: shitate train --model DIR --data train.jsonl [--val val.jsonl] [--config train.yaml] [--out RUN_DIR]
       shitate train --resume RUN_DIR

Fine-tunes a Hugging Face model folder with LoRA (default) on chat ({"messages"}), prompt/completion or
text JSONL. Settings come from defaults < --config YAML < SHITATE_* environment < flags; the resolved
config is printed and saved as RUN_DIR/config.json. Ctrl-C writes a checkpoint and exits; resume with
--resume RUN_DIR. Output: RUN_DIR/adapter (PEFT format), metrics.jsonl, loss.svg, summary.json.

settings (flag / YAML key / env):
${Object.entries(SCHEMA).map(([k, s]) => `  --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()).padEnd(26)} ${s.help}`).join('\n')}
`;

function printConfig(c: TrainConfig, sources: Record<string, string>): void {
  const rows = Object.entries(c).map(([k, v]) => `  ${snake(k).padEnd(26)} ${JSON.stringify(v)}${sources[k] && sources[k] !== 'default' ? `  (${sources[k]})` : ''}`);
  process.stderr.write(`resolved config:\n${rows.join('\n')}\n`);
}

export const train: Command = {
  summary: 'fine-tune a model with LoRA on your data (exact resume, early stopping)',
  async run(argv) {
    const p = parseFlags('train', argv, { ...schemaFlags(SCHEMA), config: { type: 'string' }, resume: { type: 'string' } });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const resumeDir = flagStr(p, 'resume');
    let config: TrainConfig & { purpose?: string | null; acceptLicence?: boolean };
    let sources: Record<string, string>;
    if (resumeDir) {
      const file = path.join(resumeDir, 'config.json');
      if (!fs.existsSync(file)) {
        throw new ShitateError('E_RESUME', `expected ${file} from an earlier run, found none`, 'pass the RUN_DIR that `shitate train` printed');
      }
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { config: TrainConfig; sources: Record<string, string> };
      config = { ...saved.config, out: resumeDir };
      sources = saved.sources;
    } else {
      const r = resolveConfig(SCHEMA, { ...TRAIN_DEFAULTS, ...LICENCE_DEFAULTS }, { file: flagStr(p, 'config') ?? null, env: process.env, flags: flagsToKeys(SCHEMA, p.values) });
      config = r.values;
      sources = r.sources;
      for (const k of ['model', 'data'] as const) {
        if (!config[k]) throw new ShitateError('E_USAGE', `train: --${k} is required`, 'run `shitate train --help`');
      }
    }
    if (config.threads) process.env.SHITATE_THREADS = String(config.threads);
    preferSleepingBlasThreads(); // before the model loads the kernels
    printConfig(config, sources);
    if (config.precision === 'fp32' && config.method === 'lora' && fastBf16()) {
      process.stderr.write('note: this CPU multiplies bf16 in hardware: --precision bf16 trains about 1.5x faster ' +
        '(frozen weights in bf16, adapters and optimizer in float32; losses within ~1e-3 of fp32)\n');
    }
    // commercial use of a model under a non-commercial licence is refused; conditional licences need --accept-licence
    const licence = gateLicence(config.model, { purpose: (config.purpose as Purpose | null | undefined) ?? null, acknowledge: config.acceptLicence === true });
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('\nstopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
    try {
      const res = await runTraining({ config, sources, resume: Boolean(resumeDir), onEvent: progressPrinter(), stopRequested: () => stop });
      writeLicenceRecord(res.runDir, licence);
      process.stderr.write(`adapter: ${res.adapterDir}\nrun folder: ${res.runDir} (metrics.jsonl, loss.svg, summary.json)\n`);
      if (stop) process.stderr.write(`resume with: shitate train --resume ${res.runDir}\n`);
      return stop ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
