// model_type "bert" (BertForSequenceClassification in modeling_bert.py): the BERT-shaped encoder under "bert.",
// absolute positions 0..T-1, and the head pooler (dense + tanh on the [CLS] row) -> dropout -> classifier. Base
// checkpoints (BertModel) name tensors without "bert."; pre-training heads (cls.*) are left unused.
import { type Tensor } from '../tensor/index.js';
import { applyLinear, type Linear } from './linear.js';
import { linearSpec } from './params.js';
import { parseBertStyle } from './encoder-config.js';
import { absolutePositions, bertTable, BertModel, clsRow, tanh, type BertHeadForward, type BertTable } from './bert-model.js';
import type { EncoderFamily, HeadSpec, LoadedHead } from './encoder-family.js';

const asLinear = (head: LoadedHead, key: string): Linear => head.slots[key] as Linear;

/** pooled = tanh(pooler.dense(h[:, 0])); logits = classifier(dropout(pooled)) */
const bertHead: BertHeadForward = (h, input, head, drop): Tensor => {
  const pooled = tanh(applyLinear(asLinear(head, 'pooler'), clsRow(h, input.batch, input.seqLen)));
  return applyLinear(asLinear(head, 'classifier'), drop(pooled));
};

export const bert: EncoderFamily<BertTable> = {
  modelType: 'bert',
  aliases: [],
  parseConfig: (f) => parseBertStyle(f, 'bert'),
  table: (c) => bertTable(c, 'bert'),
  headSpecs: (c, K): HeadSpec[] => [
    { module: 'bert.pooler', slots: { pooler: linearSpec('bert.pooler.dense', c.hiddenSize, c.hiddenSize, true) }, classifier: false },
    { module: 'classifier', slots: { classifier: linearSpec('classifier', K, c.hiddenSize, true) }, classifier: true },
  ],
  ignoredTensors: () => [/^cls\./, /\.position_ids$/, /^bert\.pooler\./, /^classifier\./],
  renames: [[/^(?=(embeddings|encoder|pooler)\.)/, 'bert.']],
  classifierWeight: 'classifier.weight',
  build: (c, w, head) => new BertModel(c, bertTable(c, 'bert'), w, absolutePositions, head, bertHead),
};
