// The training outputs of the LM head, shared by the families: the mean cross-entropy of the targets (SFT) or,
// when the input asks for it, each sequence's summed target log-probability (preference training), both fused
// so the [B*T, V] logits never exist whole.
import { linearCrossEntropy, type Tensor } from '../tensor/index.js';
import { linearSequenceLogProbs } from '../tensor/ops/seq-logprob.js';
import type { ForwardInput } from './types.js';

/** x [B*T, C] final hidden states, head [V, C]; cap > 0: the final logit soft-cap (Gemma). */
export function headLoss(x: Tensor, head: Tensor, input: ForwardInput, cap = 0): { loss: Tensor | null; sequenceLogps: Tensor | null } {
  if (!input.targets) return { loss: null, sequenceLogps: null };
  const capOpt = cap > 0 ? { softcap: cap } : {};
  if (input.sequenceLogps) return { loss: null, sequenceLogps: linearSequenceLogProbs(x, head, input.targets, input.batch, capOpt) };
  const norm = input.lossNormalizer !== undefined ? { normalizer: input.lossNormalizer } : {};
  return { loss: linearCrossEntropy(x, head, input.targets, { ...norm, ...capOpt }), sequenceLogps: null };
}
