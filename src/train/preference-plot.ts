// rewards.svg for DPO/KTO runs: the reward accuracy of each step and of each validation, from metrics.jsonl,
// drawn like loss.svg (what early stopping follows).
import { readMetricLines } from './metrics-log.js';
import { lossCurveSvg, type Point } from './plot.js';

/** The per-step and validation curves of one metric (e.g. rewards/accuracies) in metrics.jsonl. */
export function metricCurves(file: string, key: string): { train: Point[]; val: Point[] } {
  const train: Point[] = [];
  const val: Point[] = [];
  for (const { row } of readMetricLines(file).lines) {
    const r = row as { type?: unknown; step?: unknown; metrics?: Record<string, unknown> };
    const v = r.metrics?.[key];
    if (typeof r.step !== 'number' || typeof v !== 'number') continue;
    if (r.type === 'step') train.push({ step: r.step, value: v });
    if (r.type === 'eval') val.push({ step: r.step, value: v });
  }
  return { train, val };
}

export function rewardAccuracySvg(file: string, title: string): string {
  const { train, val } = metricCurves(file, 'rewards/accuracies');
  return lossCurveSvg(train, val, title);
}
