// Text from outside (files, HTTP bodies, command lines) made safe for every consumer (tokenizers, the
// Japanese analyser, SQLite, JSON): lone UTF-16 surrogate halves become U+FFFD, and control characters
// other than tab and line breaks are dropped. Counting them lets importers report where they were.

type Action = 'keep' | 'drop' | 'newline';

/** What happens to one UTF-16 unit outside the surrogate range. */
function actionOf(c: number): Action {
  if (c === 0x0b || c === 0x0c || c === 0x85) return 'newline'; // vertical tab, form feed, NEL: line breaks
  if (c === 0x09 || c === 0x0a || c === 0x0d) return 'keep';
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xfffe || c === 0xffff) return 'drop'; // C0, DEL, C1, noncharacters
  return 'keep';
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Calls `bad(i, replacement)` for every unit that cleaning changes; returns whether there was any. */
function scan(s: string, bad: (i: number, replacement: string) => void): boolean {
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue; // the common case first
    if (isHigh(c) && isLow(s.charCodeAt(i + 1))) {
      i++; // a valid pair
      continue;
    }
    const a = isHigh(c) || isLow(c) ? 'fffd' : actionOf(c);
    if (a === 'keep') continue;
    any = true;
    bad(i, a === 'fffd' ? '\ufffd' : a === 'newline' ? '\n' : '');
  }
  return any;
}

/**
 * The text with lone surrogates replaced by U+FFFD, control characters removed (form feed, vertical tab
 * and NEL become a line break), everything else untouched. Returns `s` itself when it is clean.
 */
export function cleanControls(s: string): string {
  let out = '';
  let from = 0;
  const changed = scan(s, (i, replacement) => {
    out += s.slice(from, i) + replacement;
    from = i + 1;
  });
  return changed ? out + s.slice(from) : s;
}

/** Names used in reports for the characters cleanControls removes or replaces. */
function nameOf(c: number): string {
  if (c === 0) return 'NUL';
  if (c >= 0xd800 && c <= 0xdfff) return 'lone surrogate';
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

export interface ControlCount {
  count: number;
  /** distinct kinds found (at most four), e.g. "NUL, U+0007" */
  names: string;
}

/** How many characters cleanControls would remove or replace in `s`. */
export function countControls(s: string): ControlCount {
  const names = new Set<string>();
  let count = 0;
  scan(s, (i) => {
    count++;
    names.add(nameOf(s.charCodeAt(i)));
  });
  return { count, names: [...names].slice(0, 4).join(', ') };
}
