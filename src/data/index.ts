// Public surface of data/: read FAQ sheets, logs and documents, check them, and write clean splits.
export { checkBytes, checkFiles, openFiles, runValidation, type CheckOptions, type CheckOutcome } from './check.js';
export { prepare, type PrepareOptions, type PrepareOutcome } from './prepare.js';
export { validate, Validator, type IssueGroup, type ValidateOptions, type ValidationResult } from './validator.js';
export { buildReport, verdict, type DataReport, type ReportProblem, type SplitSummary } from './report.js';
export { renderHtml } from './html.js';
export { renderTerminal } from './terminal.js';
export { detectLang, MESSAGE_CODES, messageDetail, messageHint, messageTitle, type Lang, type MessageCode } from './messages.js';
export { findPii, redactPii, type PiiHit, type PiiKind } from './pii.js';
export { bytesInput, fileInput, openSource, type ByteInput, type Source } from './source.js';
export { tokenCounter, modelContext, type TokenCounter } from './tokens.js';
export type { DataRecord, ImportItem, ImportOptions, Issue, Loc, SourceInfo, Turn } from './types.js';
