// Evaluation progress for people: a bar with the current system, questions done and the ETA, redrawn in
// place on a terminal; plain log lines (every 10 questions and at each system's end) otherwise.
import type { EvalEvent } from '../eval/index.js';

function fmtTime(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);

export function evalProgressPrinter(out: NodeJS.WriteStream = process.stderr): (e: EvalEvent) => void {
  const tty = out.isTTY === true;
  let barShown = false;
  let perSystem = 1;
  const line = (s: string) => {
    if (tty && barShown) out.write('\r\x1b[K');
    barShown = false;
    out.write(s + '\n');
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        perSystem = Math.max(1, e.questions);
        line(`evaluating ${e.questions} questions on ${e.systems.length} system${e.systems.length > 1 ? 's' : ''}: ${e.systems.join(', ')}`);
        break;
      case 'progress': {
        const text = `${e.done}/${e.total} · ${e.system} · question ${e.question + 1}/${perSystem} · ${fmtTime(e.elapsedSec)} elapsed · ETA ${fmtTime(e.etaSec)}`;
        if (tty) {
          const w = 24;
          const done = Math.round((w * e.done) / e.total);
          out.write(`\r\x1b[K[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${text}`);
          barShown = true;
        } else if (e.done === 1 || e.done % 10 === 0 || e.done === e.total) {
          line(text);
        }
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
        else if (tty && barShown) line('');
        break;
    }
  };
}
