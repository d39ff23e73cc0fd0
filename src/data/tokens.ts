// Token counts with the model's own tokenizer and chat template (what training will see), what that
// template refuses (each chat example is rendered and masked as `shitate train` will), and the model's
// context length from its config.json or tokenizer_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { loadTokenizer, systemSupport, trainingTemplateVars, type ChatMessage, type SystemSupport, type Tokenizer } from '../tokenizer/index.js';
import { chatLossMask, endOfTurnIds } from '../tokenizer/loss-mask.js';
import { excerpt, questionOf, type DataRecord, type Issue } from './types.js';

export interface TokenCounter {
  countTokens: (r: DataRecord) => number;
  /** The model's context length, or null when neither config file states one. */
  context: number | null;
  /** What the chat template would refuse in this example (none for text). */
  templateIssues: (r: DataRecord) => Issue[];
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

interface Examined {
  record: DataRecord;
  tokens: number;
  issues: Issue[];
}

/** Renders and masks one example as training does; a refusal becomes an issue with the example's place. */
function examine(tok: Tokenizer, endIds: number[], vars: Record<string, unknown>, support: () => SystemSupport, r: DataRecord): Examined {
  if (r.kind === 'text') return { record: r, tokens: tok.encode(r.text).length, issues: [] };
  if (r.preference?.rejected) {
    // a pair: the prompt with the chosen and with the rejected answer, both as training renders them
    const chosen = examine(tok, endIds, vars, support, { ...r, preference: undefined });
    const rejected = examine(tok, endIds, vars, support, { ...r, messages: [...r.messages.slice(0, r.preference.promptTurns), ...r.preference.rejected], preference: undefined });
    const more = rejected.issues.filter((i) => !chosen.issues.some((c) => c.code === i.code));
    return { record: r, tokens: Math.max(chosen.tokens, rejected.tokens), issues: [...chosen.issues, ...more] };
  }
  const messages: ChatMessage[] = r.messages.map((m) => ({ ...m }));
  const where = { loc: r.loc, excerpt: excerpt(questionOf(r)) };
  const system = messages.findIndex((m) => m.role === 'system');
  try {
    const tokens = chatLossMask(tok, messages, endIds, { templateVars: vars }).ids.length;
    const issues: Issue[] = system >= 0 && support() === 'dropped' ? [{ code: 'template_drops_system', params: { turn: system + 1 }, ...where }] : [];
    return { record: r, tokens, issues };
  } catch (e) {
    if (!(e instanceof ShitateError)) throw e;
    const reason = e.message.replace(/^.*found one it refuses: /, '');
    const issue: Issue = system >= 0 && support() === 'refused'
      ? { code: 'template_no_system', params: { turn: system + 1, reason }, ...where }
      : { code: 'template_refused', params: { reason }, ...where };
    return { record: r, tokens: 0, issues: [issue] };
  }
}

/** Loads the tokenizer of a Hugging Face model folder (throws ShitateError when it cannot). */
export function tokenCounter(dir: string): TokenCounter {
  const tok = loadTokenizer(dir);
  const endIds = [...new Set([...tok.eosTokenIds, ...endOfTurnIds(tok)])];
  const { vars } = trainingTemplateVars(tok, {});
  let support: SystemSupport | null = null;
  const systemRole = (): SystemSupport => (support ??= systemSupport(tok, vars));
  // the check asks for issues and then for the count of the same record: render it once
  let last: Examined | null = null;
  const of = (r: DataRecord): Examined => (last?.record === r ? last : (last = examine(tok, endIds, vars, systemRole, r)));
  return {
    countTokens: (r) => of(r).tokens,
    templateIssues: (r) => of(r).issues,
    context: modelContext(dir),
  };
}
