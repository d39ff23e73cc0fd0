// A stray opening quote in a CSV cell runs on until some later quote closes it, and every row in between
// becomes part of that one cell: the file still parses, one answer silently holds the next questions.
// Flagged here: a multi-line quoted cell with text after its closing quote (the quote did not end the
// cell), or the only multi-line cell in the file when a line inside it splits into a whole row. The
// damaged row is reported with the row it swallowed and left out, so it never reaches training.
import type { CsvRow } from './csv.js';
import type { Issue } from './types.js';

/** Rows read after a suspect one before deciding that no other cell in the file spans lines. */
export const LOOKAHEAD_ROWS = 1000;

export type Guarded = { kind: 'row'; row: CsvRow } | { kind: 'issue'; issue: Issue };

const cut = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** The row as its first physical line reads (cells up to the first line break) and the line it swallowed. */
function lines(r: CsvRow, delim: string): { first: string; next: string } {
  const m = r.multiline!;
  const [head, next = ''] = r.cells[m.cell].split('\n');
  return { first: cut([...r.cells.slice(0, m.cell), `"${head}`].join(delim)), next: cut(next) };
}

function issue(r: CsvRow, file: string, delim: string): Issue {
  const { first, next } = lines(r, delim);
  return { code: 'quote_merge', loc: { file, unit: 'row', n: r.row }, params: { end: r.multiline!.endLine, first, next }, excerpt: first };
}

/** A line after the first inside the multi-line cell splits into a full row (width cells). */
function swallowsRow(r: CsvRow, delim: string, width: number): boolean {
  if (width < 2) return false;
  return r.cells[r.multiline!.cell].split('\n').slice(1).some((l) => l.split(delim).length >= width);
}

export function* guardQuoteMerge(rows: Iterable<CsvRow>, delim: string, width: number, file: string): Generator<Guarded> {
  let multilines = 0;
  let held: { row: CsvRow; after: CsvRow[] } | null = null;
  for (const r of rows) {
    if (r.multiline) multilines++;
    if (held) {
      if (!r.multiline && held.after.length < LOOKAHEAD_ROWS) {
        held.after.push(r);
        continue;
      }
      // another cell spans lines (so the file uses them), or too far to look: the held row stands
      yield { kind: 'row', row: held.row };
      for (const a of held.after) yield { kind: 'row', row: a };
      held = null;
    }
    if (r.multiline?.junk) yield { kind: 'issue', issue: issue(r, file, delim) };
    else if (r.multiline && multilines === 1 && swallowsRow(r, delim, width)) held = { row: r, after: [] };
    else yield { kind: 'row', row: r };
  }
  if (held) {
    yield { kind: 'issue', issue: issue(held.row, file, delim) };
    for (const a of held.after) yield { kind: 'row', row: a };
  }
}
