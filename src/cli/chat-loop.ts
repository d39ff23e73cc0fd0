// The terminal loop shared by `shitate chat` and `shitate assistant chat`: readline (works in a terminal
// and with piped stdin); Ctrl-C stops the reply in progress, or leaves when none is running (exit 130).
import readline from 'node:readline';

export interface LineSession {
  /** the reply being generated, if any */
  readonly current: AbortController | null;
  /** handles one input line; false ends the loop (/exit) */
  line(text: string): Promise<boolean>;
}

export async function runChatLoop(session: LineSession, tty: boolean): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: '> ' });
  let interrupted = false;
  const onSigint = () => {
    if (session.current) session.current.abort();
    else {
      interrupted = true;
      rl.close();
    }
  };
  rl.on('SIGINT', onSigint); // terminal Ctrl-C arrives here, not as a process signal
  process.on('SIGINT', onSigint);
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (tty) rl.prompt();
      const next = await lines.next();
      if (next.done || !(await session.line(next.value))) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
    rl.close();
  }
  return interrupted ? 130 : 0;
}
