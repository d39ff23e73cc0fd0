// Public surface of eval/: metrics, the evaluation run, and the report in its three forms.
export { answerChars, charF1, exactMatch, lcsLength, mean, meanPairwiseSimilarity, normalizeAnswer, rougeLChars } from './metrics.js';
export { readEvalItems, type EvalItem } from './data.js';
export { exampleLoss, prepareItem, type PreparedItem } from './loss.js';
export { DEFAULT_RUBRIC, judgeAnswer, judgeMessages, parseVerdict, type JudgeSettings, type JudgeVerdict } from './judge.js';
export { compare, summarize } from './summary.js';
export { EvalRun, adapterLabel, sampleSeed, systemsOf, type EvalEvent, type EvalHooks, type EvalInput, type EvalSettings, type EvalSystem } from './run.js';
export { EVAL_DEFAULTS, EVAL_SCHEMA, evalSettings, judgeSettings, type EvalConfig } from './config.js';
export { METRIC_ROWS, terminalTable } from './table.js';
export { reportHtml } from './html.js';
export { writeReport, reportPaths } from './write.js';
export type * from './types.js';
export { citationNumbers, groundItems, mergeReports, runGroundedEval, stripCitations, type GroundedEvalInput, type GroundedQuestion } from './grounded.js';
