// Public surface of rag/: knowledge bases in SQLite, ingestion, hybrid search and grounded context.
export { projectHome, kbFile, memoryFile, checkName, NAME_RE } from './home.js';
export { openDb, type Db, type Migration } from './sqlite.js';
export { chunkBlocks, documentText, sentenceEnds, DEFAULT_CHUNKING, type Chunk, type ChunkOptions } from './chunk.js';
export { extract, kindOf, SUPPORTED, ExtractError, type Block, type Extracted } from './extract/index.js';
export { loadMorph, normalize, Morph } from './morph.js';
export { KnowledgeBase, type DocRow, type EmbedSettings } from './store.js';
export { ingest, fillEmbeddings, createEmbedderFromSettings, DEFAULT_MAX_BYTES, type FileResult, type FileStatus, type IngestEvent, type IngestOptions, type IngestReport } from './ingest.js';
export { searchKb, rankedLists, fuse, RRF_K, METHODS, type Hit, type Method, type SearchOptions } from './search.js';
export { retrieve, citation, fitBudget, formatSources, type KnowledgeMode, type RetrieveOptions, type Source } from './context.js';
export { recallAtK, answers, type Question, type Expected, type RecallResult } from './recall.js';
