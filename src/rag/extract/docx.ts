// Word documents (.docx) through mammoth: converted to HTML so headings keep their levels, then read as HTML.
import mammoth from 'mammoth';
import { htmlBlocks } from './html.js';
import { ExtractError, type Extracted } from './types.js';

export async function parseDocx(bytes: Uint8Array): Promise<Extracted> {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new ExtractError('expected a DOCX (a zip archive), found other bytes',
      'the file is not a .docx (an old .doc must be saved as .docx first) or it is damaged');
  }
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })).value;
  } catch (e) {
    throw new ExtractError(`could not read the DOCX: ${e instanceof Error ? e.message : String(e)}`, 'the file is damaged; open and save it again in Word');
  }
  return { blocks: htmlBlocks(html) };
}
