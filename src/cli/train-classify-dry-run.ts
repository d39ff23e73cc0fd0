// `train --task classify --dry-run`: reads the labeled data as training would and prints the labels with their
// counts, the class weights, and the first texts as the encoder's tokens, then exits without training.
import { loadEncoderConfig } from '../models/encoder-load.js';
import { loadEncoderTokenizer, textEncoder } from '../models/encoder-text.js';
import { classWeightsFor, labelCounts, loadClassifyData } from '../train/classify-data.js';
import type { TrainConfig } from '../train/config.js';

export interface DryRunIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function classifyDryRun(c: TrainConfig, io: DryRunIO, shown = 3): number {
  const data = loadClassifyData(c, null);
  for (const n of data.notes) io.err(`note: ${n}\n`);
  const counts = labelCounts(data.train, data.labels);
  const tok = loadEncoderTokenizer(c.model);
  const text = textEncoder(tok, loadEncoderConfig(c.model), c.maxSeqLen);
  const lengths = data.train.map((r) => text.ids(r.text).length);
  io.out(`${data.labels.length} labels, ${data.train.length} training texts, ${data.val.length} validation texts\n`);
  data.labels.forEach((l, i) => io.out(`  ${l}: ${counts[i]}\n`));
  io.out(`${classWeightsFor(c.classWeights, counts, data.labels).note}\n`);
  io.out(`tokens per text: mean ${(lengths.reduce((a, b) => a + b, 0) / lengths.length).toFixed(1)}, max ${Math.max(...lengths)} (limit ${text.maxLength})\n`);
  for (const r of data.train.slice(0, shown)) {
    const tokens = text.ids(r.text).map((id) => tok.idToToken(id) ?? String(id));
    io.out(`\n${r.source}  label ${r.label}\n  ${tokens.join(' ')}\n`);
  }
  io.out('\ndry run: nothing was trained\n');
  return 0;
}
