// Learning-rate schedules as transformers defines them: linear warmup from 0, then cosine to 0, linear
// to 0, or constant. step counts from 0 for the first optimizer step.

export type ScheduleKind = 'cosine' | 'linear' | 'constant';

export function learningRate(kind: ScheduleKind, base: number, step: number, warmup: number, total: number): number {
  if (warmup > 0 && step < warmup) return (base * step) / warmup;
  if (kind === 'constant') return base;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  if (kind === 'linear') return base * Math.max(0, 1 - progress);
  return base * 0.5 * (1 + Math.cos(Math.PI * progress));
}
