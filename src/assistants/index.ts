// Public surface of assistants/: YAML profiles, safe prompt templates, and resolveAssistant() — an
// assistant's provider plus the messages (instructions, memory, cited sources) for each turn.
export { parseProfile, profileToYaml, KNOWLEDGE_DEFAULTS, MEMORY_DEFAULTS, type Profile, type KnowledgeSettings, type MemorySettings } from './profile.js';
export { renderTemplate, builtinVars } from './template.js';
export { assistantsDir, profilePath, listProfiles, loadProfile, saveProfile } from './store.js';
export { systemPrompt } from './prompt.js';
export { resolveAssistant, type ResolveOptions, type ResolvedAssistant, type PreparedTurn, type TurnOptions } from './resolve.js';
export { Conversation, formatCitations, CHAT_COMMANDS, type Sink } from './conversation.js';
