// Early stopping on validation loss with patience and min_delta, plus a watch on the train/validation gap
// that warns when it keeps growing (over-fitting).

export interface EarlyStopState {
  best: number;
  bestStep: number;
  badEvals: number;
  gaps: number[];
}

export function newEarlyStop(): EarlyStopState {
  return { best: Infinity, bestStep: -1, badEvals: 0, gaps: [] };
}

export interface EvalVerdict {
  improved: boolean;
  stop: boolean;
  /** set when the gap (val - train) grew over the last 3 evaluations while val got worse */
  overfitWarning: string | null;
}

/** Records one evaluation. patience null disables stopping (best is still tracked). */
export function observeEval(s: EarlyStopState, step: number, valLoss: number, trainLoss: number,
  patience: number | null, minDelta: number): EvalVerdict {
  const improved = valLoss < s.best - minDelta;
  if (improved) {
    s.best = valLoss;
    s.bestStep = step;
    s.badEvals = 0;
  } else {
    s.badEvals++;
  }
  s.gaps.push(valLoss - trainLoss);
  const g = s.gaps.slice(-3);
  const growing = g.length === 3 && g[0] < g[1] && g[1] < g[2] && !improved;
  const overfitWarning = growing
    ? `validation loss (${valLoss.toFixed(4)}) is rising while training loss keeps falling (gap ${g.map((x) => x.toFixed(3)).join(' -> ')}): ` +
      'the model is memorising the training set. Try fewer epochs, a lower learning rate, a smaller LoRA rank, ' +
      'more (or more varied) examples, or rely on early stopping (the best checkpoint is kept).'
    : null;
  return { improved, stop: patience !== null && s.badEvals >= patience, overfitWarning };
}
