// Spreadsheets (CSV/TSV and XLSX): the first non-empty row names the columns; every other row becomes one
// block "column: value / column: value", numbered by its row so answers can cite it.
import ExcelJS from 'exceljs';
import { ALIASES, normHeader } from '../../data/table.js';
import { decodeText } from './text.js';
import { ExtractError, type Block, type Extracted } from './types.js';

/** RFC 4180 fields: quotes around fields, "" for a quote inside, newlines inside quotes. */
export function parseDelimited(text: string, delim: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delim) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function pickDelimiter(firstLine: string, ext: string): string {
  if (ext === '.tsv') return '\t';
  const counts = [',', '\t', ';'].map((d) => [d, firstLine.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : ',';
}

/** The question and answer columns of a header, by the names `data` recognises (質問/回答, Q/A, ...), or null. */
export function faqColumns(header: readonly string[]): { question: number; answer: number } | null {
  const find = (names: readonly string[]): number => {
    const normed = header.map(normHeader);
    for (const n of names) {
      const i = normed.indexOf(normHeader(n));
      if (i >= 0) return i;
    }
    return -1;
  };
  const question = find(ALIASES.question);
  const answer = find(ALIASES.answer);
  return question >= 0 && answer >= 0 && question !== answer ? { question, answer } : null;
}

/**
 * Rows (1-based numbers) to blocks, labelled by the header row. In a question/answer table each row is one
 * FAQ entry: its cells one per line, with the question and answer cells as fields; other tables keep a row
 * on one line ("column: value / column: value").
 */
export function rowBlocks(rows: { n: number; cells: string[] }[]): Block[] {
  const filled = rows.filter((r) => r.cells.some((c) => c.trim() !== ''));
  if (filled.length === 0) return [];
  const header = filled[0].cells.map((h, i) => h.trim() || `column ${i + 1}`);
  const faq = faqColumns(header);
  const out: Block[] = [];
  for (const r of filled.slice(1)) {
    const parts = r.cells.map((c, i) => [header[i] ?? `column ${i + 1}`, c.trim()] as const).filter(([, v]) => v !== '');
    if (!parts.length) continue;
    const question = faq ? (r.cells[faq.question] ?? '').trim() : '';
    const answer = faq ? (r.cells[faq.answer] ?? '').trim() : '';
    if (faq && (question || answer)) {
      out.push({ kind: 'row', text: parts.map(([k, v]) => `${k}: ${v}`).join('\n'), row: r.n, fields: { question, answer } });
    } else out.push({ kind: 'row', text: parts.map(([k, v]) => `${k}: ${v}`).join(' / '), row: r.n });
  }
  return out;
}

export function parseCsv(bytes: Uint8Array, ext: string): Extracted {
  const text = decodeText(bytes);
  const delim = pickDelimiter(text.slice(0, text.search(/\r|\n|$/)), ext);
  return { blocks: rowBlocks(parseDelimited(text, delim).map((cells, i) => ({ n: i + 1, cells }))) };
}

export async function parseXlsx(bytes: Uint8Array): Promise<Extracted> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as ArrayBuffer);
  } catch (e) {
    throw new ExtractError(`could not read the XLSX: ${e instanceof Error ? e.message : String(e)}`,
      'the file is damaged or not an .xlsx (save old .xls files as .xlsx first)');
  }
  const blocks: Block[] = [];
  wb.eachSheet((ws) => {
    const rows: { n: number; cells: string[] }[] = [];
    ws.eachRow({ includeEmpty: false }, (row, n) => {
      const cells: string[] = [];
      for (let c = 1; c <= ws.columnCount; c++) cells.push(row.getCell(c).text ?? '');
      rows.push({ n, cells });
    });
    const body = rowBlocks(rows);
    if (body.length) blocks.push({ kind: 'heading', text: ws.name, level: 1 }, ...body);
  });
  return { blocks };
}
