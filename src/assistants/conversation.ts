// A conversation with an assistant: keeps the history, runs each turn (memory, sources, streamed reply,
// auto-remembered facts) and the in-chat commands. Output goes through a small sink, so the terminal chat
// and tests drive the same code.
import { ShitateError } from '../errors.js';
import type { MemoryItem } from '../memory/index.js';
import type { ChatMessage } from '../providers/index.js';
import type { Source } from '../rag/index.js';
import { quoteOf } from './grounded.js';
import { describeCuts } from './plan-report.js';
import type { ResolvedAssistant } from './resolve.js';

export interface Sink {
  /** reply text as it streams */
  text(s: string): void;
  /** everything else: notes, sources, errors */
  note(s: string): void;
}

export const CHAT_COMMANDS = `commands:
  /sources        the sources of the last answer
  /memory         what is remembered about you
  /forget ID|all  forget one fact, or all of them
  /reset          forget this conversation (long-term memory stays)
  /exit           leave (also Ctrl-C at the prompt, or end of input)
  /help           this list`;

export class Conversation {
  history: ChatMessage[] = [];
  lastSources: Source[] = [];
  /** set while a reply streams, so Ctrl-C can stop it */
  current: AbortController | null = null;

  constructor(readonly a: ResolvedAssistant, readonly userId: string, private readonly out: Sink) {}

  /** Handles one input line; false when the chat should end. */
  async line(raw: string): Promise<boolean> {
    const line = raw.trim();
    if (line === '') return true;
    if (line.startsWith('/')) return this.command(line);
    await this.turn(line);
    return true;
  }

  private command(line: string): boolean {
    const [name] = line.split(/\s+/);
    const arg = line.slice(name.length).trim();
    const mem = this.a.memoryFor(this.userId);
    switch (name) {
      case '/exit':
      case '/quit':
        return false;
      case '/help':
        this.out.note(CHAT_COMMANDS);
        break;
      case '/reset':
        this.history = [];
        this.out.note('[conversation cleared]');
        break;
      case '/sources':
        this.out.note(this.lastSources.length ? formatCitations(this.lastSources) : '[no sources for the last answer]');
        break;
      case '/memory':
        if (!mem) this.out.note('[memory is off for this assistant; set memory: true in its profile]');
        else this.out.note(mem.list().map((m) => `#${m.id} ${m.text}`).join('\n') || '[nothing remembered yet]');
        break;
      case '/forget': {
        if (!mem) this.out.note('[memory is off for this assistant]');
        else if (arg === 'all') this.out.note(`[forgot ${mem.forgetAll()} facts]`);
        else if (/^\d+$/.test(arg)) this.out.note(mem.forget([Number(arg)]) ? `[forgot #${arg}]` : `[no fact #${arg} of yours]`);
        else this.out.note('usage: /forget ID | /forget all');
        break;
      }
      default:
        this.out.note(`unknown command ${name}; /help lists the commands`);
    }
    return true;
  }

  private async turn(content: string): Promise<void> {
    const conversation = [...this.history, { role: 'user', content }];
    this.current = new AbortController();
    const signal = this.current.signal;
    let text = '';
    let finish = '';
    /** the reply ran into the end of the model's context rather than into max_tokens */
    let full = false;
    try {
      const t = await this.a.prepare(conversation, { userId: this.userId, signal });
      for (const w of t.warnings) this.out.note(`[${w}]`);
      for (const c of describeCuts(t.plan)) this.out.note(`[${c}]`);
      if (t.remembered) this.out.note(`[remembered #${t.remembered.id}: ${t.remembered.text}]`);
      for await (const ev of this.a.provider.chat({ messages: t.messages, params: this.a.params, signal, quote: quoteOf(this.a.profile, t.sources) })) {
        if (ev.type === 'text') {
          this.out.text(ev.text);
          text += ev.text;
        } else {
          finish = ev.finishReason + (ev.detail ? ` (${ev.detail})` : '');
          full = ev.usage !== null && ev.usage.promptTokens + ev.usage.completionTokens >= t.plan.context;
        }
      }
      this.out.text('\n');
      this.lastSources = t.sources;
      if (t.sources.length) this.out.note(formatCitations(t.sources));
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      this.out.note(e.format());
      return;
    } finally {
      this.current = null;
    }
    this.history = [...conversation, { role: 'assistant', content: text }];
    if (finish === 'length' && full) this.out.note(`[reply cut: the prompt and the reply filled the model's context; a larger generation.max_tokens keeps more of it for replies]`);
    else if (finish === 'length') this.out.note('[reply cut at the token limit; raise generation.max_tokens in the profile]');
    else if (finish.startsWith('abort')) this.out.note('[stopped]');
    else if (finish.startsWith('other')) this.out.note(`[the provider ended the reply: ${finish}]`);
    await this.remember(conversation);
  }

  private async remember(conversation: ChatMessage[]): Promise<void> {
    let facts: MemoryItem[] = [];
    try {
      facts = await this.a.afterReply(conversation, { userId: this.userId });
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      this.out.note(`[could not extract facts to remember: ${e.message}]`);
    }
    for (const f of facts) this.out.note(`[remembered #${f.id}: ${f.text}]`);
  }
}

export function formatCitations(sources: readonly Source[]): string {
  return `sources: ${sources.map((s) => `[${s.n}] ${s.cite}`).join('; ')}`;
}
