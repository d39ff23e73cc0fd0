// The pieces of preference training on their own: every DPO loss and KTO against float64 finite differences
// and known values, the mismatched KL sequences, the split that keeps a prompt on one side, TRL's weight
// advice for unbalanced judgments, and early stopping on reward accuracy (saved and read back with the state).
import { describe, expect, it } from 'vitest';
import { dpoLosses, ktoKl, ktoLosses, logSigmoid, type DpoLossType } from '../../src/train/preference-loss.js';
import { klSequences } from '../../src/train/preference-objective.js';
import { labelBalance, splitByPrompt } from '../../src/train/preference-setup.js';
import type { LabelExample, PrefLine } from '../../src/train/preference-data.js';
import { newEarlyStop, observeEval } from '../../src/train/early-stop.js';
import { parseTrainerState } from '../../src/train/state-file.js';

const scores = {
  policyChosen: [-12.5, -7.25, -20], policyRejected: [-13, -6, -18.5], refChosen: [-12, -7, -21], refRejected: [-12.5, -6.5, -19],
  chosenTokens: [5, 3, 9], rejectedTokens: [6, 2, 7],
};

function total(l: Float64Array): number {
  return l.reduce((a, b) => a + b, 0);
}

describe('DPO losses', () => {
  for (const [lossType, labelSmoothing] of [['sigmoid', 0], ['sigmoid', 0.1], ['robust', 0.2], ['hinge', 0], ['ipo', 0]] as [DpoLossType, number][]) {
    it(`${lossType} (label smoothing ${labelSmoothing}): gradients equal float64 central differences`, () => {
      const o = { beta: 0.3, lossType, labelSmoothing };
      const l = dpoLosses(scores, o);
      const h = 1e-6;
      for (const side of ['policyChosen', 'policyRejected'] as const) {
        for (let i = 0; i < 3; i++) {
          const up = { ...scores, [side]: scores[side].map((v, k) => (k === i ? v + h : v)) };
          const down = { ...scores, [side]: scores[side].map((v, k) => (k === i ? v - h : v)) };
          const numeric = (total(dpoLosses(up, o).losses) - total(dpoLosses(down, o).losses)) / (2 * h);
          const analytic = (side === 'policyChosen' ? l.dChosen : l.dRejected)[i];
          expect(Math.abs(numeric - analytic), `${side}[${i}]`).toBeLessThan(1e-6);
        }
      }
    });
  }

  it('known values: DPO at the reference is log 2; conservative DPO mixes both directions; IPO targets 1/(2 beta) per token', () => {
    const same = { policyChosen: [-3], policyRejected: [-4], refChosen: [-3], refRejected: [-4], chosenTokens: [2], rejectedTokens: [2] };
    expect(dpoLosses(same, { beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0 }).losses[0]).toBeCloseTo(Math.log(2), 12);
    expect(dpoLosses(same, { beta: 0.1, lossType: 'ipo', labelSmoothing: 0 }).losses[0]).toBeCloseTo(25, 12);
    const moved = { ...same, policyChosen: [-1] }; // d = 2
    const e = 0.1;
    expect(dpoLosses(moved, { beta: 0.5, lossType: 'sigmoid', labelSmoothing: e }).losses[0]).toBeCloseTo(-(1 - e) * logSigmoid(1) - e * logSigmoid(-1), 12);
    expect(dpoLosses(moved, { beta: 1, lossType: 'hinge', labelSmoothing: 0 }).losses[0]).toBe(0);
  });
});

describe('KTO loss', () => {
  it('gradients equal float64 central differences; weights scale each kind; the KL estimate is clamped at 0', () => {
    const policy = [-5, -8, -3.5, -9];
    const ref = [-6, -7, -3, -9.5];
    const labels = [true, false, true, false];
    const o = { beta: 0.4, desirableWeight: 1.3, undesirableWeight: 0.7 };
    const l = ktoLosses(policy, ref, labels, 0.25, o);
    for (let i = 0; i < 4; i++) {
      const f = (d: number) => total(ktoLosses(policy.map((v, k) => (k === i ? v + d : v)), ref, labels, 0.25, o).losses);
      expect(Math.abs((f(1e-6) - f(-1e-6)) / 2e-6 - l.dChosen[i])).toBeLessThan(1e-7);
    }
    const unweighted = ktoLosses(policy, ref, labels, 0.25, { ...o, desirableWeight: 1, undesirableWeight: 1 });
    expect(l.losses[0] / unweighted.losses[0]).toBeCloseTo(1.3, 12);
    expect(l.losses[1] / unweighted.losses[1]).toBeCloseTo(0.7, 12);
    expect(ktoKl([-3, -4], [-2, -2])).toBe(0);
    expect(ktoKl([-1, -2], [-2, -2])).toBeCloseTo(0.5, 12);
  });

  it('each example\'s KL sequence is its prompt with the previous example\'s completion (the first takes the last\'s)', () => {
    const ex = (prompt: number[], completion: number[]): LabelExample => ({
      seq: { ids: Int32Array.from([...prompt, ...completion, 99]), mask: Uint8Array.from([...prompt.map(() => 0), ...completion.map(() => 1), 0]) },
      label: true, promptEnd: prompt.length, completionEnd: prompt.length + completion.length, source: '',
    });
    const data = [ex([1, 2], [10, 11]), ex([3], [12]), ex([4, 5, 6], [13, 14, 15])];
    const kl = klSequences(data, [0, 1, 2], 5);
    expect(kl.map((s) => Array.from(s.ids))).toEqual([[1, 2, 13, 14, 15], [3, 10, 11], [4, 5, 6, 12]]);
    expect(kl.map((s) => Array.from(s.mask))).toEqual([[0, 0, 1, 1, 1], [0, 1, 1], [0, 0, 0, 1]]);
    expect(Array.from(klSequences(data, [2, 0], 4)[1].ids)).toEqual([1, 2, 13, 14]); // truncated to max_seq_len
  });
});

describe('preference data for a run', () => {
  it('the held-out split keeps all records of a prompt on one side', () => {
    const lines: PrefLine[] = Array.from({ length: 40 }, (_, i) => ({
      record: { kind: 'pair', prompt: [{ role: 'user', content: `q${i % 13}` }], chosen: 'a', rejected: 'b' }, file: 'f', line: i + 1,
    }));
    const [train, val] = splitByPrompt(lines, 0.2, 42);
    expect(train.length + val.length).toBe(40);
    expect(val.length).toBeGreaterThanOrEqual(6);
    const key = (l: PrefLine) => JSON.stringify(l.record.prompt);
    const trainKeys = new Set(train.map(key));
    expect(val.some((l) => trainKeys.has(key(l)))).toBe(false);
  });

  it('advises TRL\'s weight ranges for unbalanced judgments, and says when there is one kind only', () => {
    const ex = (label: boolean) => ({ label }) as LabelExample;
    const six = [...Array(6).fill(true), ...Array(2).fill(false)].map(ex);
    expect(labelBalance(six, { desirableWeight: 1, undesirableWeight: 1 })).toMatch(/6 desirable and 2 undesirable.*desirable_weight in \[0\.33, 0\.44\].*undesirable_weight in \[2\.26, 3\]/);
    expect(labelBalance(six, { desirableWeight: 0.4, undesirableWeight: 1 })).toBeNull();
    expect(labelBalance([ex(true), ex(true)], { desirableWeight: 1, undesirableWeight: 1 })).toMatch(/every training judgment is desirable/);
  });
});

describe('early stopping on validation reward accuracy', () => {
  it('a higher accuracy improves; an equal one improves only with a lower validation loss; the state keeps both', () => {
    const s = newEarlyStop();
    expect(observeEval(s, 1, 0.6, 0.6, 2, 0, { value: 1 - 0.5, tie: 0.6 }).improved).toBe(true);
    expect(observeEval(s, 2, 0.55, 0.5, 2, 0, { value: 1 - 0.5, tie: 0.55 }).improved).toBe(true); // same accuracy, lower loss
    expect(observeEval(s, 3, 0.58, 0.4, 2, 0, { value: 1 - 0.5, tie: 0.58 }).improved).toBe(false);
    expect(observeEval(s, 4, 0.7, 0.3, 2, 0, { value: 1 - 0.75, tie: 0.7 }).improved).toBe(true); // accuracy decides
    expect(s).toMatchObject({ bestStep: 4, bestLoss: 0.7, bestTie: 0.7 });
    expect(observeEval(s, 5, 0.6, 0.2, 2, 0, { value: 1 - 0.5, tie: 0.6 }).stop).toBe(false);
    expect(observeEval(s, 6, 0.6, 0.2, 2, 0, { value: 1 - 0.5, tie: 0.6 }).stop).toBe(true);
    const read = parseTrainerState(JSON.stringify({ step: 6, epoch: 0, batchInEpoch: 6, earlyStop: s, tokensSeen: 10, elapsedSec: 1, lastTrainLoss: 0.2 }), 'trainer_state.json');
    expect(read.earlyStop).toEqual(s);
  });
});
