// Fault injection for training: one run is killed with SIGKILL at random points N times and resumed after
// each kill; its final weights must be bitwise identical to an uninterrupted run of the same settings. Most
// kills come from outside after a random delay (any instruction: mid-step, mid-write, mid-swap); every
// fourth is injected at a random checkpoint-swap point (SHITATE_FAULT), the window a timer rarely hits.
// Not part of the test run. Run: npm run bench:faults [-- --kills 20 --steps 60]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../src/kernels/rng.js';
import { SWAP_POINTS } from '../src/train/faults.js';
import { checkpointStep } from '../src/train/checkpoint.js';
import { REPO_ROOT, parseBenchFlags } from './lib/harness.js';

const USAGE = `bench/faults.ts: kill training N times at random points, resume each time, compare final weights

  --kills N       kills before the run may finish (default 10)
  --steps N       optimizer steps of the run (default 40)
  --seed N        seed of the kill schedule (default 1)
  --model DIR     model folder (default models/shitate-mini)
  --threads N     compute threads of the trainer (default 2)`;

const flags = parseBenchFlags(process.argv.slice(2), { nums: { kills: 10, steps: 40, seed: 1, threads: 2 }, strs: ['model'] }, USAGE);
const model = flags.str.model ?? path.join(REPO_ROOT, 'models', 'shitate-mini');
const ENTRY = path.join(REPO_ROOT, 'bench', 'lib', 'cli-entry.ts');
const QA: [string, string][] = [
  ['営業時間は？', '平日9時から18時までです。'], ['返品できますか？', '30日以内なら返品できます。'], ['送料はいくらですか？', '5000円以上で無料です。'],
  ['駐車場はありますか？', '店舗の裏に10台分あります。'], ['領収書は出せますか？', 'マイページから発行できます。'], ['支払い方法は？', 'カードと振込に対応しています。'],
  ['What are your hours?', 'We are open 9 to 6 on weekdays.'], ['Can I return an item?', 'Yes, within 30 days with the receipt.'],
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** from the first progress line to the exit: the training part of the run */
  trainMs: number;
}

/** The last step in RUN/metrics.jsonl (0 before the first). */
function lastStep(run: string): number {
  const file = path.join(run, 'metrics.jsonl');
  if (!fs.existsSync(file)) return 0;
  const m = [...fs.readFileSync(file, 'utf8').matchAll(/"type":"step","step":(\d+)/g)];
  return m.length ? Number(m[m.length - 1][1]) : 0;
}

interface KillAt {
  run: string;
  /** once this step is logged ... */
  step: number;
  /** ... wait this long (a random point inside the next step, its checkpoint write included) */
  ms: number;
}

/** Runs `shitate ARGS`, killed with SIGKILL at `kill` when given. */
function shitate(args: string[], env: NodeJS.ProcessEnv = {}, kill: KillAt | null = null): Promise<Exit> {
  const t0 = Date.now();
  let first = 0;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SHITATE_QUIET_FALLBACK: '1', SHITATE_THREADS: String(flags.num.threads), ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!first && /step \d+\//.test(stderr)) first = Date.now();
    });
    const poll = kill && setInterval(() => {
      // metrics.jsonl is trimmed to the checkpoint before "training:" is printed; earlier it may run ahead
      if (!/training: /.test(stderr) || lastStep(kill.run) < kill.step) return;
      clearInterval(poll!);
      setTimeout(() => child.kill('SIGKILL'), kill.ms);
    }, 10);
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr, trainMs: Date.now() - (first || t0) });
    });
  });
}

function stepsLogged(run: string): number[] {
  return fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number })
    .filter((r) => r.type === 'step').map((r) => r.step!);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-faults-'));
  const data = path.join(dir, 'train.jsonl');
  fs.writeFileSync(data, Array.from({ length: 48 }, (_, i) => JSON.stringify({ messages: [
    { role: 'user', content: QA[i % QA.length][0] }, { role: 'assistant', content: QA[i % QA.length][1] }] })).join('\n') + '\n');
  const args = (out: string): string[] => ['train', '--model', model, '--data', data, '--out', out, '--max-steps', String(flags.num.steps),
    '--batch-tokens', '256', '--save-every', '3', '--eval-every', '4', '--val-split', '0.15', '--lora-dropout', '0.1', '--learning-rate', '0.002'];
  const ref = await shitate(args(path.join(dir, 'reference')));
  if (ref.code !== 0) throw new Error(`the uninterrupted run failed:\n${ref.stderr}`);
  const reference = fs.readFileSync(path.join(dir, 'reference', 'adapter', 'adapter_model.safetensors'));
  const stepMs = ref.trainMs / flags.num.steps;
  console.log(`uninterrupted run: ${flags.num.steps} steps, ${stepMs.toFixed(0)} ms per step`);

  const rng = new Rng(flags.num.seed);
  const out = path.join(dir, 'killed');
  let kills = 0;
  let injected = 0;
  let finishedEarly = false;
  for (let i = 0; i < flags.num.kills && !finishedEarly; i++) {
    // a kill before the run saved its settings leaves nothing to resume: the original command starts it again
    const first = !fs.existsSync(path.join(out, 'config.json'));
    const cmd = first ? args(out) : ['train', '--resume', out];
    const inject = i % 4 === 3;
    const point = SWAP_POINTS[Math.floor(rng.next() * SWAP_POINTS.length)];
    // aim at a random step within this kill's share of the steps after the checkpoint the run resumes
    // from, so all N kills land before the end
    const from = first ? 0 : checkpointStep(path.join(out, 'checkpoints', 'last')) ?? 0;
    const share = Math.max(1, Math.floor((flags.num.steps - from) / (flags.num.kills - i + 1)));
    const target = { run: out, step: from + Math.floor(rng.next() * share), ms: Math.floor(rng.next() * stepMs) };
    const r = inject ? await shitate(cmd, { SHITATE_FAULT: `${point}@${1 + Math.floor(rng.next() * 2)}` }) : await shitate(cmd, {}, target);
    if (r.signal === 'SIGKILL') {
      kills++;
      if (inject) injected++;
      const where = inject ? `at ${point}` : 'by timer';
      console.log(`kill ${kills}: ${where}, after step ${lastStep(out)}`);
    } else if (r.code === 0) finishedEarly = true;
    else throw new Error(`run ${i + 1} failed instead of being killed:\n${r.stderr}`);
  }
  const last = finishedEarly ? { code: 0, stderr: '' } : await shitate(['train', '--resume', out]);
  if (last.code !== 0) throw new Error(`the final resume failed:\n${last.stderr}`);
  const weights = fs.readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'));
  const steps = stepsLogged(out);
  const once = steps.length === flags.num.steps && steps.every((s, k) => s === k + 1);
  const clean = !fs.existsSync(path.join(out, 'train.lock')) && fs.readdirSync(path.join(out, 'checkpoints')).every((e) => !/\.(tmp|old)-\d+$/.test(e));
  const same = weights.equals(reference);
  console.log(`\nkills: ${kills} (${injected} injected in a checkpoint swap, ${kills - injected} by timer), resumes: ${kills}`);
  console.log(`final weights bitwise identical to the uninterrupted run: ${same ? 'yes' : 'NO'}`);
  console.log(`every step logged once: ${once ? 'yes' : 'NO'}; no lock or swap leftovers: ${clean ? 'yes' : 'NO'}`);
  fs.rmSync(dir, { recursive: true, force: true });
  if (!same || !once || !clean) process.exit(1);
}

await main();
