// Classification scores as scikit-learn computes them (what transformers' examples report): accuracy, per-label
// precision / recall / F1 with support, macro-F1 (the unweighted mean over the labels that occur in the truth or the
// predictions; 0 where a ratio is 0 / 0), weighted-F1, and the confusion matrix (rows: true label, columns: predicted).

export interface LabelScore {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** texts whose true label this is */
  support: number;
}

export interface ClassMetrics {
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  perLabel: LabelScore[];
  /** [true][predicted] counts over every label */
  confusion: number[][];
  count: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export function classificationMetrics(labels: readonly string[], truth: readonly number[], pred: readonly number[]): ClassMetrics {
  const K = labels.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  truth.forEach((t, i) => confusion[t][pred[i]]++);
  const perLabel = labels.map((label, k): LabelScore => {
    const tp = confusion[k][k];
    const predicted = confusion.reduce((s, row) => s + row[k], 0);
    const support = confusion[k].reduce((a, b) => a + b, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { label, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const seen = perLabel.filter((s, k) => s.support > 0 || confusion.some((row) => row[k] > 0));
  const n = truth.length;
  return {
    accuracy: ratio(truth.filter((t, i) => t === pred[i]).length, n),
    macroF1: ratio(seen.reduce((a, s) => a + s.f1, 0), seen.length),
    weightedF1: ratio(perLabel.reduce((a, s) => a + s.f1 * s.support, 0), n),
    perLabel,
    confusion,
    count: n,
  };
}

/** Index of the largest value of each row of logits [N, K]. */
export function argmaxRows(logits: Float32Array, K: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * K < logits.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k] > logits[i * K + best]) best = k;
    out.push(best);
  }
  return out;
}

/** Row-wise softmax of logits [N, K] (probabilities for reports). */
export function softmaxRows(logits: Float32Array, K: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i * K < logits.length; i++) {
    const row = logits.subarray(i * K, i * K + K);
    const m = Math.max(...row);
    let s = 0;
    for (let k = 0; k < K; k++) s += (out[i * K + k] = Math.exp(row[k] - m));
    for (let k = 0; k < K; k++) out[i * K + k] /= s;
  }
  return out;
}
