// Loads a Hugging Face tokenizer folder (tokenizer.json + tokenizer_config.json) with @huggingface/tokenizers
// and wraps it in shitate's Tokenizer: special tokens resolved to ids, chat rendering, checked decoding.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ShitateError } from '../errors.js';
import { readJsonObject, type Json } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import { FALLBACK_CHAT_TEMPLATE, findChatTemplate, renderTemplate, type FoundTemplate } from './chat-template.js';
import { alignOffsets, spellingOf, surfaceOf } from './offsets.js';
import type { ChatMessage, ChatOptions, DecodeOptions, EncodeOptions, Tokenizer } from './types.js';

export interface LoadTokenizerOptions {
  /** Which template to use when the model ships several by name (default "default"). */
  chatTemplateName?: string;
}

/** The special-token keys of tokenizer_config.json that transformers passes to chat templates. */
const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

export function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): Tokenizer {
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) throw missingTokenizer(dir, tokenizerFile);
  const tokJson = readJsonObject(tokenizerFile, 'download tokenizer.json with the model');
  if (!isRecord(tokJson.model)) {
    throw new ShitateError('E_TOKENIZER', `${tokenizerFile}: expected a "model" object (BPE, Unigram or WordPiece), found ${JSON.stringify(tokJson.model) ?? 'none'}`,
      'this is not a Hugging Face tokenizer.json; re-download it');
  }
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJsonObject(configFile, 're-download tokenizer_config.json') : {};
  const hf = buildHf(tokenizerFile, tokJson, config);
  return wrap(dir, configFile, hf, tokJson, config, opts);
}

function missingTokenizer(dir: string, file: string): ShitateError {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const slow = names.filter((n) => n === 'tokenizer.model' || n === 'vocab.json' || n === 'merges.txt');
  const found = !fs.existsSync(dir) ? 'no such folder' : slow.length > 0 ? `only ${slow.join(', ')}` : 'no tokenizer files';
  return new ShitateError('E_TOKENIZER_MISSING', `expected ${file}, found ${found}`,
    slow.length > 0
      ? 'shitate reads the "fast" tokenizer.json; create it once with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir)) or download it from the model page'
      : 'download tokenizer.json and tokenizer_config.json from the model page into the model folder');
}

function buildHf(file: string, tokJson: Json, config: Json): HfTokenizer {
  // transformers >= 4.45 defaults clean_up_tokenization_spaces to false; the library would default to true,
  // which rewrites " ," to "," and breaks decode(encode(s)) === s.
  const libConfig: Json = { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? false };
  for (const key of SPECIAL_KEYS) libConfig[key] = tokenText(config[key]) ?? undefined;
  libConfig.additional_special_tokens = specialList(config.additional_special_tokens);
  try {
    return new HfTokenizer({ added_tokens: [], ...tokJson }, libConfig);
  } catch (err) {
    throw new ShitateError('E_TOKENIZER', `${file}: expected a tokenizer the loader supports, found an error (${(err as Error).message})`,
      'the tokenizer uses a component @huggingface/tokenizers does not implement, or the file is damaged');
  }
}

/** tokenizer_config stores a special token as its text or as {"content": text, ...} (AddedToken form). */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v.content === 'string') return v.content;
  return null;
}

function specialList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(tokenText).filter((t): t is string => t !== null) : [];
}

function idOf(hf: HfTokenizer, configFile: string, key: string, text: string | null): number | null {
  if (text === null) return null;
  const id = hf.token_to_id(text);
  if (id === undefined) {
    throw new ShitateError('E_TOKENIZER', `${configFile}: ${key} is ${JSON.stringify(text)}, expected it in the vocabulary of tokenizer.json, found no such token`,
      'tokenizer.json and tokenizer_config.json come from different models; re-download both');
  }
  return id;
}

type SpecialKey = (typeof SPECIAL_KEYS)[number];

function wrap(dir: string, configFile: string, hf: HfTokenizer, tokJson: Json, config: Json, opts: LoadTokenizerOptions): Tokenizer {
  const texts = Object.fromEntries(SPECIAL_KEYS.map((k) => [k, tokenText(config[k])])) as Record<SpecialKey, string | null>;
  const ids = Object.fromEntries(SPECIAL_KEYS.map((k) => [k, idOf(hf, configFile, k, texts[k])])) as Record<SpecialKey, number | null>;
  const specialIds = collectSpecialIds(hf, tokJson, Object.values(ids), specialList(config.additional_special_tokens));
  let vocabSize = 0;
  for (const id of hf.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  let baseVocabSize = 0;
  for (const id of hf.get_vocab(false).values()) baseVocabSize = Math.max(baseVocabSize, id + 1);
  const encode = (text: string, o: EncodeOptions = {}): number[] => hf.encode(text, { add_special_tokens: o.addSpecialTokens ?? true }).ids;
  const found = findChatTemplate(dir, config, opts.chatTemplateName);
  const renderChat = makeRenderChat(found, texts, config, ids.bos_token !== null && encode('a')[0] === ids.bos_token);
  const spelling = spellingOf(tokJson);
  const added = addedContents(tokJson);
  const surface = surfaceOf(spelling, (id) => hf.id_to_token(id) ?? null, added);
  const sections = { prependsSpace: spelling.prependsSpace, isAdded: (id: number) => added.has(id) };
  return {
    dir,
    vocabSize,
    baseVocabSize,
    bosToken: texts.bos_token,
    bosTokenId: ids.bos_token,
    eosToken: texts.eos_token,
    eosTokenId: ids.eos_token,
    eosTokenIds: ids.eos_token === null ? [] : [ids.eos_token],
    padTokenId: ids.pad_token,
    specialIds,
    chatTemplate: found ? found.template : null,
    templateSource: found ? 'model' : 'fallback',
    templateFile: found ? found.file : null,
    unicodeForm: unicodeFormOf(tokJson.normalizer),
    encode,
    decode: makeDecode(hf, vocabSize),
    tokenToId: (token) => hf.token_to_id(token) ?? null,
    idToToken: (id) => hf.id_to_token(id) ?? null,
    tokenOffsets: (text, list) => alignOffsets(text, list, surface, sections),
    renderChat,
    encodeChat: (messages, o = {}) => encode(renderChat(messages, o), { addSpecialTokens: false }),
  };
}

function makeDecode(hf: HfTokenizer, vocabSize: number): Tokenizer['decode'] {
  return (list: readonly number[], o: DecodeOptions = {}): string => {
    if (list.length === 0) return '';
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new ShitateError('E_TOKEN_ID', `expected token ids in [0, ${vocabSize}), found ${id}`,
          'the ids come from a different tokenizer or model; a model whose vocab_size exceeds the tokenizer\'s may generate unused ids');
      }
    }
    return hf.decode([...list], { skip_special_tokens: o.skipSpecialTokens ?? false });
  };
}

// The model's template gets transformers' special_tokens_map (only the tokens the config sets); the
// fallback gets bos/eos as text, and writes bos only when the tokenizer itself adds it to plain text.
function makeRenderChat(found: FoundTemplate | null, texts: Record<SpecialKey, string | null>, config: Json,
  addsBos: boolean): Tokenizer['renderChat'] {
  if (!found) {
    const vars = { bos_token: texts.bos_token ?? '', eos_token: texts.eos_token ?? '', add_bos_token: addsBos };
    return (messages: readonly ChatMessage[], o: ChatOptions = {}): string =>
      renderTemplate(FALLBACK_CHAT_TEMPLATE, 'the plain fallback chat format', messages, o.addGenerationPrompt ?? false, { ...vars, ...o.templateVars });
  }
  const vars: Record<string, unknown> = {};
  for (const k of SPECIAL_KEYS) if (texts[k] !== null) vars[k] = texts[k];
  vars.additional_special_tokens = specialList(config.additional_special_tokens);
  return (messages: readonly ChatMessage[], o: ChatOptions = {}): string =>
    renderTemplate(found.template, found.file, messages, o.addGenerationPrompt ?? false, { ...vars, ...o.templateVars });
}

/** Added tokens stand for their text verbatim (they are matched before normalization). */
function addedContents(tokJson: Json): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of Array.isArray(tokJson.added_tokens) ? tokJson.added_tokens : []) {
    if (isRecord(t) && typeof t.id === 'number' && typeof t.content === 'string') out.set(t.id, t.content);
  }
  return out;
}

/** The Unicode normal form of the normalizer (alone or inside a Sequence), if it applies one. */
function unicodeFormOf(node: unknown): Tokenizer['unicodeForm'] {
  if (!isRecord(node)) return null;
  if (node.type === 'NFC' || node.type === 'NFD' || node.type === 'NFKC' || node.type === 'NFKD') return node.type;
  const list = Array.isArray(node.normalizers) ? node.normalizers : [];
  for (const n of list) {
    const form = unicodeFormOf(n);
    if (form) return form;
  }
  return null;
}

function collectSpecialIds(hf: HfTokenizer, tokJson: Json, configIds: (number | null)[], additional: string[]): Set<number> {
  const out = new Set<number>();
  const added = Array.isArray(tokJson.added_tokens) ? tokJson.added_tokens : [];
  for (const t of added) {
    if (isRecord(t) && t.special === true && typeof t.id === 'number') out.add(t.id);
  }
  for (const id of configIds) if (id !== null) out.add(id);
  for (const text of additional) {
    const id = hf.token_to_id(text);
    if (id !== undefined) out.add(id);
  }
  return out;
}
