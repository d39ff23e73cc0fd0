// Token ids for evaluation and the loss of the reference answer. Prompt ids come from the same template
// rendering generation uses; the loss mask comes from chatLossMask / completionLossMask exactly as training
// builds it, and the loss is trainer.evaluateLoss's mean per target token, so for one-answer conversations
// the eval loss of an adapter equals the validation loss training reported for the same file.
import { ShitateError } from '../errors.js';
import { chatPrompt } from '../generate/index.js';
import type { CausalLM } from '../models/index.js';
import type { TemplateVars, Tokenizer } from '../tokenizer/index.js';
import { chatLossMask, completionLossMask, type MaskedTokens } from '../tokenizer/loss-mask.js';
import type { Example } from '../train/batching.js';
import { evaluateLoss } from '../train/trainer.js';
import type { EvalItem } from './data.js';

export interface PreparedItem {
  promptIds: number[];
  /** the conversation with the reference, masked to the reference answer; null when truncation left no target */
  example: Example | null;
  /** target tokens of the reference (its end-of-turn token included) */
  referenceTokens: number;
  truncated: boolean;
}

/** Keeps only the last run of targets: the reference answer, not earlier assistant turns of the prompt. */
function lastSpanOnly(mask: number[]): number[] {
  let end = mask.length - 1;
  while (end >= 0 && mask[end] === 0) end--;
  let start = end;
  while (start > 0 && mask[start - 1] === 1) start--;
  return mask.map((m, i) => (i >= start && i <= end ? m : 0));
}

function targetsOf(mask: ArrayLike<number>): number {
  let n = 0;
  for (let t = 1; t < mask.length; t++) n += mask[t];
  return n;
}

/** `templateVars`: the chat template variables of the prompts and of the loss (as training rendered them). */
export function prepareItem(tok: Tokenizer, endIds: readonly number[], item: EvalItem, maxSeqLen: number, templateVars: TemplateVars = {}): PreparedItem {
  let promptIds: number[];
  let mt: MaskedTokens;
  if (item.messages) {
    promptIds = chatPrompt(tok, item.messages, templateVars);
    mt = chatLossMask(tok, [...item.messages, { role: 'assistant', content: item.reference }], endIds, { templateVars });
  } else {
    promptIds = tok.encode(item.prompt!, { addSpecialTokens: true });
    mt = completionLossMask(tok, item.prompt!, item.reference, endIds[0] ?? tok.eosTokenId);
  }
  const mask = lastSpanOnly(mt.mask);
  const referenceTokens = targetsOf(mask);
  const truncated = mt.ids.length > maxSeqLen;
  const ids = truncated ? mt.ids.slice(0, maxSeqLen) : mt.ids;
  const kept = truncated ? mask.slice(0, maxSeqLen) : mask;
  const example = targetsOf(kept) > 0 ? { ids: Int32Array.from(ids), mask: Uint8Array.from(kept) } : null;
  return { promptIds, example, referenceTokens, truncated };
}

/** Mean loss per target token of one example and the number of target tokens it has. */
export function exampleLoss(model: CausalLM, ex: Example, padId: number): { loss: number; tokens: number } {
  const T = ex.ids.length;
  const loss = evaluateLoss(model, [ex], { batchTokens: T, packing: false, groupByLength: false, maxSeqLen: T, padId });
  if (!Number.isFinite(loss)) {
    throw new ShitateError('E_NUMERIC', `the reference loss came out as ${loss}`,
      'the model produced non-finite logits: check the weights (a broken download) and the adapter');
  }
  return { loss, tokens: targetsOf(ex.mask) };
}
