// A streaming CSV/TSV reader (RFC 4180 quoting, quoted newlines, CRLF/LF/CR line ends) and delimiter
// detection; rows come out one at a time with the line they start on, so memory stays flat.

export interface CsvRow {
  cells: string[];
  /** 1-based physical line the row starts on (differs from the row number when cells hold newlines). */
  line: number;
  /** 1-based row number as a spreadsheet shows it (header included). */
  row: number;
  /** the first quoted cell of the row that spans lines, if any */
  multiline?: MultilineCell;
}

/** A quoted cell holding line breaks: normal in spreadsheets, or a stray quote that swallowed rows. */
export interface MultilineCell {
  /** index of the cell in the row */
  cell: number;
  /** physical line of the closing quote */
  endLine: number;
  /** text followed the closing quote before the next delimiter: the quote did not end the cell */
  junk: boolean;
}

export interface CsvEnd {
  /** Set when the input ended inside a quoted cell: the file is probably cut off. */
  openQuoteRow: number | null;
}

const CANDIDATES = [',', '\t', ';', '|'];

/** Cells per line of a sample for one delimiter, quote-aware (quoted newlines are joined). */
function countsPerRow(sample: string, delim: string, maxRows: number): number[] {
  const counts: number[] = [];
  let inQuote = false;
  let n = 0;
  for (let i = 0; i < sample.length && counts.length < maxRows; i++) {
    const c = sample[i];
    if (c === '"') inQuote = !inQuote;
    else if (!inQuote && c === delim) n++;
    else if (!inQuote && c === '\n') {
      counts.push(n);
      n = 0;
    }
  }
  return counts;
}

/** The delimiter whose count is the same non-zero number on most of the first rows (',' if none). */
export function detectDelimiter(sample: string, preferred = ','): string {
  let best = preferred;
  let bestScore = 0;
  for (const d of [preferred, ...CANDIDATES.filter((c) => c !== preferred)]) {
    const counts = countsPerRow(sample, d, 50);
    if (counts.length === 0) {
      const single = countsPerRow(`${sample}\n`, d, 1)[0] ?? 0;
      if (single > 0 && bestScore === 0) { best = d; bestScore = 0.5; }
      continue;
    }
    const freq = new Map<number, number>();
    for (const c of counts) if (c > 0) freq.set(c, (freq.get(c) ?? 0) + 1);
    const top = Math.max(0, ...freq.values());
    // agreement across rows first; more columns break ties (a stray ';' in text is rarer than a column)
    if (top > bestScore) { best = d; bestScore = top; }
  }
  return best;
}

/**
 * Parses text chunks into rows. Quotes open only at the start of a cell (a quote inside an unquoted
 * cell is kept as text, which is what spreadsheets do); `""` inside quotes is one quote. Rows whose
 * cells are all empty are skipped but still counted, so row numbers match the spreadsheet. One flat
 * loop on purpose: it runs once per character of the file.
 */
export function* parseCsv(chunks: Iterable<string>, delim: string, end: CsvEnd): Generator<CsvRow> {
  const d = delim.charCodeAt(0);
  let cells: string[] = [];
  let cell = '';
  let inQuote = false;
  let afterQuote = false; // just closed a quote: a second quote means an escaped one
  let cellStart = true;
  let line = 1;
  let row = 1;
  let rowLine = 1;
  let pendingCR = false;
  let spans = false; // the open (or last closed) quoted cell holds a line break
  let junk = false; // text came after this cell's closing quote
  let multiline: MultilineCell | undefined;
  const endCell = (): void => {
    if (spans && !multiline) multiline = { cell: cells.length, endLine: line, junk };
    spans = false;
    junk = false;
    cells.push(cell);
  };
  const finishRow = (): CsvRow | null => {
    endCell();
    const out: CsvRow | null = cells.some((c) => c !== '') ? { cells, line: rowLine, row, ...(multiline ? { multiline } : {}) } : null;
    multiline = undefined;
    cells = [];
    cell = '';
    cellStart = true;
    afterQuote = false;
    row++;
    rowLine = line;
    return out;
  };
  for (const chunk of chunks) {
    let start = 0; // plain text between special characters is copied in one slice
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (pendingCR) {
        pendingCR = false;
        if (c === 10) { start = i + 1; continue; } // CRLF: the row already ended at CR
      }
      if (inQuote) {
        if (c === 34) { cell += chunk.slice(start, i); inQuote = false; afterQuote = true; start = i + 1; }
        else if (c === 10) { line++; spans = true; }
        continue;
      }
      if (c === 34) {
        if (cellStart || afterQuote) {
          cell += chunk.slice(start, i) + (afterQuote ? '"' : '');
          inQuote = true;
          afterQuote = false;
          cellStart = false;
          start = i + 1;
        }
        continue;
      }
      if (afterQuote && c !== d && c !== 10 && c !== 13 && c !== 32 && c !== 9) junk = true;
      afterQuote = false;
      if (c === d) {
        cell += chunk.slice(start, i);
        endCell();
        cell = '';
        cellStart = true;
        start = i + 1;
      } else if (c === 10 || c === 13) {
        cell += chunk.slice(start, i);
        line++;
        if (c === 13) pendingCR = true;
        const r = finishRow();
        if (r) yield r;
        start = i + 1;
      } else {
        cellStart = false;
      }
    }
    cell += chunk.slice(start);
  }
  end.openQuoteRow = inQuote ? row : null;
  if (cells.length > 0 || cell !== '') {
    const r = finishRow();
    if (r) yield r;
  }
}
