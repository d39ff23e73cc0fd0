// The evaluation report: what eval.json holds and what the terminal table and the HTML page are drawn from.
import type { ChatMessage } from '../tokenizer/index.js';
import type { JudgeVerdict } from './judge.js';

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
  rougeL: number;
  charF1: number;
  /** tuned - base: negative is better */
  loss: number | null;
  judge: number | null;
}

export interface Comparison {
  system: string;
  baseline: string;
  /** questions both systems answered */
  questions: number;
  /** summary differences (system - baseline) over those questions */
  delta: { loss: number | null; exactMatch: number | null; charF1: number | null; rougeL: number | null; stopRate: number | null;
    consistency: number | null; judge: number | null };
  /** questions that got better, largest improvement first (by ROUGE-L, then char F1, then loss) */
  improved: QuestionDelta[];
  /** questions that got worse, largest regression first */
  regressed: QuestionDelta[];
  unchanged: QuestionDelta[];
}

export interface EvalSettingsReport {
  maxTokens: number | null;
  samples: number;
  temperature: number;
  seed: number;
  maxSeqLen: number;
  judge: { url: string; model: string; rubric: string } | null;
}

export interface EvalReport {
  format: 'shitate-eval';
  version: 1;
  /** false when the run was interrupted: the numbers cover only what was computed */
  complete: boolean;
  model: string;
  data: string;
  settings: EvalSettingsReport;
  systems: SystemSummary[];
  comparisons: Comparison[];
  questions: QuestionReport[];
}
