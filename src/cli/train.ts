// `shitate train`: LoRA (or full) fine-tuning with the resolved config printed and saved, progress,
// checkpoints, exact resume (--resume RUN_DIR) and a clean stop on Ctrl-C.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { flagsToKeys, resolveConfig, schemaFlags, snake } from '../config/resolve.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA, isPreferenceMethod, type TrainConfig } from '../train/config.js';
import { runTraining } from '../train/session.js';
import { readRunConfig } from '../train/state-file.js';
import { resolveStart } from '../train/preference-setup.js';
import { resumeSettings } from './train-resume.js';
import { progressPrinter } from './progress.js';
import { dryRun } from './train-dry-run.js';
import { classifyDryRun } from './train-classify-dry-run.js';
import { preferenceDryRun } from './train-dry-run-preference.js';
import { ShitateError } from '../errors.js';
import { fastBf16, preferSleepingBlasThreads, spinOmpThreadsBriefly } from '../kernels/index.js';
import { LICENCE_DEFAULTS, LICENCE_SCHEMA, gateLicence, writeLicenceRecord, type Purpose } from '../catalog/gate.js';
import { vllmTrainNotes } from '../export/vllm-check.js';

const SCHEMA = { ...TRAIN_SCHEMA, ...LICENCE_SCHEMA };

const usage = `usage: shitate train --model DIR --data train.jsonl [--val val.jsonl] [--config train.yaml] [--out RUN_DIR]
       shitate train --resume RUN_DIR
       shitate train --model DIR --data train.jsonl --dry-run
       shitate train --method dpo|kto [--from RUN_DIR | --adapter DIR | --model DIR] --data preferences.jsonl
       shitate train --task classify --model ENCODER_DIR --data train.jsonl [--val val.jsonl] [--class-weights balanced]

Fine-tunes a Hugging Face model folder with LoRA (default) on chat ({"messages"}), prompt/completion or
text JSONL. Settings come from defaults < --config YAML < SHITATE_* environment < flags; the resolved
config is printed and saved as RUN_DIR/config.json. Ctrl-C (or SIGTERM, e.g. docker stop) writes a
checkpoint and exits; resume with --resume RUN_DIR, which keeps the run's settings: only max_steps, epochs,
threads, save_every, eval_every, early stopping and memory settings may be given again with new values.
One trainer at a time per run folder (RUN_DIR/train.lock). Output: RUN_DIR/adapter (PEFT format),
metrics.jsonl, loss.svg, summary.json. --dry-run reads, renders and masks the data as training would, prints
the first examples with the trained tokens highlighted and the token counts, and exits without training.

Classification (--task classify) trains an encoder (bert, roberta, xlm-roberta, modernbert) on {"text", "label"}
JSONL (\`data prepare --task classify\` writes it from a sheet's category column): LoRA on its linears plus a
classification head, validation once per epoch, early stopping and the kept weights on macro-F1; RUN_DIR/adapter
is a PEFT SEQ_CLS adapter (the head as modules_to_save) with labels.json, for \`shitate classify\` and
\`eval --task classify\`.

Preference tuning (--method dpo or kto) trains LoRA adapters on judged answers: dpo on pairs
({"prompt" or "messages", "chosen", "rejected"}, TRL's formats, or OpenAI's input/preferred_output/
non_preferred_output), kto on judgments ({"prompt"/"completion" or "messages", "label": true|false}, the
studio's 👍/👎 file; pairs are split into one of each). --from RUN_DIR continues that run's adapter on its
base model (--adapter DIR: any PEFT adapter); the reference is the starting adapter frozen (or the base
with adapters off: --reference-model base, and always when starting fresh). Metrics (rewards/chosen,
rewards/rejected, rewards/accuracies, rewards/margins, logps, kl) go to metrics.jsonl and rewards.svg;
early stopping follows the validation reward accuracy.

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
    const p = parseFlags('train', argv, { ...schemaFlags(SCHEMA), config: { type: 'string' }, resume: { type: 'string' }, 'dry-run': { type: 'boolean' } });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const resumeDir = flagStr(p, 'resume');
    let config: TrainConfig & { purpose?: string | null; acceptLicence?: boolean };
    let sources: Record<string, string>;
    const layers = { file: flagStr(p, 'config') ?? null, env: process.env, flags: flagsToKeys(SCHEMA, p.values) };
    if (resumeDir) {
      const saved = readRunConfig<Record<string, unknown>>(path.join(resumeDir, 'config.json'));
      const r = resumeSettings(SCHEMA, { ...TRAIN_DEFAULTS, ...LICENCE_DEFAULTS }, saved, resumeDir, layers);
      config = r.config;
      sources = r.sources;
      for (const line of r.changes) process.stderr.write(`resume: ${line}\n`);
    } else {
      const r = resolveConfig(SCHEMA, { ...TRAIN_DEFAULTS, ...LICENCE_DEFAULTS }, layers);
      config = resolveStart(r.values);
      sources = r.sources;
      for (const k of ['model', 'data'] as const) {
        if (!config[k]) throw new ShitateError('E_USAGE', `train: --${k} is required`, 'run `shitate train --help`');
      }
    }
    if (config.threads) process.env.SHITATE_THREADS = String(config.threads);
    preferSleepingBlasThreads(); // before the model loads the kernels
    spinOmpThreadsBriefly();
    printConfig(config, sources);
    if (flagBool(p, 'dry-run')) {
      const dry = { color: process.stdout.isTTY === true, out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
      if (config.task === 'classify') return classifyDryRun(config, dry);
      return isPreferenceMethod(config.method) ? preferenceDryRun(config, dry) : dryRun(config, dry);
    }
    if (config.task !== 'classify' && config.precision === 'fp32' && config.method === 'lora' && fastBf16()) {
      process.stderr.write('note: this CPU multiplies bf16 in hardware: --precision bf16 trains about 1.5x faster ' +
        '(frozen weights in bf16, adapters and optimizer in float32; losses within ~1e-3 of fp32)\n');
    }
    for (const note of config.task === 'classify' ? [] : vllmTrainNotes(config)) process.stderr.write(`note: ${note}\n`);
    // commercial use of a model under a non-commercial licence is refused; conditional licences need --accept-licence
    const licence = gateLicence(config.model, { purpose: (config.purpose as Purpose | null | undefined) ?? null, acknowledge: config.acceptLicence === true });
    // Ctrl-C, and SIGTERM (docker stop, systemd, timeout) or SIGHUP the same way: finish the step, write a
    // checkpoint, exit with 128 + the signal's number; a second signal quits at once
    let stop: NodeJS.Signals | null = null;
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    const onSignal = (sig: NodeJS.Signals) => {
      if (stop) process.exit(codes[sig]);
      stop = sig;
      process.stderr.write(`\n${sig === 'SIGINT' ? '' : `${sig}: `}stopping after this step and writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit now)\n`);
    };
    const signals = Object.keys(codes) as NodeJS.Signals[];
    for (const sig of signals) process.on(sig, onSignal);
    try {
      const res = await runTraining({ config, sources, resume: Boolean(resumeDir), onEvent: progressPrinter(), stopRequested: () => stop !== null });
      writeLicenceRecord(res.runDir, licence);
      process.stderr.write(`adapter: ${res.adapterDir}\nrun folder: ${res.runDir} (metrics.jsonl, loss.svg, summary.json)\n`);
      if (stop) process.stderr.write(`resume with: shitate train --resume ${res.runDir}\n`);
      return stop ? codes[stop] : 0;
    } finally {
      for (const sig of signals) process.off(sig, onSignal);
    }
  },
};
