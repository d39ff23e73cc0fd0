// Public surface of rag/: knowledge bases in SQLite, ingestion, hybrid search and grounded context.
export { projectHome, kbFile, memoryFile, checkName, NAME_RE } from './home.js';
export { openDb, type Db, type Migration } from './sqlite.js';
export { chunkBlocks, documentText, sentenceEnds, DEFAULT_CHUNKING, type Chunk, type ChunkOptions } from './chunk.js';
export { extract, kindOf, SUPPORTED, ExtractError, type Block, type EntryFields, type Extracted } from './extract/index.js';
export { loadMorph, normalize, Morph } from './morph.js';
export { KnowledgeBase, type DocRow, type EmbedSettings } from './store.js';
export { ingest, fillEmbeddings, createEmbedderFromSettings, DEFAULT_MAX_BYTES, type FileResult, type FileStatus, type IngestEvent, type IngestOptions, type IngestReport } from './ingest.js';
export { searchKb, rankedLists, fuse, RRF_K, METHODS, FUSION_WEIGHTS, type Fused, type Hit, type Method, type QueryRewriter, type SearchOptions } from './search.js';
export { FaqIndex, FAQ_RANKING, type FaqEntryText, type FaqRanking } from './faq-index.js';
export { analyze, type Analyzed } from './analyze.js';
export { foldText, foldKana, kanjiNumerals } from './fold.js';
export { compileGroups, matchGroups, type CompiledGroup } from './synonyms.js';
export { DEFAULT_SYNONYMS } from './synonym-defaults.js';
export { readKbSettings, settingsFile, effectiveGroups, starterSettings, type KbSettings } from './kb-settings.js';
export { faqIndexFor, searchSetup } from './faq-search.js';
export { chatRewriter, cleanRewrite, rewriteMessages, rewriterFromSettings } from './rewrite.js';
export { retrieve, citation, fitBudget, formatSources, type KnowledgeMode, type RetrieveOptions, type Source } from './context.js';
export { recallAtK, answers, type Question, type Expected, type RecallResult } from './recall.js';
