// The model's Jinja chat template as an Ollama TEMPLATE (Go text/template over .Messages). The Jinja template
// is rendered on probe conversations to learn the text around each message: what opens the chat before a
// system or a user message, what stands between two turns (by the role before and after), and what follows
// the last one (the generation prompt). The Go template reproduces exactly that; the conversion is accepted
// only when it renders test conversations byte for byte as the Jinja template does.
import { ShitateError } from '../errors.js';
import { foldSystem, systemSupport, type ChatMessage, type Tokenizer } from '../tokenizer/index.js';

/** The text a chat template writes around message contents. */
export interface ChatLayout {
  startSystem: string;
  startUser: string;
  systemToUser: string;
  userToAssistant: string;
  assistantToUser: string;
  /** after a last user message: the generation prompt */
  afterUser: string;
  /** after a last assistant message */
  afterAssistant: string;
  /** the template has no system role: system text is folded into the first user message */
  foldsSystem: boolean;
}

const PROBE = { S: '\u0001SYS\u0001', U1: '\u0001U1\u0001', A1: '\u0001A1\u0001', U2: '\u0001U2\u0001', A2: '\u0001A2\u0001' };

/** Splits `text` around the probes in order: [before first, between 1-2, ..., after last]. */
function cut(text: string, probes: string[], what: string): string[] {
  const parts: string[] = [];
  let at = 0;
  for (const p of probes) {
    const i = text.indexOf(p, at);
    if (i < 0) throw new ShitateError('E_EXPORT_TEMPLATE', `ollama: the chat template drops or rewrites message contents (${what})`, 'such a template cannot become an Ollama TEMPLATE; write the Modelfile TEMPLATE by hand');
    parts.push(text.slice(at, i));
    at = i + p.length;
  }
  parts.push(text.slice(at));
  return parts;
}

/** Learns the layout of `tok`'s template (with the run's template variables); `stripBos` removes a leading
 *  bos text, which Ollama adds itself when the GGUF says add_bos_token. */
export function chatLayout(tok: Tokenizer, vars: Record<string, unknown>, stripBos: string | null): ChatLayout {
  const render = (m: ChatMessage[], gen: boolean) => tok.renderChat(m, { addGenerationPrompt: gen, templateVars: vars });
  const msg = (role: string, content: string): ChatMessage => ({ role, content });
  const foldsSystem = systemSupport(tok, vars) !== 'native';
  const withSystem = [msg('system', PROBE.S), msg('user', PROBE.U1), msg('assistant', PROBE.A1), msg('user', PROBE.U2)];
  // a folded system message becomes "{system}\n\n{first user message}"
  const a = cut(render(foldsSystem ? foldSystem(withSystem) : withSystem, true), [PROBE.S, PROBE.U1, PROBE.A1, PROBE.U2], 'system, user, assistant, user');
  const b = cut(render([msg('user', PROBE.U1), msg('assistant', PROBE.A1), msg('user', PROBE.U2), msg('assistant', PROBE.A2)], false),
    [PROBE.U1, PROBE.A1, PROBE.U2, PROBE.A2], 'user, assistant, user, assistant');
  const unBos = (s: string) => (stripBos && s.startsWith(stripBos) ? s.slice(stripBos.length) : s);
  return {
    startSystem: unBos(a[0]), systemToUser: a[1], userToAssistant: a[2], assistantToUser: a[3], afterUser: a[4],
    startUser: unBos(b[0]), afterAssistant: b[4], foldsSystem,
  };
}

/** Renders a conversation with a layout, as the Go template does (what the verification compares). */
export function renderLayout(l: ChatLayout, messages: readonly ChatMessage[]): string {
  let out = '';
  let prev = '';
  for (const m of messages) {
    if (prev === '') out += m.role === 'system' ? l.startSystem : l.startUser;
    else if (prev === 'system') out += l.systemToUser;
    else if (prev === 'user') out += l.userToAssistant;
    else out += l.assistantToUser;
    out += m.content;
    prev = m.role;
  }
  return out + (prev === 'user' ? l.afterUser : prev === 'assistant' ? l.afterAssistant : '');
}

/** A Go string literal (Go accepts JSON's escapes; non-ASCII stays UTF-8). */
const lit = (s: string) => `{{ ${JSON.stringify(s)} }}`;

/** The Ollama TEMPLATE text for a layout. */
export function goTemplate(l: ChatLayout): string {
  return [
    '{{- $prev := "" }}',
    '{{- range .Messages }}',
    `{{- if eq $prev "" }}{{- if eq .Role "system" }}${lit(l.startSystem)}{{- else }}${lit(l.startUser)}{{- end }}`,
    `{{- else if eq $prev "system" }}${lit(l.systemToUser)}`,
    `{{- else if eq $prev "user" }}${lit(l.userToAssistant)}`,
    `{{- else }}${lit(l.assistantToUser)}`,
    '{{- end }}{{ .Content }}',
    '{{- $prev = .Role }}',
    '{{- end }}',
    `{{- if eq $prev "user" }}${lit(l.afterUser)}{{- else if eq $prev "assistant" }}${lit(l.afterAssistant)}{{- end }}`,
  ].join('\n');
}

/** Conversations the converted template must render exactly as the Jinja one (after Ollama's system folding). */
export const CHECK_CONVERSATIONS: ChatMessage[][] = [
  [{ role: 'user', content: '営業時間は?' }],
  [{ role: 'system', content: 'You answer for ACME support.' }, { role: 'user', content: 'Can I return an item?' }],
  [{ role: 'system', content: 'あなたはACMEの窓口です。\n丁寧に答えてください。' }, { role: 'user', content: '返品できますか?' },
    { role: 'assistant', content: 'はい、30日以内なら可能です。' }, { role: 'user', content: 'Thanks!\nBye.' }],
  [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' },
    { role: 'user', content: 'e' }],
];

/** Converts and verifies; throws E_EXPORT_TEMPLATE naming the first conversation that renders differently. */
export function convertChatTemplate(tok: Tokenizer, vars: Record<string, unknown>, stripBos: string | null): { layout: ChatLayout; template: string } {
  const layout = chatLayout(tok, vars, stripBos);
  for (const conv of CHECK_CONVERSATIONS) {
    const jinja = tok.renderChat(layout.foldsSystem ? foldSystem(conv) : conv, { addGenerationPrompt: true, templateVars: vars });
    const want = stripBos && jinja.startsWith(stripBos) ? jinja.slice(stripBos.length) : jinja;
    const got = renderLayout(layout, conv); // Ollama hands the system message over as it is
    if (got !== want) {
      throw new ShitateError('E_EXPORT_TEMPLATE', `ollama: the chat template does not follow one fixed text per turn (a ${conv.length}-message chat renders ${JSON.stringify(want.slice(0, 120))}, the converted template ${JSON.stringify(got.slice(0, 120))})`,
        'the GGUF embeds the template itself; Ollama can use it if you leave TEMPLATE out, or write the TEMPLATE by hand');
    }
  }
  return { layout, template: goTemplate(layout) };
}
