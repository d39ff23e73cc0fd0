// The tokenizer as GGUF metadata llama.cpp loads: a byte-level BPE tokenizer.json becomes tokenizer.ggml.model
// "gpt2" (tokens, types, merges, and the pre-tokenizer llama.cpp must split with, recognised from the
// tokenizer.json's own regex), a SentencePiece-style BPE with byte fallback becomes "llama" (tokens, scores,
// types, space prefix). Anything llama.cpp cannot reproduce is refused rather than exported wrong.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { readJsonObject, type Json } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import type { Tokenizer } from '../tokenizer/index.js';
import type { GgufMetadata } from './gguf-writer.js';

/** llama_token_type values (llama.h). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

// The pre-tokenizer regexes of Llama 3, Qwen2 and Qwen3.5 as their tokenizer.json spell them (llama.cpp's
// LLAMA_VOCAB_PRE_TYPE_LLAMA3 / _QWEN2 / _QWEN35 split the same way); they differ in digit runs and in whether
// combining marks (\p{M}) stay with the letters before them.
const SPLIT = (digits: string, letters = '\\p{L}', other = '\\p{L}\\p{N}') =>
  `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?${letters}+|${digits}| ?[^\\s${other}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const PRE_BY_REGEX: Record<string, string> = {
  [SPLIT('\\p{N}{1,3}')]: 'llama-bpe', [SPLIT('\\p{N}')]: 'qwen2',
  [SPLIT('\\p{N}', '[\\p{L}\\p{M}]', '\\p{L}\\p{M}\\p{N}')]: 'qwen35',
};

function refuseTokenizer(file: string, found: string): never {
  throw new ShitateError('E_EXPORT_TOKENIZER', `${file}: expected a byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM style) or a SentencePiece-style BPE with byte fallback, found ${found}`,
    'llama.cpp would tokenize this model differently from its Hugging Face tokenizer, so the GGUF is not written; serve the model with `shitate serve` or vLLM');
}

const isByteLevel = (n: unknown, useRegex: boolean): boolean =>
  isRecord(n) && n.type === 'ByteLevel' && (n.use_regex ?? true) === useRegex && n.add_prefix_space !== true;

/** BLOOM's split as its tokenizer.json spells it: runs of anything but whitespace, parentheses, "|" and a set of
 *  Latin, CJK, Devanagari and Arabic punctuation, with one leading space (llama.cpp's "bloom" rule). */
const BLOOM_SPLIT = ' ?[^(\\s|[.,!?…。，、।۔،])]+';

/** tokenizer.ggml.pre for a byte-level tokenizer: which of llama.cpp's splitting rules equals its own. */
export function bytePreTokenizer(tok: Json, file: string): string {
  const pre = tok.pre_tokenizer;
  if (isByteLevel(pre, true)) return 'gpt-2';
  const list = isRecord(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [];
  if (list.length === 2 && isByteLevel(list[1], true) && isRecord(list[0]) && list[0].type === 'Digits' && list[0].individual_digits === true) return 'smollm';
  if (list.length === 2 && isByteLevel(list[1], false) && isRecord(list[0]) && list[0].type === 'Split') {
    const s = list[0];
    const re = isRecord(s.pattern) ? s.pattern.Regex : undefined;
    const name = typeof re === 'string' ? (re === BLOOM_SPLIT ? 'bloom' : PRE_BY_REGEX[re]) : undefined;
    if (name && s.behavior === 'Isolated' && s.invert !== true) return name;
  }
  if (list.length === 4 && isRecord(list[0]) && list[0].type === 'Punctuation' && isRecord(list[3]) && list[3].type === 'Split') {
    // Falcon's Digits step parts a space from the number after it; llama.cpp's "falcon" regexes keep " 12" whole
    // (measured: "price: 12,345" is " 1" "2" there, " " "12" here)
    return refuseTokenizer(file, 'Falcon\'s pre-tokenizer (punctuation, byte-level, digits, digit triples), which llama.cpp\'s "falcon" rule splits differently around digit runs (" 12")');
  }
  return refuseTokenizer(file, `the pre-tokenizer ${JSON.stringify(pre).slice(0, 200)}`);
}

/** Tokens that look like control tokens even when tokenizer.json does not mark them special (convert's rule). */
function looksSpecial(t: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) || (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<unused') && t.endsWith('>'));
}

interface Added { content: string; special: boolean }

function addedTokens(tok: Json): Map<number, Added> {
  const out = new Map<number, Added>();
  for (const t of Array.isArray(tok.added_tokens) ? tok.added_tokens : []) {
    if (isRecord(t) && typeof t.id === 'number' && typeof t.content === 'string') out.set(t.id, { content: t.content, special: t.special === true });
  }
  return out;
}

function baseVocab(tok: Json, file: string): Map<number, string> {
  const model = tok.model as Json;
  const vocab = model.vocab;
  if (!isRecord(vocab)) return refuseTokenizer(file, `a ${String(model.type)} model without a token -> id vocabulary`);
  const out = new Map<number, string>();
  for (const [t, id] of Object.entries(vocab)) if (typeof id === 'number') out.set(id, t);
  return out;
}

/** Merges as llama.cpp reads them: "left right", a space inside a part written as U+0120 (gguf-py's rule). */
function mergesOf(model: Json): string[] {
  const m = Array.isArray(model.merges) ? model.merges : [];
  return m.map((e) => (typeof e === 'string' ? e : Array.isArray(e) ? e.map((p) => String(p).replace(/ /g, '\u0120')).join(' ') : ''));
}

/** token -> the rank of the first merge that produces it. */
function mergeRanks(merges: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  merges.forEach((m, i) => {
    const token = m.replace(' ', '');
    if (!out.has(token)) out.set(token, i + 1);
  });
  return out;
}

export interface VocabExport {
  meta: GgufMetadata;
  /** tokenizer.ggml.model */
  model: 'gpt2' | 'llama';
  tokens: string[];
}

function tokenTable(V: number, file: string, base: Map<number, string>, added: Map<number, Added>, kind: 'gpt2' | 'llama'):
  { tokens: string[]; types: number[] } {
  const tokens: string[] = [];
  const types: number[] = [];
  let top = -1;
  for (const id of [...base.keys(), ...added.keys()]) if (id > top) top = id;
  if (top >= V) {
    throw new ShitateError('E_EXPORT_TOKENIZER', `${file}: token id ${top} is beyond the model's vocab_size ${V}`, 'the tokenizer belongs to another model; use the tokenizer files of this checkpoint');
  }
  for (let i = 0; i < V; i++) {
    const a = added.get(i);
    const b = base.get(i);
    if (a) {
      const control = a.special || looksSpecial(a.content);
      // user-defined tokens are matched as raw text; SentencePiece vocabularies spell their spaces as U+2581
      tokens.push(control || kind === 'gpt2' ? a.content : a.content.replace(/\u2581/g, ' '));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else if (b !== undefined) {
      tokens.push(b);
      types.push(kind === 'llama' && /^<0x[0-9A-Fa-f]{2}>$/.test(b) ? TokenType.BYTE : TokenType.NORMAL);
    } else {
      tokens.push(`[PAD${i}]`);
      types.push(TokenType.UNUSED);
    }
  }
  return { tokens, types };
}

/** Does a SentencePiece-style tokenizer.json put U+2581 before the first word (llama.cpp add_space_prefix)? */
function spmSpacePrefix(tok: Json, file: string): boolean {
  const norm = tok.normalizer;
  const list = isRecord(norm) ? (norm.type === 'Sequence' && Array.isArray(norm.normalizers) ? norm.normalizers : [norm]) : [];
  const replaces = list.some((n) => isRecord(n) && n.type === 'Replace' && n.content === '\u2581');
  const prepends = list.some((n) => isRecord(n) && n.type === 'Prepend' && n.prepend === '\u2581');
  const pre = tok.pre_tokenizer;
  if (isRecord(pre) && pre.type === 'Metaspace' && pre.replacement === '\u2581') return pre.prepend_scheme !== 'never' && pre.add_prefix_space !== false;
  // Gemma splits on " " after its normalizer has replaced every space: a split that never applies
  const noOpSplit = isRecord(pre) && pre.type === 'Split' && isRecord(pre.pattern) && pre.pattern.String === ' ';
  if (pre !== null && pre !== undefined && !noOpSplit) refuseTokenizer(file, `a byte-fallback BPE with the pre-tokenizer ${JSON.stringify(pre).slice(0, 160)}`);
  if (replaces) return prepends;
  return refuseTokenizer(file, `a byte-fallback BPE whose normalizer ${JSON.stringify(norm).slice(0, 160)} does not spell spaces as U+2581`);
}

/** The tokenizer metadata of the model folder `dir` for a model of vocab_size V. */
export function vocabMetadata(dir: string, tok: Tokenizer, V: number): VocabExport {
  const file = path.join(dir, 'tokenizer.json');
  const json = readJsonObject(file, 'download tokenizer.json with the model');
  const model = json.model as Json;
  const base = baseVocab(json, file);
  const added = addedTokens(json);
  const meta: GgufMetadata = [];
  let kind: 'gpt2' | 'llama';
  if (model.type === 'BPE' && model.byte_fallback !== true && isRecord(json.decoder) && json.decoder.type === 'ByteLevel') {
    kind = 'gpt2';
    const norm = json.normalizer;
    if (norm !== null && norm !== undefined && !(isRecord(norm) && norm.type === 'NFC')) refuseTokenizer(file, `the normalizer ${JSON.stringify(norm).slice(0, 160)}`);
    meta.push(['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }], ['tokenizer.ggml.pre', { type: 'string', value: bytePreTokenizer(json, file) }]);
  } else if (model.type === 'BPE' && model.byte_fallback === true) {
    kind = 'llama';
    meta.push(['tokenizer.ggml.model', { type: 'string', value: 'llama' }], ['tokenizer.ggml.pre', { type: 'string', value: 'default' }]);
  } else {
    return refuseTokenizer(file, `a ${String(model.type)} model${model.byte_fallback ? ' with byte fallback' : ''} (decoder ${JSON.stringify(json.decoder).slice(0, 80)})`);
  }
  const { tokens, types } = tokenTable(V, file, base, added, kind);
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => {
    const prev = seen.get(t);
    if (prev !== undefined) refuseTokenizer(file, `the token text ${JSON.stringify(t)} at both id ${prev} and id ${i} (llama.cpp needs unique tokens)`);
    seen.set(t, i);
  });
  if (tok.unicodeForm && tok.unicodeForm !== 'NFC') refuseTokenizer(file, `a ${tok.unicodeForm} normalizer`);
  meta.push(['tokenizer.ggml.tokens', { type: 'strings', value: tokens }], ['tokenizer.ggml.token_type', { type: 'i32s', value: types }]);
  if (kind === 'gpt2') meta.push(['tokenizer.ggml.merges', { type: 'strings', value: mergesOf(model) }]);
  else {
    // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose result scores highest; the score of a
    // token is minus the rank of the merge that makes it, so it merges in the order the tokenizer.json's BPE
    // does (token ids are not that order: Mistral's "▁▁" is id 259 but one of the last merges)
    const rank = mergeRanks(mergesOf(model));
    const scores = types.map((t, i) => (t === TokenType.NORMAL ? -(rank.get(tokens[i]) ?? 0) : t === TokenType.USER_DEFINED || t === TokenType.UNUSED ? -1000 : 0));
    meta.push(['tokenizer.ggml.scores', { type: 'f32s', value: scores }], ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: spmSpacePrefix(json, file) }]);
  }
  return { meta, model: kind, tokens };
}

/** config.json's special ids, for tokens tokenizer_config.json does not name (gguf-py's SpecialVocab order). */
export function configSpecialIds(dir: string): Record<'bos' | 'eos' | 'pad' | 'unk', number | null> {
  const file = path.join(dir, 'config.json');
  const cfg = fs.existsSync(file) ? readJsonObject(file, 're-download config.json') : {};
  const id = (k: string): number | null => {
    const v = cfg[`${k}_token_id`];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  };
  return { bos: id('bos'), eos: id('eos'), pad: id('pad'), unk: id('unk') };
}
