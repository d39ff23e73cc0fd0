// Token counts with the model's own tokenizer and chat template (what training will see), and the
// model's context length from its config.json or tokenizer_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { loadTokenizer } from '../tokenizer/index.js';
import type { DataRecord } from './types.js';

export interface TokenCounter {
  countTokens: (r: DataRecord) => number;
  /** The model's context length, or null when neither config file states one. */
  context: number | null;
}

function readNumber(file: string, keys: string[]): number | null {
  if (!fs.existsSync(file)) return null;
  try {
    const obj = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const k of keys) {
      const v = obj[k];
      // tokenizer_config often says model_max_length = 1e30 for "no limit"
      if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 10_000_000) return v;
    }
  } catch {
    return null; // a broken config is reported by the commands that load the model
  }
  return null;
}

export function modelContext(dir: string): number | null {
  return readNumber(path.join(dir, 'config.json'), ['max_position_embeddings', 'n_positions', 'max_seq_len', 'seq_length'])
    ?? readNumber(path.join(dir, 'tokenizer_config.json'), ['model_max_length']);
}

/** Loads the tokenizer of a Hugging Face model folder (throws ShitateError when it cannot). */
export function tokenCounter(dir: string): TokenCounter {
  const tok = loadTokenizer(dir);
  return {
    countTokens: (r) => (r.kind === 'chat' ? tok.encodeChat(r.messages.map((m) => ({ role: m.role, content: m.content }))).length : tok.encode(r.text).length),
    context: modelContext(dir),
  };
}
