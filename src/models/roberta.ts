// model_type "roberta" and "xlm-roberta" (modeling_roberta.py, modeling_xlm_roberta.py: the same module): the
// BERT-shaped encoder under "roberta.", position ids counted from padding_idx + 1 over non-padding tokens (padding
// keeps padding_idx), and RobertaClassificationHead: dropout -> dense -> tanh -> dropout -> out_proj on the <s>
// row. Base checkpoints (XLMRobertaModel: multilingual-e5, bge-m3) name tensors without "roberta.".
import { type Tensor } from '../tensor/index.js';
import { applyLinear, type Linear } from './linear.js';
import { linearSpec } from './params.js';
import { parseBertStyle } from './encoder-config.js';
import { bertTable, BertModel, clsRow, paddedOffsetPositions, tanh, type BertHeadForward, type BertTable } from './bert-model.js';
import type { EncoderFamily, HeadSpec, LoadedHead } from './encoder-family.js';

const asLinear = (head: LoadedHead, key: string): Linear => head.slots[key] as Linear;

const robertaHead: BertHeadForward = (h, input, head, drop): Tensor => {
  const x = tanh(applyLinear(asLinear(head, 'dense'), drop(clsRow(h, input.batch, input.seqLen))));
  return applyLinear(asLinear(head, 'outProj'), drop(x));
};

function robertaFamily(modelType: string): EncoderFamily<BertTable> {
  return {
    modelType,
    aliases: [],
    parseConfig: (f) => parseBertStyle(f, 'roberta'),
    table: (c) => bertTable(c, 'roberta'),
    headSpecs: (c, K): HeadSpec[] => [{
      module: 'classifier',
      slots: { dense: linearSpec('classifier.dense', c.hiddenSize, c.hiddenSize, true), outProj: linearSpec('classifier.out_proj', K, c.hiddenSize, true) },
      classifier: true,
    }],
    // the pooler of a base checkpoint is not part of RobertaForSequenceClassification
    ignoredTensors: () => [/^lm_head\./, /\.position_ids$/, /^roberta\.pooler\./, /^classifier\./],
    renames: [[/^(?=(embeddings|encoder|pooler)\.)/, 'roberta.']],
    classifierWeight: 'classifier.out_proj.weight',
    build: (c, w, head) => new BertModel(c, bertTable(c, 'roberta'), w, paddedOffsetPositions(c.padTokenId), head, robertaHead),
  };
}

export const roberta = robertaFamily('roberta');
export const xlmRoberta = robertaFamily('xlm-roberta');
