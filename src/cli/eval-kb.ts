// `shitate eval --kb KB`: base and adapters answer the held-out questions as they are and again with what
// the knowledge base retrieves in the prompt (laid out as an assistant would), side by side with retrieval
// recall@k; the table, eval.json (with a "retrieval" section) and eval.html.
import { evalWithKnowledge, quoteStrength } from '../assistants/index.js';
import type { OpenedModel } from '../generate/index.js';
import { terminalTable, writeReport, type EvalConfig, type EvalItem, type EvalReport, type EvalSettings, type RetrievalSummary } from '../eval/index.js';
import { languageOfTexts } from '../eval/script.js';
import { evalInterrupt, evalProgressPrinter } from './eval-progress.js';
import { openGrounding } from './data-context.js';

/** "retrieval (faq): recall@1 62.5%  @3 87.5%  @5 95.0%  in the prompt 87.5%  (40 answerable questions)" */
export function retrievalLine(r: RetrievalSummary): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const at = Object.entries(r.recallAt).map(([n, v], i) => `${i === 0 ? 'recall@' : '@'}${n} ${pct(v)}`).join('  ');
  return `retrieval (${r.bases.join(', ')}): ${at}  in the prompt ${pct(r.inPrompt)}  (${r.judged} answerable questions)\n`;
}

export async function evalWithKb(c: EvalConfig, opened: OpenedModel, items: EvalItem[], settings: EvalSettings, outDir: string): Promise<number> {
  const language = languageOfTexts(items.map((it) => it.reference));
  const g = openGrounding(c.model, c.kb, c.assistant, language);
  const ac = evalInterrupt();
  let report: EvalReport;
  try {
    // an assistant's own quoting applies unless --quote says otherwise
    const quote = settings.quote ?? quoteStrength(g.profile);
    report = await evalWithKnowledge({ opened, modelLabel: c.model, dataLabel: c.data, items, adapters: c.adapter, settings: { ...settings, quote } }, g,
      { signal: ac.signal, onEvent: evalProgressPrinter() });
  } finally {
    ac.dispose();
    for (const kb of g.kbs) kb.close();
  }
  const files = writeReport(outDir, report);
  process.stdout.write(terminalTable(report));
  if (report.retrieval) process.stdout.write(retrievalLine(report.retrieval));
  process.stderr.write(`report: ${files.html}\ndata: ${files.json}\n`);
  return ac.signal.aborted ? 130 : 0;
}
