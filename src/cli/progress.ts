// Training progress for people: a one-line bar redrawn in place on a terminal, plain log lines otherwise.
import type { TrainEvent } from '../train/trainer.js';
import { fmtTime, statusLine } from './status-line.js';

/** Preference training: reward accuracy and margin (and KTO's KL), as TRL names them. */
function rewards(m: Record<string, number> | undefined): string {
  if (!m) return '';
  const acc = m['rewards/accuracies'];
  const margin = m['rewards/margins'];
  return `${acc !== undefined ? ` acc ${acc.toFixed(2)}` : ''}${margin !== undefined ? ` margin ${margin.toFixed(3)}` : ''}${m.kl !== undefined ? ` kl ${m.kl.toFixed(3)}` : ''}`;
}

/** Classification: validation accuracy and macro-F1. */
function scores(m: Record<string, number> | undefined): string {
  if (!m || m.macro_f1 === undefined) return '';
  return ` macro-F1 ${m.macro_f1.toFixed(3)} acc ${(m.accuracy ?? 0).toFixed(3)}`;
}

export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (e: TrainEvent) => void {
  const s = statusLine(out);
  let valLoss: number | null = null;
  return (e) => {
    switch (e.type) {
      case 'start':
        s.line(`training: ${e.totalSteps} steps (${e.stepsPerEpoch} per epoch)${e.resumedAt !== null ? `, resumed at step ${e.resumedAt}` : ''}`);
        break;
      case 'step': {
        const val = valLoss === null ? '' : ` val ${valLoss.toFixed(4)}`;
        s.bar(e.step, e.totalSteps, `step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)}${val}${rewards(e.metrics)} lr ${e.lr.toExponential(2)} ${e.tokensPerSec.toFixed(0)} tok/s ETA ${fmtTime(e.etaSec)}`);
        break;
      }
      case 'eval':
        valLoss = e.valLoss;
        s.line(`eval @ step ${e.step}: val loss ${e.valLoss.toFixed(4)} (train ${e.trainLoss.toFixed(4)})${rewards(e.metrics)}${scores(e.metrics)}${e.improved ? ' — best so far, saved' : ''}`);
        break;
      case 'warning':
        s.line(`warning: ${e.message}`);
        break;
      case 'note':
        s.line(`note: ${e.message}`);
        break;
      case 'done':
        s.line(`done (${e.reason}) at step ${e.step}${e.bestValLoss !== null ? `; best val loss ${e.bestValLoss.toFixed(4)} at step ${e.bestStep}` : ''}`);
        break;
    }
  };
}
