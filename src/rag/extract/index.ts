// Picks the parser by file extension; every parser returns structural blocks or throws ExtractError.
import path from 'node:path';
import { parseDocx } from './docx.js';
import { parseHtml } from './html.js';
import { parsePdf } from './pdf.js';
import { parseCsv, parseXlsx } from './table.js';
import { decodeText, parseMarkdown, parsePlain } from './text.js';
import { ExtractError, type Extracted } from './types.js';

export { ExtractError, type Block, type Extracted } from './types.js';
export { decodeText } from './text.js';

export const SUPPORTED: Record<string, string> = {
  '.txt': 'text', '.text': 'text', '.md': 'markdown', '.markdown': 'markdown', '.html': 'html', '.htm': 'html',
  '.pdf': 'pdf', '.docx': 'docx', '.csv': 'csv', '.tsv': 'csv', '.xlsx': 'xlsx',
};

export function kindOf(file: string): string | null {
  return SUPPORTED[path.extname(file).toLowerCase()] ?? null;
}

export async function extract(file: string, bytes: Uint8Array): Promise<Extracted> {
  const ext = path.extname(file).toLowerCase();
  switch (kindOf(file)) {
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
