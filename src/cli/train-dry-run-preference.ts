// `shitate train --method dpo|kto --dry-run`: the first pairs (chosen and rejected) or judgments as training
// renders and masks them, completion tokens highlighted, then the counts; nothing is loaded or trained.
import type { TrainConfig } from '../train/config.js';
import { runTemplateVars } from '../train/data-setup.js';
import { readPreferenceLines, tokenizeLabels, tokenizePairs } from '../train/preference-data.js';
import { dryRunTokens, highlight, type DryRunOptions } from './train-dry-run.js';
import type { Example } from '../train/batching.js';

function tokens(es: Example[]): { tokens: number; trained: number } {
  let t = 0;
  let n = 0;
  for (const e of es) {
    t += e.ids.length;
    for (let k = 1; k < e.mask.length; k++) n += e.mask[k];
  }
  return { tokens: t, trained: n };
}

export function preferenceDryRun(c: TrainConfig, o: DryRunOptions): number {
  const { tok, endIds, maxSeqLen, vocabSize } = dryRunTokens(c);
  const { vars, note } = runTemplateVars(c, tok);
  if (note) o.err(`note: ${note}\n`);
  const opts = { templateVars: vars, ...(vocabSize < tok.vocabSize ? { embedSize: vocabSize } : {}) };
  const lines = readPreferenceLines(c.data);
  const shown = o.shown ?? 3;
  o.out(o.color ? 'completion tokens (scored) are highlighted\n' : 'completion tokens (scored) are between [[ and ]]\n');
  if (c.method === 'dpo') {
    const d = tokenizePairs(lines, tok, endIds, maxSeqLen, opts);
    for (const p of d.examples.slice(0, shown)) {
      o.out(`\n--- ${p.source}\nchosen:   ${highlight(tok, p.chosen, o.color)}\nrejected: ${highlight(tok, p.rejected, o.color)}\n`);
    }
    const t = tokens(d.examples.flatMap((p) => [p.chosen, p.rejected]));
    o.out(`\ntraining: ${d.examples.length} pairs, ${t.tokens} tokens, ${t.trained} scored${d.truncated ? `, ${d.truncated} sequences truncated` : ''}${d.dropped ? `, ${d.dropped} skipped` : ''}\n`);
  } else {
    const d = tokenizeLabels(lines, tok, endIds, maxSeqLen, opts);
    for (const e of d.examples.slice(0, shown)) o.out(`\n--- ${e.source} (${e.label ? 'desirable 👍' : 'undesirable 👎'})\n${highlight(tok, e.seq, o.color)}\n`);
    const t = tokens(d.examples.map((e) => e.seq));
    const good = d.examples.filter((e) => e.label).length;
    o.out(`\ntraining: ${d.examples.length} judgments (${good} desirable, ${d.examples.length - good} undesirable), ${t.tokens} tokens, ${t.trained} scored\n`);
  }
  o.out('dry run: nothing was trained (leave out --dry-run to train)\n');
  return 0;
}
