// Plain text and Markdown for continued pre-training: paragraphs (and Markdown sections) are packed
// into chunks of about `chunkChars` characters, each a text example with the line it starts on.

export interface TextChunk {
  text: string;
  line: number;
}

export const DEFAULT_CHUNK_CHARS = 2000;

/** Splits an over-long paragraph at sentence ends (。．.!?！？) near the limit, or hard at the limit. */
function splitLong(p: string, max: number): string[] {
  const out: string[] = [];
  let rest = p;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const m = /[。．.!?！？\n][^。．.!?！？\n]*$/.exec(window);
    const cut = m && m.index > max / 2 ? m.index + 1 : max;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut);
  }
  if (rest.trim()) out.push(rest.trim());
  return out;
}

/**
 * Streams lines, gathers paragraphs (blank-line separated; in Markdown a heading also starts a new
 * chunk, so a section is not glued to the one before), and packs them up to `max` characters.
 */
export function* chunkText(chunks: Iterable<string>, markdown: boolean, max = DEFAULT_CHUNK_CHARS): Generator<TextChunk> {
  let cur: string[] = [];
  let curLen = 0;
  let curLine = 0;
  let para: string[] = [];
  let paraLine = 0;
  let line = 0;
  let inFence = false;
  function* flushChunk(): Generator<TextChunk> {
    if (curLen > 0) yield { text: cur.join('\n\n'), line: curLine };
    cur = [];
    curLen = 0;
  }
  function* endPara(): Generator<TextChunk> {
    const p = para.join('\n').trim();
    para = [];
    if (!p) return;
    for (const piece of p.length > max ? splitLong(p, max) : [p]) {
      if (curLen > 0 && curLen + piece.length > max) yield* flushChunk();
      if (curLen === 0) curLine = paraLine;
      cur.push(piece);
      curLen += piece.length + 2;
    }
  }
  function* onLine(raw: string): Generator<TextChunk> {
    line++;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (markdown && /^\s*(```|~~~)/.test(l)) inFence = !inFence;
    if (!inFence && l.trim() === '') { yield* endPara(); return; }
    if (markdown && !inFence && /^#{1,6}\s/.test(l)) {
      yield* endPara();
      yield* flushChunk();
    }
    if (para.length === 0) paraLine = line;
    para.push(l);
  }
  let rest = '';
  for (const chunk of chunks) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      yield* onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest) yield* onLine(rest);
  yield* endPara();
  yield* flushChunk();
}
