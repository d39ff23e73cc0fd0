// PDF text through unpdf (a packaged PDF.js): one pass per page, lines rejoined into paragraphs, each
// block tagged with its page so answers can cite it.
import { extractText, getDocumentProxy } from 'unpdf';
import { plainBlocks } from './text.js';
import { ExtractError, joinLines, type Block, type Extracted } from './types.js';

export async function parsePdf(bytes: Uint8Array): Promise<Extracted> {
  if (!(bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46)) {
    throw new ExtractError('expected a PDF (starting with %PDF), found other bytes', 'the file is not a PDF or is damaged; export it again as PDF');
  }
  let pages: string[];
  try {
    // PDF.js takes ownership of the buffer it is given: hand it a copy
    const doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    pages = (await extractText(doc, { mergePages: false })).text;
    await doc.destroy();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const hint = /password/i.test(why) ? 'the PDF is encrypted; save an unprotected copy' : 'the PDF is damaged; open and save it again, or export it again';
    throw new ExtractError(`could not read the PDF: ${why}`, hint);
  }
  const blocks: Block[] = [];
  pages.forEach((text, i) => blocks.push(...plainBlocks(text, joinLines, i + 1)));
  return { blocks, pages: pages.length };
}
