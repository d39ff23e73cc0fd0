// Early stopping on validation loss with patience and min_delta, plus a watch on the train/validation gap
// that warns when it keeps growing (over-fitting).

export interface EarlyStopState {
  /** the best monitored value: the validation loss, or a score (lower is better) when one is given */
  best: number;
  bestStep: number;
  badEvals: number;
  gaps: number[];
  /** with a score: the validation loss and the tie-breaker at the best step */
  bestLoss?: number;
  bestTie?: number;
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

/** Records one evaluation. patience null disables stopping (best is still tracked). With a score (preference
 *  training: 1 - reward accuracy), the score decides and an equal score with a lower tie-breaker also improves. */
export function observeEval(s: EarlyStopState, step: number, valLoss: number, trainLoss: number,
  patience: number | null, minDelta: number, score?: { value: number; tie: number }): EvalVerdict {
  const value = score ? score.value : valLoss;
  const improved = value < s.best - minDelta || (score !== undefined && value <= s.best && score.tie < (s.bestTie ?? Infinity));
  if (improved) {
    s.best = value;
    s.bestStep = step;
    s.badEvals = 0;
    if (score) {
      s.bestLoss = valLoss;
      s.bestTie = score.tie;
    }
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
