// Every sentence and label of the evaluation report in English and Japanese (terminal table, HTML page and
// the method notes kept in eval.json), and the rule for marking a difference as an improvement or regression.
import { excludesZero, type Interval } from './bootstrap.js';
import type { CompareOptions } from './summary.js';
import type { ReportLang, SystemSummary } from './types.js';

/** ▲/▼ need this many compared questions: a percentile bootstrap over fewer is too narrow to trust. */
export const MIN_MARKED_QUESTIONS = 10;

const TEXT = {
  title: ['shitate eval: base vs tuned', 'shitate eval: ベースとチューニング後の比較'],
  metrics: ['Metrics', '指標'],
  metric: ['metric', '指標'],
  delta: ['Δ vs base', 'ベースとの差'],
  interval: ['{level}% interval', '{level}% 区間'],
  partial: ['partial results: the run was interrupted before every system answered every question',
    '途中までの結果です。すべてのシステムがすべての質問に答える前に中断されました'],
  partialBanner: ['Partial results: the run was interrupted; only the questions computed are shown and summarised.',
    '途中までの結果です。実行が中断されたため、計算済みの質問だけを表示・集計しています。'],
  verdict: ['{system}: {better} question(s) better, {worse} worse, {unchanged} unchanged (of {n}; {identical} with identical answers)',
    '{system}: 改善 {better} 問、悪化 {worse} 問、変化なし {unchanged} 問（全 {n} 問、うち回答が同一 {identical} 問）'],
  ranked: ['(better or worse: ROUGE-L (chars) changed by at least {pt} pt; ranked by ROUGE-L change, then char F1, then reference loss)',
    '（改善・悪化は ROUGE-L（文字）の {pt} ポイント以上の変化。並びは ROUGE-L の変化、文字 F1、参照回答の損失の順）'],
  improvements: ['Improvements, largest first', '改善（大きい順）'],
  regressions: ['Regressions, largest first', '悪化（大きい順）'],
  unchanged: ['Unchanged', '変化なし'],
  notCompared: ['Not compared (the run stopped first)', '比較できなかった質問（先に実行が止まりました）'],
  answers: ['Answers', '回答'],
  reference: ['reference', '参照回答'],
  none: ['none', 'なし'],
  notEvaluated: ['not evaluated (interrupted)', '未評価（中断）'],
  empty: ['(empty: {n} whitespace characters)', '（空: 空白 {n} 文字）'],
  fullPrompt: ['full prompt ({n} messages)', 'プロンプト全体（{n} 件のメッセージ）'],
  line: ['line {n}', '{n} 行目'],
  exact: ['exact', '完全一致'],
  identicalTag: ['identical answers', '回答が同一'],
  stopped: ['stopped', '停止'],
  hitMax: ['hit max tokens', '上限トークンに到達'],
  tokens: ['{n} tokens', '{n} トークン'],
  quality: ['answer quality (higher is better)', '回答の品質（高いほど良い）'],
  lossChart: ['loss on the reference answers (lower is better)', '参照回答の損失（低いほど良い）'],
  rubric: ['Judge rubric', '評価基準（LLM 評価者）'],
  method: ['How answers were scored', '採点と比較の方法'],
  setModel: ['model', 'モデル'],
  setData: ['data: {data} ({n} questions)', 'データ: {data}（{n} 問）'],
  setMax: ['max tokens: {v}', '最大トークン数: {v}'],
  setMaxAuto: ['twice the reference + 16', '参照回答の 2 倍 + 16'],
  setSamples: ['samples: {n} at temperature {t}', 'サンプル: {n} 件（温度 {t}）'],
  setSeed: ['seed: {v}', 'シード: {v}'],
  setJudge: ['judge: {v}', 'LLM 評価者: {v}'],
  off: ['off', 'なし'],
  scoring: [
    'Answers are compared with the reference after NFKC normalisation (full-width letters and digits become half-width), lower-casing, and removal of whitespace and punctuation (Unicode category P); symbols such as ¥ and % count. Exact match needs the same normalised text, char F1 counts the characters both share, ROUGE-L (chars) follows their longest common subsequence. An answer in another script or language than its reference (Latin letters for a Japanese reference, say) scores 0.',
    '回答と参照回答は、NFKC 正規化（全角英数字は半角に）、小文字化、空白と句読点・括弧など（Unicode の P 分類）の除去をしてから比べます。¥ や % などの記号は残します。完全一致は正規化後の文字列が同じこと、文字 F1 は共通する文字の数、ROUGE-L（文字）は最長共通部分列に基づきます。参照回答と違う文字体系・言語の回答（日本語の参照回答にラテン文字の回答など）は 0 点です。'],
  rule: [
    'A question counts as better or worse when its ROUGE-L (chars) changed by at least {pt} points; answers that are identical after normalisation are unchanged, whatever the loss did.',
    'ROUGE-L（文字）が {pt} ポイント以上変わった質問を改善・悪化と数えます。正規化後に同じ回答は、損失が変わっても「変化なし」です。'],
  intervals: [
    'Each difference (tuned − base) has a {level}% paired bootstrap interval over the questions ({resamples} resamples, seed {seed}); ▲ and ▼ mark a difference only when its interval excludes zero and at least {min} questions were compared.',
    '差（チューニング後 − ベース）には、質問を単位とするペアのブートストラップによる {level}% 区間（リサンプル {resamples} 回、シード {seed}）を付けています。▲・▼ は区間が 0 を含まず、比較した質問が {min} 問以上のときだけ付けます。'],
  noIntervals: ['No intervals were computed (bootstrap_resamples 0), so no difference is marked ▲ or ▼.',
    '区間を計算していない（bootstrap_resamples 0）ため、▲・▼ は付けていません。'],
} satisfies Record<string, [string, string]>;

export type TextKey = keyof typeof TEXT;

export function tr(key: TextKey, lang: ReportLang, params: Record<string, string | number> = {}): string {
  return TEXT[key][lang === 'ja' ? 1 : 0].replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

const LABELS: Partial<Record<keyof SystemSummary, [string, string]>> = {
  loss: ['loss (reference)', '損失（参照回答）'],
  perplexity: ['perplexity', 'パープレキシティ'],
  exactMatch: ['exact match', '完全一致'],
  charF1: ['char F1', '文字 F1'],
  rougeL: ['ROUGE-L (chars)', 'ROUGE-L（文字）'],
  stopRate: ['stop rate', '停止率'],
  consistency: ['consistency', '一貫性'],
  judge: ['judge (1-5)', 'LLM 評価（1〜5）'],
  meanChars: ['answer length (chars)', '回答の長さ（文字）'],
  meanTokens: ['answer length (tokens)', '回答の長さ（トークン）'],
  questions: ['questions', '質問数'],
};

export function metricLabel(key: keyof SystemSummary, lang: ReportLang): string {
  const l = LABELS[key];
  return l ? l[lang === 'ja' ? 1 : 0] : key;
}

/** The method sentences of a report: scoring, the better/worse rule, the intervals. */
export function methodNotes(lang: ReportLang, o: CompareOptions): string[] {
  const b = o.bootstrap;
  return [
    tr('scoring', lang),
    tr('rule', lang, { pt: +(100 * o.minChange).toFixed(2) }),
    b.resamples > 0 ? tr('intervals', lang, { level: +(100 * b.level).toFixed(1), resamples: b.resamples, seed: b.seed, min: MIN_MARKED_QUESTIONS }) : tr('noIntervals', lang),
  ];
}

/** ▲/▼ for a difference: only when its interval excludes zero over enough questions, and it does not round to 0. */
export function marked(d: number, ci: Interval | null, questions: number, roundsToZero: boolean): boolean {
  return d !== 0 && !roundsToZero && questions >= MIN_MARKED_QUESTIONS && excludesZero(ci);
}
