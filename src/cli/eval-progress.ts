// Evaluation progress for people: a bar with the current system, questions done and the ETA, redrawn in
// place on a terminal; plain log lines (every 10 questions and at each system's end) otherwise.
import type { EvalEvent } from '../eval/index.js';
import { fmtTime, statusLine } from './status-line.js';

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);

export function evalProgressPrinter(out: NodeJS.WriteStream = process.stderr): (e: EvalEvent) => void {
  const status = statusLine(out);
  const line = status.line;
  let perSystem = 1;
  return (e) => {
    switch (e.type) {
      case 'start':
        perSystem = Math.max(1, e.questions);
        line(`evaluating ${e.questions} questions on ${e.systems.length} system${e.systems.length > 1 ? 's' : ''}: ${e.systems.join(', ')}`);
        break;
      case 'progress': {
        const text = `${e.done}/${e.total} · ${e.system} · question ${e.question + 1}/${perSystem} · ${fmtTime(e.elapsedSec)} elapsed · ETA ${fmtTime(e.etaSec)}`;
        status.bar(e.done, e.total, text);
        break;
      }
      case 'system': {
        const s = e.summary;
        line(`${s.system}: loss ${s.loss === null ? '—' : s.loss.toFixed(4)} · exact ${pct(s.exactMatch)} · char F1 ${pct(s.charF1)} · ROUGE-L ${pct(s.rougeL)} · stop ${pct(s.stopRate)}`);
        break;
      }
      case 'warning':
        line(`warning: ${e.message}`);
        break;
      case 'done':
        if (!e.complete) line('stopped: keeping the questions computed so far');
        else status.finish();
        break;
    }
  };
}

/** Ctrl-C during an evaluation: the first stops it and the results computed so far are written, a second quits. */
export function evalInterrupt(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write('\nstopping: writing the results computed so far (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onSigint) };
}
