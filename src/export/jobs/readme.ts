// README.md of a job bundle: what is inside, the launch lines, the memory per GPU and time `shitate estimate`
// expects, how shitate's settings map to the engine's, what differs, and how to bring the result back.
import { formatDuration } from '../../catalog/calibrate.js';
import { formatGiB } from '../../train/estimate.js';
import type { EngineOutput } from './context.js';
import type { JobFile } from './types.js';

const ENGINE_NAMES: Record<JobFile['engine'], string> = {
  hf: 'Hugging Face transformers Trainer + PEFT (train.py)',
  axolotl: 'Axolotl',
  'llama-factory': 'LLaMA-Factory',
};

function memorySection(job: JobFile): string[] {
  const p = job.plan;
  const m = p.memory;
  const layout = p.gpus > 1 ? `${p.gpus} GPUs, ${p.strategy === 'fsdp' ? 'FSDP full sharding' : p.strategy === 'zero3' ? 'DeepSpeed ZeRO-3' : p.strategy === 'zero2' ? 'DeepSpeed ZeRO-2' : 'data parallel'}` : 'one GPU';
  return [
    '## Expected memory and time (`shitate estimate`)', '',
    `Per GPU on ${layout}, ${p.perDeviceBatch} row(s) of up to ${p.memorySeqLen} tokens, LoRA r ${job.config.loraR}, bf16, gradient checkpointing ${p.gradientCheckpointing ? 'on' : 'off'}:`, '',
    '| | per GPU |', '| --- | --- |',
    `| weights (bf16 base, fp32 adapters) | ${formatGiB(m.weightBytes)} |`,
    `| gradients + AdamW state | ${formatGiB(m.gradientBytes + m.optimizerBytes)} |`,
    `| activations (loss buffers ${formatGiB(m.lossBytes)}) | ${formatGiB(m.activationBytes)} |`,
    `| peak allocated (torch.cuda.max_memory_allocated) | ${formatGiB(m.allocatedBytes)} |`,
    `| with CUDA context and allocator reserve | ${formatGiB(m.peakBytes)} of ${p.gpu.memoryGB} GB (${p.gpu.name}) ${p.fits ? '' : '**does not fit**'} |`, '',
    `About ${Math.round(p.tokensPerSecond).toLocaleString('en-US')} tokens/s, ${formatDuration(p.secondsPerEpoch)} per epoch on ${p.gpus} x ${p.gpu.name} ` +
      '(calibrated on measured H200 runs; other GPUs scaled by their bf16 peak).', '',
  ];
}

function settingsSection(job: JobFile): string[] {
  const c = job.config;
  const p = job.plan;
  const rows: [string, string][] = [
    ['LoRA r / alpha / dropout', `${c.loraR} / ${c.loraAlpha} / ${c.loraDropout}${c.useRslora ? ' (rsLoRA)' : ''}`],
    ['target modules', c.targetModules.join(', ')],
    ['learning rate, schedule', `${c.learningRate}, ${c.schedule}, ${p.warmupSteps} warmup steps (warmup_ratio ${c.warmupRatio})`],
    ['epochs / steps', `${c.epochs} epochs = ${p.totalSteps} steps (${p.stepsPerEpoch} per epoch)`],
    ['batch', `${p.perDeviceBatch} rows x ${p.gpus} GPU(s) x ${p.gradAccum} accumulation = ${p.globalBatch} examples per step`],
    ['max_seq_len', String(job.data.maxSeqLen)],
    ['validation', job.data.val ? `${job.data.valExamples} examples (${job.data.valSource === 'file' ? '--val file' : 'the held-out split shitate makes'}), every ${p.evalSteps} steps` : 'none'],
    ['early stopping', c.earlyStoppingPatience !== null && job.data.val ? `patience ${c.earlyStoppingPatience}, best weights kept` : 'off'],
    ['AdamW', `betas ${c.adamBeta1}/${c.adamBeta2}, eps ${c.adamEps}, weight decay ${c.weightDecay}, clip ${c.maxGradNorm}`],
    ['seed', String(c.seed)],
  ];
  return ['## Settings (from shitate\'s resolved config)', '', '| setting | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`), ''];
}

export function jobReadme(job: JobFile, out: EngineOutput): string {
  const d = job.data;
  const lines = [
    `# shitate job: ${job.model.modelType} LoRA on ${ENGINE_NAMES[job.engine]}`, '',
    `Written by \`shitate export-job\` on ${job.created_at.slice(0, 10)} for the model at \`${job.model.local}\` ` +
      `(loaded on the GPU machine as \`${job.model.remote}\`). The data is ${d.trainExamples} training examples (${d.mode}) ` +
      `${d.val ? `and ${d.valExamples} validation examples ` : ''}in \`${d.train}\`${d.val ? ` and \`${d.val}\`` : ''}; ` +
      `\`${job.chat_template_file}\` is the chat template shitate trained with; \`job.json\` holds every setting.`, '',
    '## Run it', '', 'On the GPU machine, from this folder:', '', '```sh', ...out.launch, '```', '',
    ...(job.model.remote === job.model.local ? [`The model is read from \`${job.model.remote}\`: put it there, or rerun export-job with --remote-model.`, ''] : []),
    'The adapter lands in `output/`. Bring the whole folder back and run:', '', '```sh', `shitate import-run ${'<this folder>'}`, '```', '',
    'It writes a shitate run folder (adapter, metrics.jsonl, loss.svg, summary.json, licence.json) that `shitate eval`, `serve`, `merge` and `export` take like a local run.', '',
    ...memorySection(job), ...settingsSection(job),
    '## Where this run differs from `shitate train`', '', ...job.differences.map((x) => `- ${x}`), '',
    ...(job.plan.notes.length ? ['## Notes', '', ...job.plan.notes.map((x) => `- ${x}`), ''] : []),
  ];
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
}
