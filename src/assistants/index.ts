// Public surface of assistants/: YAML profiles, safe prompt templates, and resolveAssistant() — an
// assistant's provider plus the messages (instructions, memory, cited sources) for each turn.
export { parseProfile, profileToYaml, DEFAULT_INSTRUCTIONS, KNOWLEDGE_DEFAULTS, MEMORY_DEFAULTS, type Profile, type KnowledgeSettings, type MemorySettings } from './profile.js';
export { renderTemplate, builtinVars } from './template.js';
export { assistantsDir, profilePath, listProfiles, loadProfile, saveProfile } from './store.js';
export { systemPrompt, promptHead } from './prompt.js';
export { planPrompt, type PlanInput, type PlanReport, type PromptPlan, type Passage } from './plan.js';
export { cutParts, describeCuts, planInfo } from './plan-report.js';
export { answerTokens, checkBudgets, formatBudgets, profileBudgets, MIN_TURN_TOKENS, type Budgets } from './budgets.js';
export { defaultAnswerTokens, hostedWindow, localWindow, modelWindow, windowFor, type ContextWindow, type LocalModelParts } from './window.js';
export { hostedContext, ASSUMED_CONTEXT } from './hosted-limits.js';
export { fitText, splitSentences } from './sentences.js';
export { resolveAssistant, type ResolveOptions, type ResolvedAssistant, type PreparedTurn, type TurnOptions } from './resolve.js';
export { Conversation, formatCitations, CHAT_COMMANDS, type Sink } from './conversation.js';
export { planTurn, lastUser, type TurnInput } from './turn.js';
export { answerableIn, contextGrounder, evalWithKnowledge, groundQuestion, groundedPrompt, groundingProfile, groundingSources, quotable, quoteOf, quoteStrength, type Grounding, type GroundingOptions } from './grounded.js';
