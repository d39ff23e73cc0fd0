// Excel workbooks (.xlsx) through exceljs: picks a sheet (by name or number; default the first visible
// one) and turns its rows into cell text with Excel's own row numbers.
import ExcelJS from 'exceljs';
import type { Issue, Loc } from './types.js';

export interface SheetRows {
  sheet: string;
  rows: { cells: string[]; row: number }[];
}

/** Text of one cell value: rich text joined, formulas by their cached result, dates as ISO dates. */
export function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) {
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if ('richText' in v && Array.isArray(v.richText)) return v.richText.map((r) => r.text ?? '').join('');
  if ('hyperlink' in v) return cellText((v as { text: ExcelJS.CellValue }).text);
  if ('result' in v || 'formula' in v || 'sharedFormula' in v) return cellText((v as { result?: ExcelJS.CellValue }).result);
  if ('error' in v) return String(v.error);
  return '';
}

function pickSheet(wb: ExcelJS.Workbook, want: string | undefined): ExcelJS.Worksheet | null {
  const sheets = wb.worksheets;
  if (want === undefined) return sheets.find((s) => s.state === 'visible') ?? sheets[0] ?? null;
  const byName = sheets.find((s) => s.name === want) ?? sheets.find((s) => s.name.normalize('NFKC').toLowerCase() === want.normalize('NFKC').toLowerCase());
  if (byName) return byName;
  if (/^\d+$/.test(want)) return sheets[Number(want) - 1] ?? null;
  return null;
}

/** Reads the workbook; a file exceljs cannot open (damaged, cut off, encrypted) becomes an issue. */
export async function readSheet(bytes: Uint8Array, file: string, sheet: string | undefined): Promise<SheetRows | Issue> {
  const wb = new ExcelJS.Workbook();
  const loc: Loc = { file, unit: 'row', n: 1 };
  try {
    // exceljs declares its own Buffer type; a Node Buffer over the same bytes is what it reads
    await wb.xlsx.load(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as ExcelJS.Buffer);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return { code: 'xlsx_unreadable', loc, params: { reason: reason.slice(0, 200) } };
  }
  const ws = pickSheet(wb, sheet);
  if (!ws) {
    return { code: 'sheet_missing', loc, params: { sheet: sheet ?? '(first)', sheets: wb.worksheets.map((s) => `"${s.name}"`).join(', ') || '(none)' } };
  }
  const rows: SheetRows['rows'] = [];
  ws.eachRow({ includeEmpty: false }, (r, n) => {
    const values = Array.isArray(r.values) ? (r.values as ExcelJS.CellValue[]) : [];
    // row.values is 1-based (index 0 is unused) and sparse where cells are empty
    const cells: string[] = [];
    for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]));
    if (cells.some((c) => c.trim() !== '')) rows.push({ cells, row: n });
  });
  return { sheet: ws.name, rows };
}
