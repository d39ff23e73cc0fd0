// Training progress for people: a one-line bar redrawn in place on a terminal, plain log lines otherwise.
import type { TrainEvent } from '../train/trainer.js';

function fmtTime(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (e: TrainEvent) => void {
  const tty = out.isTTY === true;
  let valLoss: number | null = null;
  let barShown = false;
  const line = (s: string) => {
    if (tty && barShown) out.write('\r\x1b[K');
    barShown = false;
    out.write(s + '\n');
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        line(`training: ${e.totalSteps} steps (${e.stepsPerEpoch} per epoch)${e.resumedAt !== null ? `, resumed at step ${e.resumedAt}` : ''}`);
        break;
      case 'step': {
        const val = valLoss === null ? '' : ` val ${valLoss.toFixed(4)}`;
        const text = `step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)}${val} lr ${e.lr.toExponential(2)} ${e.tokensPerSec.toFixed(0)} tok/s ETA ${fmtTime(e.etaSec)}`;
        if (tty) {
          const w = 24;
          const done = Math.round((w * e.step) / e.totalSteps);
          out.write(`\r\x1b[K[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${text}`);
          barShown = true;
        } else if (e.step === 1 || e.step % 10 === 0 || e.step === e.totalSteps) {
          line(text);
        }
        break;
      }
      case 'eval':
        valLoss = e.valLoss;
        line(`eval @ step ${e.step}: val loss ${e.valLoss.toFixed(4)} (train ${e.trainLoss.toFixed(4)})${e.improved ? ' — best so far, saved' : ''}`);
        break;
      case 'warning':
        line(`warning: ${e.message}`);
        break;
      case 'done':
        line(`done (${e.reason}) at step ${e.step}${e.bestValLoss !== null ? `; best val loss ${e.bestValLoss.toFixed(4)} at step ${e.bestStep}` : ''}`);
        break;
    }
  };
}
