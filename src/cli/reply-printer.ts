// Prints a streamed chat reply, with the model's reasoning (<think> blocks) shown or hidden on purpose:
// --show-thinking prints it dimmed on a terminal (between <think> and </think> when piped); otherwise it is
// left out of stdout and a note on stderr says how long it was. The answer always goes to stdout.
import { ReasoningStream, type ReasoningMode } from '../generate/index.js';

export interface PrintedReply {
  content: string;
  /** null when the model wrote no reasoning */
  reasoning: string | null;
}

const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';

export class ReplyPrinter {
  private readonly stream: ReasoningStream | null;
  private content = '';
  private reasoning = '';
  private inThought = false;
  private waiting = false;

  constructor(mode: ReasoningMode | null, private readonly show: boolean, private readonly tty: boolean,
    private readonly out: (s: string) => void = (s) => process.stdout.write(s),
    private readonly err: (s: string) => void = (s) => process.stderr.write(s)) {
    this.stream = mode ? new ReasoningStream(mode) : null;
  }

  write(text: string): void {
    if (!text) return;
    const part = this.stream ? this.stream.push(text) : { reasoning: '', content: text };
    this.print(part.reasoning, part.content);
  }

  /** Prints what is held back and returns the whole reply, split. */
  end(): PrintedReply {
    if (this.stream) {
      const part = this.stream.flush();
      this.print(part.reasoning, part.content);
    }
    this.closeThought();
    if (!this.show && this.reasoning) {
      this.err(`[reasoning hidden: ${this.reasoning.trim().length} characters; --show-thinking shows it]\n`);
    }
    return { content: this.reasoning ? this.content.replace(/^\n+/, '') : this.content, reasoning: this.reasoning || null };
  }

  private print(reasoning: string, content: string): void {
    if (reasoning) {
      this.reasoning += reasoning;
      if (this.show) {
        if (!this.inThought) this.out(this.tty ? DIM : '<think>');
        this.inThought = true;
        this.out(reasoning);
      } else if (this.tty && !this.waiting) {
        this.err('[thinking…]');
        this.waiting = true;
      }
    }
    if (content) {
      this.closeThought();
      // the answer after a reasoning block starts with the blank line the template puts there
      const text = this.content === '' && this.reasoning ? content.replace(/^\n+/, '') : content;
      this.content += content;
      if (text) this.out(text);
    }
  }

  private closeThought(): void {
    if (this.inThought) this.out(this.tty ? `${UNDIM}\n` : '</think>\n');
    this.inThought = false;
    if (this.waiting) this.err('\r\x1b[K');
    this.waiting = false;
  }
}
