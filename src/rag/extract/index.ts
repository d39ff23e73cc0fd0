// Picks the parser by file extension; every parser returns structural blocks or throws ExtractError.
import path from 'node:path';
import { parseDocx } from './docx.js';
import { parseHtml } from './html.js';
import { parsePdf } from './pdf.js';
import { parseCsv, parseXlsx } from './table.js';
import { decodeText, parseMarkdown, parsePlain } from './text.js';
import { ExtractError, type Extracted } from './types.js';
import { checkZip, describeRefusal, zipLimitsFromEnv, type ZipLimits } from '../../data/zip-guard.js';

export { ExtractError, type Block, type EntryFields, type Extracted } from './types.js';
export { decodeText } from './text.js';

export const SUPPORTED: Record<string, string> = {
  '.txt': 'text', '.text': 'text', '.md': 'markdown', '.markdown': 'markdown', '.html': 'html', '.htm': 'html',
  '.pdf': 'pdf', '.docx': 'docx', '.csv': 'csv', '.tsv': 'csv', '.xlsx': 'xlsx',
};

export function kindOf(file: string): string | null {
  return SUPPORTED[path.extname(file).toLowerCase()] ?? null;
}

/** Refuses a DOCX or XLSX that would unpack past `limits`, before its parser inflates anything. */
async function guardZip(bytes: Uint8Array, limits: ZipLimits): Promise<void> {
  const refused = await checkZip(bytes, limits);
  if (!refused) return;
  const d = describeRefusal(refused);
  throw new ExtractError(`${d.en}; not read`, d.hint);
}

export async function extract(file: string, bytes: Uint8Array, zipLimits: ZipLimits = zipLimitsFromEnv()): Promise<Extracted> {
  const ext = path.extname(file).toLowerCase();
  const kind = kindOf(file);
  if (kind === 'docx' || kind === 'xlsx') await guardZip(bytes, zipLimits);
  switch (kind) {
    case 'text':
      return parsePlain(bytes);
    case 'markdown':
      return parseMarkdown(bytes);
    case 'html':
      return parseHtml(decodeText(bytes));
    case 'pdf':
      return parsePdf(bytes);
    case 'docx':
      return parseDocx(bytes);
    case 'csv':
      return parseCsv(bytes, ext);
    case 'xlsx':
      return parseXlsx(bytes);
    default:
      throw new ExtractError(`expected one of ${Object.keys(SUPPORTED).join(' ')}, found "${ext || '(no extension)'}"`,
        'convert the file to a supported format (e.g. save as PDF, DOCX or text)');
  }
}
