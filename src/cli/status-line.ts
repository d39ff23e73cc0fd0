// A status line for long jobs: a bar redrawn in place on a terminal, plain log lines otherwise, and
// log lines that never collide with the bar. Shared by the training and evaluation progress printers.

export function fmtTime(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export interface StatusLine {
  readonly tty: boolean;
  /** a log line (clears the bar first on a terminal) */
  line(text: string): void;
  /** redraws the bar on a terminal; elsewhere logs the first, every 10th and the last update */
  bar(done: number, total: number, text: string): void;
  /** ends a bar left on screen */
  finish(): void;
}

export function statusLine(out: NodeJS.WriteStream = process.stderr): StatusLine {
  const tty = out.isTTY === true;
  let barShown = false;
  const line = (text: string) => {
    if (tty && barShown) out.write('\r\x1b[K');
    barShown = false;
    out.write(text + '\n');
  };
  return {
    tty,
    line,
    bar(done, total, text) {
      if (tty) {
        const w = 24;
        const filled = Math.round((w * done) / Math.max(1, total));
        out.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(w - filled)}] ${text}`);
        barShown = true;
      } else if (done === 1 || done % 10 === 0 || done === total) {
        line(text);
      }
    },
    finish() {
      if (tty && barShown) line('');
    },
  };
}
