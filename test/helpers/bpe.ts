// Trains a byte-level BPE tokenizer offline with the `tokenizers` binding and saves tokenizer.json with the
// ByteLevel decoder transformers writes (the Node binding has no constructor for it). Shared test helper.
import fs from 'node:fs';
import path from 'node:path';
import rust from 'tokenizers';

/** one character for every byte value UTF-8 can hold, so the byte-level alphabet is complete */
export function everyByte(): string {
  const cps: number[] = [];
  for (let c = 0; c < 0x800; c++) cps.push(c); // ASCII, continuation bytes 80-BF, leaders C2-DF
  for (let lead = 0xe0; lead <= 0xef; lead++) cps.push(lead === 0xe0 ? 0x800 : (lead - 0xe0) << 12); // leaders E0-EF
  for (let lead = 0xf0; lead <= 0xf4; lead++) cps.push(lead === 0xf0 ? 0x10000 : (lead - 0xf0) << 18); // F0-F4
  return String.fromCodePoint(...cps);
}

export interface BpeOptions {
  /** special tokens added after training, in order */
  specials: string[];
  /** a special token the post-processor puts before every encoded text (e.g. '<s>') */
  bos?: string;
}

/** Trains on `corpus`, writes dir/tokenizer.json and returns the tokenizer (for ids and vocab size). */
export function trainBpe(dir: string, corpus: string, o: BpeOptions): rust.Tokenizer {
  const corpusFile = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpusFile, corpus);
  const t = new rust.Tokenizer(rust.BPE.empty());
  t.setPreTokenizer(rust.byteLevelPreTokenizer(false, true));
  t.train([corpusFile]);
  fs.rmSync(corpusFile);
  t.addSpecialTokens(o.specials);
  if (o.bos) {
    const bos = t.tokenToId(o.bos);
    if (bos === null) throw new Error(`training lost ${o.bos}`);
    t.setPostProcessor(rust.templateProcessing(`${o.bos} $A`, undefined, [[o.bos, bos]]));
  }
  const file = path.join(dir, 'tokenizer.json');
  t.save(file, false);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  json.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  fs.writeFileSync(file, JSON.stringify(json));
  return t;
}
