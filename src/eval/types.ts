// The evaluation report: what eval.json holds and what the terminal table and the HTML page are drawn from.
import type { ChatMessage } from '../tokenizer/index.js';
import type { BootstrapSettings, Interval } from './bootstrap.js';
import type { JudgeVerdict } from './judge.js';

/** The language the report is written in (terminal table, HTML page, the sentences in eval.json). */
export type ReportLang = 'en' | 'ja';

/** One system's answer to one question, with its scores against the reference. */
export interface AnswerResult {
  /** mean loss per reference token (null when truncation left no reference token) */
  loss: number | null;
  lossTokens: number;
  /** the greedy answer */
  answer: string;
  /** tokens of the answer, the end token not counted */
  answerTokens: number;
  /** 'stop': ended with an end-of-turn/eos id; 'length': hit the token budget */
  finishReason: 'stop' | 'length';
  maxTokens: number;
  exact: boolean;
  charF1: number;
  rougeL: number;
  /** characters of the answer (code points, before normalisation) */
  chars: number;
  /** sampled answers for consistency (empty when samples < 2) */
  samples: string[];
  /** mean pairwise ROUGE-L (characters) of the samples */
  consistency: number | null;
  judge: JudgeVerdict | null;
}

export interface QuestionReport {
  index: number;
  line: number;
  question: string;
  /** the prompt messages (chat) or null (prompt/completion) */
  messages: ChatMessage[] | null;
  reference: string;
  referenceChars: number;
  /** by system name; a system missing here did not reach this question (interrupted run) */
  results: Record<string, AnswerResult>;
}

export interface SystemSummary {
  system: string;
  /** adapter folder, null for the base model */
  adapter: string | null;
  /** questions answered */
  questions: number;
  /** mean loss per reference token over all questions (token-weighted, as training's validation loss) */
  loss: number | null;
  perplexity: number | null;
  lossTokens: number;
  exactMatch: number | null;
  charF1: number | null;
  rougeL: number | null;
  meanChars: number | null;
  meanTokens: number | null;
  stopRate: number | null;
  consistency: number | null;
  /** mean judge score, 1-5 */
  judge: number | null;
}

/** How one question changed from the base to a tuned system. */
export interface QuestionDelta {
  index: number;
  /** both answers are the same text after normalisation: unchanged, whatever the loss did */
  identical: boolean;
  rougeL: number;
  charF1: number;
  /** tuned - base: negative is better */
  loss: number | null;
  judge: number | null;
}

/** The metrics whose difference between two systems is reported with an interval. */
export type DeltaKey = 'loss' | 'perplexity' | 'exactMatch' | 'charF1' | 'rougeL' | 'stopRate' | 'consistency' | 'judge';

export interface Comparison {
  system: string;
  baseline: string;
  /** questions both systems answered */
  questions: number;
  /** summary differences (system - baseline) over those questions */
  delta: Record<DeltaKey, number | null>;
  /** paired bootstrap interval of each difference (settings.bootstrap); null below two questions with the metric */
  ci: Record<DeltaKey, Interval | null>;
  /** a question counts as better (worse) when its ROUGE-L (chars) rose (fell) by at least minChange */
  rule: { metric: 'rougeL'; minChange: number };
  /** questions that got better, largest improvement first (by ROUGE-L, then char F1, then loss) */
  improved: QuestionDelta[];
  /** questions that got worse, largest regression first */
  regressed: QuestionDelta[];
  /** the rest: identical answers, and changes smaller than the rule's threshold */
  unchanged: QuestionDelta[];
  /** how many of the unchanged have identical answers */
  identical: number;
}

export interface EvalSettingsReport {
  /** source-anchored decoding strength of the "+quote" systems (absent: none ran) */
  quote?: number;
  maxTokens: number | null;
  samples: number;
  temperature: number;
  seed: number;
  maxSeqLen: number;
  judge: { url: string; model: string; rubric: string } | null;
  /** the better/worse threshold on a question's ROUGE-L change */
  minChange: number;
  /** the paired bootstrap of the intervals (resamples 0: no intervals) */
  bootstrap: BootstrapSettings;
}

export interface EvalReport {
  format: 'shitate-eval';
  version: 1;
  /** false when the run was interrupted: the numbers cover only what was computed */
  complete: boolean;
  /** the language of the report's text: from settings, else from the references */
  lang: ReportLang;
  /** how answers were scored and compared, in the report's language */
  method: string[];
  model: string;
  data: string;
  settings: EvalSettingsReport;
  systems: SystemSummary[];
  comparisons: Comparison[];
  questions: QuestionReport[];
  /** with retrieval (eval --kb): how often the entry holding the reference was found, next to the answers */
  retrieval?: RetrievalSummary;
}

/** Retrieval quality on the evaluated questions (eval --kb). */
export interface RetrievalSummary {
  /** knowledge bases searched */
  bases: string[];
  /** passages retrieved per question */
  k: number;
  /** questions whose reference is held by some passage of the knowledge bases (the others cannot be recalled) */
  judged: number;
  /** share of the judged questions whose right passage ranked within the first n ("1", "3", "5", ...) */
  recallAt: Record<string, number>;
  /** share of the judged questions whose right passage made it into the prompt (the context's room decides) */
  inPrompt: number;
  /** per question (by index): rank of the right passage among those retrieved (null: not found) and the
   *  citations of the passages the prompt kept */
  perQuestion: { index: number; rank: number | null; prompt: string[] }[];
}
