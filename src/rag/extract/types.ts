// What every document parser returns: the document as a list of structural blocks (headings, paragraphs,
// table rows) with where each came from, so chunks can cite page, section or row.
export interface Block {
  kind: 'heading' | 'text' | 'row';
  text: string;
  /** heading level, 1 = top */
  level?: number;
  /** 1-based page (PDF) */
  page?: number;
  /** 1-based row in a sheet or CSV (the header row is 1) */
  row?: number;
  /** a row of a question/answer table: the question and answer cells (the block is one FAQ entry) */
  fields?: EntryFields;
}

/** The two cells of a FAQ row that retrieval weighs differently. */
export interface EntryFields {
  question: string;
  answer: string;
}

export interface Extracted {
  blocks: Block[];
  /** pages in the document (PDF) */
  pages?: number;
}

/** A parser failure meant for the user: what was wrong with this file and what to do. */
export class ExtractError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = 'ExtractError';
  }
}

const CJK = /[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]/;

/** Joins wrapped lines of one paragraph: no space between two CJK characters, a space otherwise. */
export function joinLines(lines: readonly string[]): string {
  let out = '';
  for (const raw of lines) {
    const l = raw.trim();
    if (!l) continue;
    if (out && !(CJK.test(out[out.length - 1]) && CJK.test(l[0]))) out += ' ';
    out += l;
  }
  return out;
}
