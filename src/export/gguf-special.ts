// Special tokens as llama.cpp reads them: bos/eos/pad/unk ids, whether tokenizing adds bos/eos (taken from what
// the Hugging Face tokenizer itself does, so llama.cpp's ids equal shitate's), and the end-of-generation set:
// every id that ends a reply here (eos, generation_config's, the template's end of turn) must stop llama.cpp too.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonObject } from '../io/json-fields.js';
import { isRecord } from '../io/safetensors-header.js';
import type { Tokenizer } from '../tokenizer/index.js';
import type { GgufMetadata } from './gguf-writer.js';
import { configSpecialIds } from './gguf-vocab.js';

/** Token texts llama.cpp treats as end of generation without being told (llama-vocab.cpp). */
const AUTO_EOG = new Set(['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>', '_<EOT>']);

export interface SpecialExport {
  meta: GgufMetadata;
  /** ids llama.cpp will stop on */
  eog: number[];
  addBos: boolean;
  bosId: number | null;
  notes: string[];
}

function unkId(dir: string, tok: Tokenizer): number | null {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return null;
  const u = readJsonObject(file, 're-download tokenizer_config.json').unk_token;
  const text = typeof u === 'string' ? u : isRecord(u) && typeof u.content === 'string' ? u.content : null;
  return text === null ? null : tok.tokenToId(text);
}

/** `endIds`: every id that ends a reply in shitate's generation (see openModel). */
export function specialTokenMeta(dir: string, tok: Tokenizer, tokens: readonly string[], endIds: readonly number[], endOfTurn: number | null): SpecialExport {
  const cfg = configSpecialIds(dir);
  const V = tokens.length;
  const inVocab = (id: number | null): id is number => id !== null && id >= 0 && id < V;
  const bos = tok.bosTokenId ?? cfg.bos;
  const eos = tok.eosTokenId ?? cfg.eos;
  const probe = tok.encode('a');
  const addBos = bos !== null && probe[0] === bos;
  const addEos = eos !== null && probe.length > 1 && probe[probe.length - 1] === eos;
  const meta: GgufMetadata = [];
  const id = (key: string, v: number | null) => {
    if (inVocab(v)) meta.push([`tokenizer.ggml.${key}`, { type: 'u32', value: v }]);
  };
  id('bos_token_id', bos);
  id('eos_token_id', eos);
  id('unknown_token_id', unkId(dir, tok));
  id('padding_token_id', tok.padTokenId ?? cfg.pad);
  // beyond eos llama.cpp stops on one end-of-turn and one end-of-message id (named explicitly, not left to its
  // detection by token text, which differs between versions) and on the texts it knows
  const eog = new Set<number>(tokens.flatMap((t, i) => (AUTO_EOG.has(t) ? [i] : [])));
  if (inVocab(eos)) eog.add(eos);
  const slots = ['eot_token_id', 'eom_token_id'];
  const wanted = [...new Set([...(inVocab(endOfTurn) ? [endOfTurn] : []), ...endIds])].filter((e) => inVocab(e) && e !== eos);
  const notes: string[] = [];
  for (const e of wanted) {
    const slot = slots.shift();
    if (slot) {
      id(slot, e);
      eog.add(e);
    } else if (!eog.has(e)) {
      notes.push(`token ${JSON.stringify(tokens[e])} (${e}) ends replies here but llama.cpp has no slot left to stop on it; pass it as a stop string`);
    }
  }
  meta.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addBos }], ['tokenizer.ggml.add_eos_token', { type: 'bool', value: addEos }]);
  return { meta, eog: [...eog].sort((a, b) => a - b), addBos, bosId: inVocab(bos) ? bos : null, notes };
}
