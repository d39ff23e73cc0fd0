// `shitate train --dry-run`: what training would see, without loading the weights or training. The data is
// read, rendered with the model's chat template and masked exactly as `shitate train` does; the first
// examples are printed with the trained tokens highlighted (bold green on a terminal, between [[ and ]]
// when piped), then the token counts. A refusal stops here with the same message training would give.
import { loadGenerationConfig, resolveEosTokenIds } from '../io/generation-config.js';
import { loadModelConfig } from '../models/index.js';
import { checkTokenizerFits, createStreamDecoder, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { endOfTurnIds } from '../tokenizer/loss-mask.js';
import type { Example } from '../train/batching.js';
import type { TrainConfig } from '../train/config.js';
import { loadRunData } from '../train/data-setup.js';
import type { TokenizedData } from '../train/dataset.js';

export interface DryRunOptions {
  /** how many examples to show (default 3) */
  shown?: number;
  /** ANSI highlighting (a terminal) or a plain-text marking */
  color: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

const TRAINED = '\x1b[1;32m';
const PROMPT = '\x1b[2m';
const RESET = '\x1b[0m';

/** The example's text, token by token, with runs of trained tokens marked. */
export function highlight(tok: Tokenizer, ex: Example, color: boolean): string {
  const decoder = createStreamDecoder(tok, { skipSpecialTokens: false });
  const runs: { trained: boolean; text: string }[] = [];
  ex.ids.forEach((id, k) => {
    const text = decoder.push(id) + (k === ex.ids.length - 1 ? decoder.flush() : '');
    const trained = ex.mask[k] === 1;
    const last = runs.at(-1);
    if (last && last.trained === trained) last.text += text;
    else runs.push({ trained, text });
  });
  return runs.map((r) => (color ? `${r.trained ? TRAINED : PROMPT}${r.text}${RESET}` : r.trained ? `[[${r.text}]]` : r.text)).join('');
}

function counts(d: TokenizedData): { examples: number; tokens: number; trained: number } {
  let tokens = 0;
  for (const e of d.examples) tokens += e.ids.length;
  return { examples: d.examples.length, tokens, trained: d.targetTokens };
}

function summaryLine(name: string, d: TokenizedData): string {
  const c = counts(d);
  const share = c.tokens > 0 ? ((100 * c.trained) / c.tokens).toFixed(1) : '0';
  return `${name}: ${c.examples} examples, ${c.tokens} tokens, ${c.trained} trained (${share}%)` +
    `${d.truncated ? `, ${d.truncated} truncated to max_seq_len` : ''}${d.dropped ? `, ${d.dropped} left without answer tokens (skipped)` : ''}`;
}

/** The tokenizer, end ids and sequence limit training would use, without loading the weights. */
export function dryRunTokens(c: TrainConfig): { tok: Tokenizer; endIds: number[]; maxSeqLen: number; vocabSize: number } {
  const mc = loadModelConfig(c.model);
  const tok = loadTokenizer(c.model);
  checkTokenizerFits(tok, mc.vocabSize, c.model);
  const eos = resolveEosTokenIds(mc, loadGenerationConfig(c.model));
  const endIds = [...new Set([...eos, ...tok.eosTokenIds, ...endOfTurnIds(tok)])].filter((id) => id >= 0 && id < mc.vocabSize);
  return { tok, endIds, maxSeqLen: Math.min(c.maxSeqLen, mc.maxPositions), vocabSize: mc.vocabSize };
}

/** Runs the dry run; returns the exit code (0: training could start with this data). */
export function dryRun(c: TrainConfig, o: DryRunOptions): number {
  const { tok, endIds, maxSeqLen, vocabSize } = dryRunTokens(c);
  const data = loadRunData(c, tok, endIds, maxSeqLen, vocabSize);
  for (const n of data.notes) o.err(`note: ${n}\n`);
  for (const w of data.warnings) o.err(`warning: ${w}\n`);
  if (Object.keys(data.templateVars).length > 0) o.out(`chat template variables: ${JSON.stringify(data.templateVars)}\n`);
  o.out(o.color ? `trained tokens in ${TRAINED}bold green${RESET}, the rest ${PROMPT}dimmed${RESET}\n` : 'trained tokens are between [[ and ]]\n');
  for (const ex of data.train.examples.slice(0, o.shown ?? 3)) {
    const trained = ex.mask.reduce((s, m) => s + m, 0);
    o.out(`\n--- ${ex.source ?? 'example'}: ${ex.ids.length} tokens, ${trained} trained\n${highlight(tok, ex, o.color)}\n`);
  }
  o.out(`\n${summaryLine('training', data.train)}\n`);
  if (data.val) o.out(`${summaryLine('validation', data.val)}\n`);
  o.out('dry run: nothing was trained (leave out --dry-run to train)\n');
  return 0;
}
