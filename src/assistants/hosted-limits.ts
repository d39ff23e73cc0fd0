// Context windows of hosted models, in tokens (prompt and reply together), as their providers publish them.
// Matched by the longest name prefix; a dated or suffixed name ("gpt-4o-mini-2024-07-18") finds its family.
import type { ProviderKind } from '../providers/index.js';

type Table = readonly (readonly [prefix: string, tokens: number])[];

const OPENAI: Table = [
  ['gpt-5', 400_000], ['gpt-4.1', 1_047_576], ['gpt-4o', 128_000], ['chatgpt-4o', 128_000], ['gpt-4-turbo', 128_000],
  ['gpt-4-1106', 128_000], ['gpt-4-0125', 128_000], ['gpt-4-32k', 32_768], ['gpt-4', 8_192], ['gpt-3.5-turbo-instruct', 4_096],
  ['gpt-3.5-turbo', 16_385], ['o1-mini', 128_000], ['o1', 200_000], ['o3', 200_000], ['o4-mini', 200_000],
];

const ANTHROPIC: Table = [['claude-', 200_000]];

const GEMINI: Table = [
  ['gemini-1.5-pro', 2_097_152], ['gemini-1.5-flash', 1_048_576], ['gemini-2.0-flash', 1_048_576], ['gemini-2.5', 1_048_576],
  ['gemini-1.0-pro', 32_760], ['gemini-pro', 32_760],
];

/** What an OpenAI-compatible server of unknown size (Ollama, vLLM, another shitate) is assumed to hold:
 *  small enough that a prompt planned for it is not cut by the server on the quiet. */
export const ASSUMED_CONTEXT = 4096;

export interface HostedContext {
  tokens: number;
  /** false when the model is not in the table and ASSUMED_CONTEXT stands in */
  known: boolean;
}

function lookup(table: Table, model: string): number | null {
  let best: readonly [string, number] | null = null;
  for (const row of table) if (model.startsWith(row[0]) && (!best || row[0].length > best[0].length)) best = row;
  return best ? best[1] : null;
}

/** The context of a hosted model by provider and name; "openai/gpt-4o" (a router's name) and
 *  "models/gemini-2.5-flash" are looked up by their last part. */
export function hostedContext(kind: Exclude<ProviderKind, 'local'>, model: string): HostedContext {
  const name = model.toLowerCase().split('/').pop() ?? '';
  const table = kind === 'openai' ? [...OPENAI, ...ANTHROPIC, ...GEMINI] : kind === 'anthropic' ? ANTHROPIC : GEMINI;
  const tokens = lookup(table, name);
  return tokens === null ? { tokens: ASSUMED_CONTEXT, known: false } : { tokens, known: true };
}
