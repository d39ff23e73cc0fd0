// `eval --task classify`: a classifier on labeled held-out texts. Accuracy, macro- and weighted-F1, per-label
// precision / recall, the confusion matrix, every misclassified text with what it was taken for, and the
// majority-class baseline (always the commonest label of the training data when the adapter recorded it, else of
// the evaluated texts) that any useful classifier must beat.
import type { LabeledText } from '../train/classify-data.js';
import { classificationMetrics, type ClassMetrics } from '../train/classify-metrics.js';
import { classify, type Classifier } from './classifier.js';

export interface Misclassified {
  text: string;
  truth: string;
  predicted: string;
  /** probability the classifier gave its (wrong) answer */
  score: number;
  /** probability it gave the true label */
  truthScore: number;
  source: string;
}

export interface ClassifyEvalResult {
  model: string;
  data: string;
  /** the classifier's labels, then any label of the data it does not know (never predicted, always wrong) */
  labels: string[];
  unknownLabels: string[];
  metrics: ClassMetrics;
  baseline: { label: string; from: 'training data' | 'evaluated data'; metrics: ClassMetrics };
  misclassified: Misclassified[];
}

export function runClassifyEval(cl: Classifier, rows: LabeledText[], dataLabel: string): ClassifyEvalResult {
  const unknownLabels = [...new Set(rows.map((r) => r.label).filter((l) => !cl.labels.includes(l)))];
  const labels = [...cl.labels, ...unknownLabels];
  const id = new Map(labels.map((l, i) => [l, i]));
  const truth = rows.map((r) => id.get(r.label)!);
  const preds = classify(cl, rows.map((r) => r.text));
  const metrics = classificationMetrics(labels, truth, preds.map((p) => p.id));
  const counts = cl.trainCounts && cl.trainCounts.length === cl.labels.length ? cl.trainCounts : labels.map((_, k) => truth.filter((t) => t === k).length);
  const majority = counts.indexOf(Math.max(...counts));
  const misclassified = rows.flatMap((r, i): Misclassified[] => (preds[i].id === truth[i] ? [] : [{
    text: r.text, truth: r.label, predicted: preds[i].label, score: preds[i].score,
    truthScore: truth[i] < cl.labels.length ? preds[i].probs[truth[i]] : 0, source: r.source,
  }])).sort((a, b) => b.score - a.score);
  return {
    model: cl.source, data: dataLabel, labels, unknownLabels, metrics, misclassified,
    baseline: { label: labels[majority], from: cl.trainCounts ? 'training data' : 'evaluated data', metrics: classificationMetrics(labels, truth, truth.map(() => majority)) },
  };
}
