// Streaming JSON readers: JSONL (one value per line) and a top-level JSON array read element by
// element, each value with the line it starts on; a single wrapper object ({"data": [...]}) is opened.

export type JsonItem =
  | { ok: true; value: unknown; line: number }
  | { ok: false; reason: string; line: number; truncated: boolean };

/** V8 names the end of input in these ways; at the end of a file they mean it was cut off. */
function endOfInput(msg: string): boolean {
  return /end of JSON input|Unterminated string|Unexpected end/i.test(msg);
}

function parse(text: string, line: number, last: boolean): JsonItem {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, line };
  } catch (e) {
    const msg = (e as Error).message;
    // "... at position 12 (line 1 column 13)": point at the line of the error inside a multi-line value
    const pos = /position (\d+)/.exec(msg);
    const at = pos ? line + countLines(text.slice(0, Number(pos[1]))) : line;
    return { ok: false, reason: msg.replace(/\s*\(line \d+ column \d+\)/, ''), line: at, truncated: last && endOfInput(msg) };
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** One JSON value per non-blank line. A broken last line without a newline is reported as cut off. */
export function* readJsonl(chunks: Iterable<string>): Generator<JsonItem> {
  let rest = '';
  let line = 1;
  for (const chunk of chunks) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const raw = text.slice(start, nl);
      if (raw.trim()) yield parse(raw, line, false);
      line++;
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.trim()) yield parse(rest, line, true);
}

/**
 * Reads `[v1, v2, ...]` one element at a time by tracking strings and bracket depth, so a large array
 * is never held whole. Anything else (an object, a scalar) is read whole and yielded as one value.
 */
export function* readJsonArray(chunks: Iterable<string>): Generator<JsonItem> {
  let mode: 'start' | 'array' | 'whole' | 'done' = 'start';
  let depth = 0;
  let inStr = false;
  let esc = false;
  let buf = '';
  let line = 1;
  let elemLine = 1;
  let wholeLine = 1;
  for (const chunk of chunks) {
    if (mode === 'whole') { buf += chunk; continue; }
    // where the element being read starts in this chunk (0 when it began in an earlier one)
    let start = mode === 'array' && buf !== '' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === '\n') line++;
      if (mode === 'start') {
        if (c === '[') { mode = 'array'; continue; }
        if (c.trim() === '' || c === '\uFEFF') continue;
        mode = 'whole';
        wholeLine = line;
        buf = chunk.slice(i);
        break;
      }
      if (mode !== 'array') continue;
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      if (depth === 0 && (c === ',' || c === ']')) {
        if (start >= 0) buf += chunk.slice(start, i);
        if (buf.trim()) yield parse(buf, elemLine, false);
        buf = '';
        start = -1;
        if (c === ']') mode = 'done';
        continue;
      }
      if (start < 0 && c.trim() !== '') { start = i; elemLine = line; }
      if (c === '"') inStr = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
    if (mode === 'array' && start >= 0) buf += chunk.slice(start);
  }
  if (mode === 'whole') {
    const item = parse(buf, wholeLine, true);
    if (item.ok) yield* unwrap(item.value, wholeLine);
    else yield item;
  } else if (mode === 'array') {
    yield { ok: false, reason: 'the closing ] of the array is missing', line: buf.trim() ? elemLine : line, truncated: true };
  }
}

/** A wrapper object whose only array field holds the records ({"data": [...]}) yields that array. */
function* unwrap(value: unknown, line: number): Generator<JsonItem> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const arrays = Object.entries(value as Record<string, unknown>).filter(([, v]) => Array.isArray(v));
    const known = ['messages', 'conversations', 'instruction', 'prompt', 'text'].some((k) => k in (value as object));
    if (!known && arrays.length === 1) {
      for (const v of arrays[0][1] as unknown[]) yield { ok: true, value: v, line };
      return;
    }
  }
  yield { ok: true, value, line };
}
