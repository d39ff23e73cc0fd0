// `shitate chat`: a multi-turn terminal chat rendered with the model's own template, replies streamed.
// Reads lines with node:readline, so it works in a terminal and with piped stdin. Replies go to stdout,
// everything else (notes, help, errors) to stderr. Ctrl-C stops a reply; at the prompt it exits.
import { runChatLoop } from './chat-loop.js';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags } from './args.js';
import { FALLBACK_NOTE, MODEL_FLAGS, SAMPLING_HELP, generateOptionsFromFlags, openFromFlags, withSystemRole } from './generate.js';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { chatPrompt, generate, reasoningMode, type GenDone, type GenerateOptions, type OpenedModel } from '../generate/index.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { ReplyPrinter } from './reply-printer.js';

const COMMANDS = `commands:
  /reset          forget the conversation (the system prompt stays)
  /system TEXT    set the system prompt and start over (/system alone removes it)
  /save FILE      write the conversation as JSON {"messages": [...]} (OpenAI style)
  /exit           leave (also Ctrl-C at the prompt, or end of input)
  /help           this list`;

const usage = `usage: shitate chat --model DIR [options]

Chat with the model in the terminal, using the model's own chat template (the one training uses).
Lines starting with / are commands; Ctrl-C stops a reply.

options:
  --system TEXT             system prompt
${SAMPLING_HELP}

${COMMANDS}
`;

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

class ChatSession {
  system: string | null;
  history: ChatMessage[] = [];
  /** set while a reply streams, so Ctrl-C can stop it */
  current: AbortController | null = null;

  constructor(
    private readonly m: OpenedModel,
    private readonly opts: GenerateOptions,
    system: string | null,
    private readonly showThinking = false,
  ) {
    this.system = system;
    if (system !== null) withSystemRole(m, this.messages(), note); // says now, once, when the system prompt is folded
  }

  messages(): ChatMessage[] {
    return this.system !== null ? [{ role: 'system', content: this.system }, ...this.history] : [...this.history];
  }

  /** What the template is given: a template without a system role gets the system prompt folded in. */
  private rendered(messages: ChatMessage[]): ChatMessage[] {
    return withSystemRole(this.m, messages, () => {});
  }

  /** Handles one input line; false when the chat should end. */
  async line(raw: string): Promise<boolean> {
    const line = raw.trim();
    if (line === '') return true;
    if (line.startsWith('/')) return this.command(line);
    await this.reply(line);
    return true;
  }

  private command(line: string): boolean {
    const [name, ...rest] = line.split(/\s+/);
    const arg = line.slice(name.length).trim();
    switch (name) {
      case '/exit':
      case '/quit':
        return false;
      case '/help':
        note(COMMANDS);
        return true;
      case '/reset':
        this.history = [];
        note('[conversation cleared]');
        return true;
      case '/system':
        this.system = arg === '' ? null : arg;
        this.history = [];
        note(this.system === null ? '[system prompt removed; conversation cleared]' : '[system prompt set; conversation cleared]');
        if (this.system !== null) withSystemRole(this.m, this.messages(), note);
        return true;
      case '/save':
        if (rest.length === 0) note('usage: /save FILE');
        else this.save(arg);
        return true;
      default:
        note(`unknown command ${name}; /help lists the commands`);
        return true;
    }
  }

  private save(file: string): void {
    const messages = this.messages();
    try {
      writeFileAtomic(file, JSON.stringify({ messages }, null, 2) + '\n');
      note(`[saved ${messages.length} messages to ${file}]`);
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      note(e.format());
    }
  }

  private async reply(content: string): Promise<void> {
    const user: ChatMessage = { role: 'user', content };
    this.current = new AbortController();
    let done: GenDone | null = null;
    let printer: ReplyPrinter | null = null;
    try {
      const ids = chatPrompt(this.m.tokenizer, this.rendered([...this.messages(), user]), this.m.templateVars);
      printer = new ReplyPrinter(reasoningMode(this.m.tokenizer, ids, this.m.templateVars), this.showThinking, process.stdout.isTTY === true);
      for await (const ev of generate(this.m, ids, { ...this.opts, signal: this.current.signal })) {
        printer.write(ev.text);
        if (ev.type === 'done') done = ev;
      }
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      note(e.format());
      return;
    } finally {
      this.current = null;
    }
    const reply = printer!.end();
    process.stdout.write('\n');
    // a reply stopped with Ctrl-C stays in the history as far as it got, as it stays on screen; the template
    // decides whether earlier reasoning is shown to the model again (Qwen3's leaves it out)
    this.history.push(user, { role: 'assistant', content: reply.content, ...(reply.reasoning !== null ? { reasoning_content: reply.reasoning } : {}) });
    if (done?.finishReason === 'length') note(`[reply cut at ${done.usage.completionTokens} tokens; --max-tokens raises the limit]`);
    if (done?.finishReason === 'abort') note('[stopped]');
  }
}

async function loop(session: ChatSession): Promise<number> {
  const tty = process.stdin.isTTY === true;
  const code = await runChatLoop(session, tty);
  if (tty) process.stdout.write('\n');
  return code;
}

export const chatCommand: Command = {
  summary: 'chat with a model in the terminal (multi-turn, streamed)',
  async run(argv) {
    const p = parseFlags('chat', argv, MODEL_FLAGS);
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const opts = generateOptionsFromFlags(p);
    const m = openFromFlags('chat', p);
    if (m.tokenizer.templateSource === 'fallback') note(FALLBACK_NOTE);
    if (process.stdin.isTTY) note(`chatting with ${m.dir}${m.adapter ? ' + adapter' : ''} — /help for commands, Ctrl-C stops a reply`);
    return loop(new ChatSession(m, opts, flagStr(p, 'system') ?? null, flagBool(p, 'show-thinking')));
  },
};
