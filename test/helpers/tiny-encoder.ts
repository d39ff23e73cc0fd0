// Builds tiny encoder folders for tests: a tokenizer trained here offline with the `tokenizers` binding (WordPiece
// with BERT's normalizer for bert / modernbert, Unigram with Metaspace for xlm-roberta) on the sample FAQ and a
// few English lines, config.json, random weights from the family's own parameter table, and optionally the
// sentence-transformers files (modules.json, 1_Pooling, prompts). Cached per options within a test process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import rust from 'tokenizers';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { Rng } from '../../src/kernels/rng.js';
import { Fields } from '../../src/io/json-fields.js';
import { findEncoderFamily } from '../../src/models/encoder-load.js';
import { tableTensors } from '../../src/models/params.js';

const ROOT = path.join(import.meta.dirname, '..', '..');

/** The sample FAQ as UTF-8 text (it ships as Shift_JIS) plus English lines. */
export function faqCorpus(): string {
  const csv = execFileSync('iconv', ['-f', 'CP932', '-t', 'UTF-8', path.join(ROOT, 'examples', 'faq', 'faq.csv')]).toString('utf8');
  return `${csv}\nThe office is open on weekdays. Refunds within 30 days. How do I reset my password?\nquery: passage: 検索クエリ: 検索文書:\n`;
}

export interface TinyEncoderOptions {
  arch?: 'bert' | 'xlm-roberta' | 'modernbert';
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  seed?: number;
  /** sentence-transformers files: pooling mode and whether a Normalize module follows */
  sentence?: { pooling: 'mean' | 'cls' | 'lasttoken'; normalize: boolean; prompts?: Record<string, string> } | null;
  /** a name the folder carries (e.g. "multilingual-e5-tiny" for e5's prompt convention) */
  name?: string;
}

function writeTokenizer(dir: string, arch: string): { vocab: number; pad: number } {
  const corpusFile = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpusFile, faqCorpus());
  let t: rust.Tokenizer;
  if (arch === 'xlm-roberta') {
    t = new rust.Tokenizer(rust.Unigram.empty());
    t.setNormalizer(rust.nfkcNormalizer());
    t.setPreTokenizer(rust.metaspacePreTokenizer());
    t.setDecoder(rust.metaspaceDecoder());
  } else {
    t = new rust.Tokenizer(rust.WordPiece.init({}, { unkToken: '[UNK]' }));
    t.setNormalizer(rust.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true }));
    t.setPreTokenizer(rust.bertPreTokenizer());
    t.setDecoder(rust.wordPieceDecoder());
  }
  t.train([corpusFile]);
  fs.rmSync(corpusFile);
  const file = path.join(dir, 'tokenizer.json');
  t.save(file, false);
  const names = arch === 'xlm-roberta' ? ['<s>', '<pad>', '</s>', '<unk>', '<mask>'] : ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const [cls, sep, pad, unk, mask] = arch === 'xlm-roberta' ? ['<s>', '</s>', '<pad>', '<unk>', '<mask>'] : ['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]'];
  writeSpecials(file, names, arch === 'xlm-roberta' ? 'RobertaProcessing' : 'BertProcessing', [cls, sep, unk]);
  const vocab = rust.Tokenizer.fromFile(file).getVocabSize(true); // the library reads it back
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
    cls_token: cls, sep_token: sep, pad_token: pad, unk_token: unk, mask_token: mask, model_max_length: 128,
    ...(arch === 'xlm-roberta' ? { bos_token: cls, eos_token: sep } : { do_lower_case: true }),
  }));
  return { vocab, pad: names.indexOf(pad) };
}

/** Puts the special tokens at ids 0..n-1, as published tokenizers have them (the learned vocabulary shifts up), in
 *  added_tokens and in the model's own vocabulary (where WordPiece and Unigram look up the unknown token), and
 *  adds the post-processor around single texts. */
function writeSpecials(file: string, names: string[], processor: 'BertProcessing' | 'RobertaProcessing', [cls, sep, unk]: string[]): void {
  type Json = Record<string, unknown> & { model: { vocab: Record<string, number> | [string, number][]; unk_id?: number } };
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  const n = names.length;
  if (Array.isArray(json.model.vocab)) {
    json.model.vocab = [...names.map((s): [string, number] => [s, 0]), ...json.model.vocab];
    json.model.unk_id = names.indexOf(unk);
  } else {
    json.model.vocab = Object.fromEntries([...names.map((s, i) => [s, i]), ...Object.entries(json.model.vocab).map(([k, v]) => [k, v + n])]);
  }
  json.added_tokens = names.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  json.post_processor = { type: processor, sep: [sep, names.indexOf(sep)], cls: [cls, names.indexOf(cls)],
    ...(processor === 'RobertaProcessing' ? { trim_offsets: true, add_prefix_space: true } : {}) };
  fs.writeFileSync(file, JSON.stringify(json));
}

function configFor(arch: string, o: TinyEncoderOptions, vocab: number, pad: number): Record<string, unknown> {
  const [C, L, H, F] = [o.hidden ?? 32, o.layers ?? 2, o.heads ?? 4, o.intermediate ?? 64];
  if (arch === 'modernbert') {
    return { architectures: ['ModernBertModel'], model_type: 'modernbert', vocab_size: vocab, hidden_size: C, num_hidden_layers: L, num_attention_heads: H,
      intermediate_size: F, max_position_embeddings: 256, local_attention: 16, global_attn_every_n_layers: 2, pad_token_id: pad, norm_eps: 1e-5 };
  }
  return {
    architectures: [arch === 'bert' ? 'BertModel' : 'XLMRobertaModel'], model_type: arch, vocab_size: vocab, hidden_size: C, num_hidden_layers: L,
    num_attention_heads: H, intermediate_size: F, hidden_act: 'gelu', max_position_embeddings: arch === 'bert' ? 128 : 130,
    type_vocab_size: arch === 'bert' ? 2 : 1, layer_norm_eps: 1e-12, pad_token_id: pad, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
  };
}

function writeWeights(dir: string, config: Record<string, unknown>, seed: number): void {
  const fam = findEncoderFamily(String(config.model_type))!;
  const c = fam.parseConfig(new Fields('config.json', config));
  const rng = new Rng(seed);
  // the base-model layout (no task prefix), as BertModel / XLMRobertaModel / ModernBertModel save it
  const stored = (n: string) => n.replace(/^(bert|roberta|model)\./, '');
  writeSafetensors(path.join(dir, 'model.safetensors'), tableTensors(fam.table(c)).map(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = /(LayerNorm|norm)\.weight$/.test(name);
    const data = Float32Array.from({ length: n }, () => (norm ? 1 : name.endsWith('.bias') ? 0 : rng.normal() * 0.1));
    return { name: stored(name), shape: [...shape], dtype: 'F32' as const, data };
  }), { format: 'pt' });
}

function writeSentenceFiles(dir: string, s: NonNullable<TinyEncoderOptions['sentence']>, C: number): void {
  const modules = [{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ...(s.normalize ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }] : [])];
  fs.writeFileSync(path.join(dir, 'modules.json'), JSON.stringify(modules));
  fs.mkdirSync(path.join(dir, '1_Pooling'));
  fs.writeFileSync(path.join(dir, '1_Pooling', 'config.json'), JSON.stringify({
    word_embedding_dimension: C, pooling_mode_cls_token: s.pooling === 'cls', pooling_mode_mean_tokens: s.pooling === 'mean',
    pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false, pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: s.pooling === 'lasttoken', include_prompt: true,
  }));
  fs.writeFileSync(path.join(dir, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 64, do_lower_case: false }));
  if (s.prompts) fs.writeFileSync(path.join(dir, 'config_sentence_transformers.json'), JSON.stringify({ prompts: s.prompts, default_prompt_name: null }));
}

const cache = new Map<string, string>();

/** A ready encoder folder (cached per options within one test process). Never modify it in a test. */
export function tinyEncoderDir(o: TinyEncoderOptions = {}): string {
  const key = JSON.stringify(o);
  const hit = cache.get(key);
  if (hit) return hit;
  const arch = o.arch ?? 'bert';
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-enc-'));
  const dir = path.join(parent, o.name ?? `tiny-${arch}`);
  fs.mkdirSync(dir);
  const { vocab, pad } = writeTokenizer(dir, arch);
  const config = configFor(arch, o, vocab, pad);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeWeights(dir, config, o.seed ?? 1);
  if (o.sentence) writeSentenceFiles(dir, o.sentence, Number(config.hidden_size));
  cache.set(key, dir);
  return dir;
}
