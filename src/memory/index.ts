// Public surface of memory/: per-user facts in SQLite, what to remember, and what fits in a prompt.
export { MemoryStore, UserMemory, checkUser, MAX_FACT_CHARS, type MemoryItem, type MemorySource } from './store.js';
export { explicitFact, extractFacts, extractionMessages, parseFacts, EXTRACT_PROMPT, EXTRACT_REPLY_TOKENS } from './remember.js';
export { selectMemories, relatedness, type Selected } from './budget.js';
