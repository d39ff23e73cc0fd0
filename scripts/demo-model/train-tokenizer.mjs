// Trains the byte-level BPE tokenizer of models/shitate-mini on the extracted corpus (offline, with the
// `tokenizers` Rust binding), cuts it to the target vocabulary and adds the ChatML special tokens.
// Usage: node scripts/demo-model/train-tokenizer.mjs [workDir] [modelDir] [vocabSize]
import fs from 'node:fs';
import path from 'node:path';
import rust from 'tokenizers';

export const CHAT_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** Text holding every byte value valid UTF-8 can contain, so byte fallback never meets an unknown byte. */
function allBytes() {
  const cps = [];
  for (let c = 0x20; c < 0x7f; c++) cps.push(c);
  for (let c = 0; c < 0x20; c++) if (c !== 0x0a) cps.push(c); // \r included: Windows line ends
  cps.push(0x7f);
  for (let lead = 0xc2; lead <= 0xdf; lead++) for (let cont = 0; cont < 64; cont++) cps.push(((lead & 0x1f) << 6) | cont);
  for (let lead = 0xe1; lead <= 0xef; lead++) if (lead !== 0xed) cps.push((lead & 0x0f) << 12 | 0x800);
  cps.push(0xe000, 0x800); // lead bytes 0xee, 0xe0
  for (const cp of [0x10000, 0x40000, 0x80000, 0xc0000, 0x100000]) cps.push(cp); // lead bytes 0xf0..0xf4
  cps.push(0xd7ff); // lead byte 0xed
  return String.fromCodePoint(...cps);
}

/**
 * The binding's trainer has a fixed vocabulary size, so train large and keep the first `size` ids: the
 * trainer numbers the byte alphabet first and then each merge's result in the order merges were learned,
 * so the first ids and the merges that build only them form a complete smaller BPE.
 */
function cutVocabulary(json, size) {
  const vocab = Object.entries(json.model.vocab).filter(([, id]) => id < size);
  const keep = new Set(vocab.map(([t]) => t));
  json.model.vocab = Object.fromEntries(vocab);
  json.model.merges = json.model.merges.filter((m) => {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    return keep.has(a) && keep.has(b) && keep.has(a + b);
  });
  return json;
}

function main() {
  const workDir = process.argv[2] ?? 'tmp/demo-model';
  const modelDir = process.argv[3] ?? 'models/shitate-mini';
  const size = Number(process.argv[4] ?? 8192);
  fs.mkdirSync(modelDir, { recursive: true });
  const records = fs.readFileSync(path.join(workDir, 'corpus.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const textFile = path.join(workDir, 'tokenizer-corpus.txt');
  fs.writeFileSync(textFile, records.map((r) => r.text).join('\n') + '\n' + allBytes() + '\n');

  const raw = new rust.Tokenizer(rust.BPE.empty());
  raw.setPreTokenizer(rust.byteLevelPreTokenizer(false, true));
  raw.train([textFile]);
  const rawFile = path.join(workDir, 'tokenizer-untrimmed.json');
  raw.save(rawFile, false);
  const json = cutVocabulary(JSON.parse(fs.readFileSync(rawFile, 'utf8')), size - SPECIALS.length);

  // reload the cut model so the special tokens get the ids right after it
  const trimmedFile = path.join(workDir, 'tokenizer-trimmed.json');
  fs.writeFileSync(trimmedFile, JSON.stringify(json));
  const tok = rust.Tokenizer.fromFile(trimmedFile);
  tok.addSpecialTokens(SPECIALS);
  const out = path.join(modelDir, 'tokenizer.json');
  tok.save(out, false);
  const final = JSON.parse(fs.readFileSync(out, 'utf8'));
  final.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  fs.writeFileSync(out, JSON.stringify(final));
  fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'PreTrainedTokenizerFast', bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>',
    unk_token: null, model_max_length: 512, clean_up_tokenization_spaces: false, chat_template: CHAT_TEMPLATE,
  }, null, 2) + '\n');
  const ids = Object.fromEntries(SPECIALS.map((s) => [s, tok.tokenToId(s)]));
  console.log(`vocabulary ${tok.getVocabSize(true)} (merges ${final.model.merges.length}), specials ${JSON.stringify(ids)}`);
  for (const f of [textFile, rawFile, trimmedFile]) fs.rmSync(f);
}

main();
