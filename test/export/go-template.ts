// A small interpreter of Go's text/template, enough for Ollama TEMPLATEs over .Messages: trim markers, string
// literals, .Role / .Content, variables ($x := v, $x = v), range, if / else if / else with eq. Unknown syntax
// throws, so a template using more than this is noticed rather than misread.

type Expr = { kind: 'lit'; value: string } | { kind: 'field'; name: string } | { kind: 'var'; name: string };
type Cond = { a: Expr; b: Expr };
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; expr: Expr }
  | { kind: 'set'; name: string; expr: Expr }
  | { kind: 'range'; body: Node[] }
  | { kind: 'if'; cond: Cond; then: Node[]; else: Node[] };

type Token = { kind: 'text'; text: string } | { kind: 'action'; src: string };

function lex(src: string): Token[] {
  const out: Token[] = [];
  let at = 0;
  while (at < src.length) {
    const open = src.indexOf('{{', at);
    if (open < 0) {
      out.push({ kind: 'text', text: src.slice(at) });
      break;
    }
    let text = src.slice(at, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error(`unclosed action at ${open}`);
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(2);
    }
    out.push({ kind: 'text', text });
    let next = close + 2;
    if (inner.endsWith(' -')) {
      inner = inner.slice(0, -2);
      while (next < src.length && /\s/.test(src[next])) next++;
    }
    out.push({ kind: 'action', src: inner.trim() });
    at = next;
  }
  return out.filter((t) => t.kind === 'action' || t.text !== '');
}

function expr(s: string): Expr {
  if (s.startsWith('"')) return { kind: 'lit', value: JSON.parse(s) as string };
  if (/^\.[A-Z][A-Za-z]*$/.test(s)) return { kind: 'field', name: s.slice(1) };
  if (/^\$[a-z]+$/.test(s)) return { kind: 'var', name: s };
  throw new Error(`unsupported expression ${s}`);
}

function cond(s: string): Cond {
  const m = /^eq (\S+|"(?:[^"\\]|\\.)*") (\S+|"(?:[^"\\]|\\.)*")$/.exec(s);
  if (!m) throw new Error(`unsupported condition ${s}`);
  return { a: expr(m[1]), b: expr(m[2]) };
}

function parse(tokens: Token[], at: { i: number }, stop: string[]): { nodes: Node[]; end: string } {
  const nodes: Node[] = [];
  while (at.i < tokens.length) {
    const t = tokens[at.i++];
    if (t.kind === 'text') {
      nodes.push({ kind: 'text', text: t.text });
      continue;
    }
    const a = t.src;
    if (stop.some((s) => a === s || a.startsWith(`${s} `))) return { nodes, end: a };
    let m: RegExpExecArray | null;
    if ((m = /^(\$[a-z]+) :?= (.+)$/.exec(a))) nodes.push({ kind: 'set', name: m[1], expr: expr(m[2]) });
    else if (a === 'range .Messages') nodes.push({ kind: 'range', body: parse(tokens, at, ['end']).nodes });
    else if (a.startsWith('if ')) nodes.push(ifNode(a.slice(3), tokens, at));
    else nodes.push({ kind: 'print', expr: expr(a) });
  }
  if (stop.length) throw new Error(`missing {{ ${stop.join(' / ')} }}`);
  return { nodes, end: '' };
}

function ifNode(c: string, tokens: Token[], at: { i: number }): Node {
  const then = parse(tokens, at, ['else', 'end']);
  if (then.end === 'end') return { kind: 'if', cond: cond(c), then: then.nodes, else: [] };
  if (then.end.startsWith('else if ')) return { kind: 'if', cond: cond(c), then: then.nodes, else: [ifNode(then.end.slice(8), tokens, at)] };
  return { kind: 'if', cond: cond(c), then: then.nodes, else: parse(tokens, at, ['end']).nodes };
}

export interface GoMessage { Role: string; Content: string }

/** Renders `template` with .Messages (Ollama's chat data). */
export function renderGo(template: string, messages: readonly GoMessage[]): string {
  const tree = parse(lex(template), { i: 0 }, []).nodes;
  const vars = new Map<string, string>();
  let out = '';
  const value = (e: Expr, dot: GoMessage | null): string => {
    if (e.kind === 'lit') return e.value;
    if (e.kind === 'var') {
      const v = vars.get(e.name);
      if (v === undefined) throw new Error(`undefined variable ${e.name}`);
      return v;
    }
    if (!dot || !(e.name in dot)) throw new Error(`no field .${e.name} here`);
    return dot[e.name as keyof GoMessage];
  };
  const run = (nodes: Node[], dot: GoMessage | null): void => {
    for (const n of nodes) {
      if (n.kind === 'text') out += n.text;
      else if (n.kind === 'print') out += value(n.expr, dot);
      else if (n.kind === 'set') vars.set(n.name, value(n.expr, dot));
      else if (n.kind === 'range') for (const m of messages) run(n.body, m);
      else run(value(n.cond.a, dot) === value(n.cond.b, dot) ? n.then : n.else, dot);
    }
  };
  run(tree, null);
  return out;
}
