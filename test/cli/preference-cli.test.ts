// The preference commands as a user runs them: data check on a pair file, train --method dpo --from an SFT
// run (its base model taken from the run), kto on the studio's 👍/👎 file, eval on pairs (preference accuracy
// of base and adapters in preference-eval.json), and the refusals with what to do.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuiet } from './run-quiet.js';
import { runTraining } from '../../src/train/session.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { tinyModelDir, tempDir, writeJsonl } from '../helpers/tiny-model.js';
import { preferenceDryRun } from '../../src/cli/train-dry-run-preference.js';

const ask = (i: number) => [{ role: 'user', content: `Is item ${i} in stock?` }];
const say = (content: string) => [{ role: 'assistant', content }];

describe('shitate data check / train --method dpo|kto / eval on preference data', () => {
  const dir = tempDir();
  const pairs = path.join(dir, 'pairs.jsonl');
  const feedback = path.join(dir, 'preferences.jsonl');
  writeJsonl(pairs, Array.from({ length: 12 }, (_, i) => ({ prompt: ask(i), chosen: say(`Yes, item ${i} ships today.`), rejected: say('Maybe.') })));
  writeJsonl(feedback, Array.from({ length: 12 }, (_, i) => ({ prompt: ask(i), completion: say(i % 2 ? `Yes, item ${i} ships today.` : 'Maybe.'), label: i % 2 === 1 })));

  it('checks, trains from an SFT run and compares base, SFT and DPO', async () => {
    const check = await runQuiet(['data', 'check', pairs, '--json']);
    expect(check.code).toBe(0);
    const sftDir = path.join(dir, 'sft');
    writeJsonl(path.join(dir, 'sft.jsonl'), Array.from({ length: 12 }, (_, i) => ({ messages: [...ask(i), ...say('Maybe.')] })));
    await runTraining({ config: { ...TRAIN_DEFAULTS, model: tinyModelDir(), data: path.join(dir, 'sft.jsonl'), out: sftDir, maxSteps: 2, valSplit: 0 } });
    const dpoDir = path.join(dir, 'dpo');
    const dpo = await runQuiet(['train', '--method', 'dpo', '--from', sftDir, '--data', pairs, '--out', dpoDir, '--max-steps', '3', '--learning-rate', '1e-3']);
    expect(dpo.code, dpo.stderr).toBe(0);
    expect(dpo.stderr).toMatch(/acc \d\.\d\d margin/);
    const saved = JSON.parse(fs.readFileSync(path.join(dpoDir, 'config.json'), 'utf8')) as { config: { model: string; method: string } };
    expect(saved.config).toMatchObject({ model: tinyModelDir(), method: 'dpo' }); // the base model came from the SFT run
    const out = path.join(dir, 'eval');
    const ev = await runQuiet(['eval', '--model', tinyModelDir(), '--adapter', path.join(sftDir, 'adapter'), '--adapter', path.join(dpoDir, 'adapter'), '--data', pairs, '--out', out]);
    expect(ev.code, ev.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'preference-eval.json'), 'utf8')) as { pairs: number; systems: { name: string; accuracy: number }[] };
    expect(report.pairs).toBe(12);
    expect(report.systems.map((s) => s.name)).toEqual(['base', 'sft/adapter', 'dpo/adapter']);
  }, 60_000);

  it('trains kto on the studio feedback file', async () => {
    const r = await runQuiet(['train', '--model', tinyModelDir(), '--method', 'kto', '--data', feedback, '--out', path.join(dir, 'kto'), '--max-steps', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kl \d/);
  }, 60_000);

  it('refuses what cannot work, saying what to do', async () => {
    const lora = await runQuiet(['train', '--model', tinyModelDir(), '--from', path.join(dir, 'sft'), '--data', pairs]);
    expect(lora.code).not.toBe(0);
    expect(lora.stderr).toMatch(/--from continues preference tuning; expected --method dpo or kto/);
    const sft = await runQuiet(['train', '--model', tinyModelDir(), '--method', 'dpo', '--data', path.join(dir, 'sft.jsonl'), '--out', path.join(dir, 'x')]);
    expect(sft.stderr).toMatch(/sft\.jsonl:1: expected a preference record.*--method lora/s);
    const labels = await runQuiet(['train', '--model', tinyModelDir(), '--method', 'dpo', '--data', feedback, '--out', path.join(dir, 'y')]);
    expect(labels.stderr).toMatch(/dpo needs chosen\/rejected pairs.*--method kto/s);
    const missing = await runQuiet(['train', '--method', 'dpo', '--from', path.join(dir, 'nothing'), '--data', pairs]);
    expect(missing.stderr).toMatch(/config\.json/);
  }, 60_000);
});

describe('shitate train --method dpo|kto --dry-run', () => {
  it('shows chosen and rejected (or the judgment) with the scored completion tokens marked, and trains nothing', () => {
    const dir = tempDir();
    const data = path.join(dir, 'pairs.jsonl');
    writeJsonl(data, [{ prompt: ask(1), chosen: say('Yes, today.'), rejected: say('Maybe.') }]);
    let out = '';
    const o = { color: false, out: (s: string) => { out += s; }, err: () => {} };
    expect(preferenceDryRun({ ...TRAIN_DEFAULTS, model: tinyModelDir(), data, method: 'dpo' }, o)).toBe(0);
    expect(out).toMatch(/chosen: {3}<\|im_start\|>user\nIs item 1 in stock\?<\|im_end\|>\n<\|im_start\|>assistant\n\[\[Yes, today\.<\|im_end\|>\]\]/);
    expect(out).toMatch(/rejected: .*\[\[Maybe\.<\|im_end\|>\]\]/s);
    expect(out).toMatch(/training: 1 pairs/);
    out = '';
    expect(preferenceDryRun({ ...TRAIN_DEFAULTS, model: tinyModelDir(), data, method: 'kto' }, o)).toBe(0);
    expect(out).toMatch(/2 judgments \(1 desirable, 1 undesirable\)/);
  });
});
