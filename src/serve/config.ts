// Settings of `shitate serve`: typed defaults < config file < SHITATE_* environment < flags. API keys, their
// users (key_users) and the admin key come only from the file or the environment (SHITATE_API_KEYS,
// SHITATE_KEY_USERS, SHITATE_ADMIN_KEY), never from flags, which other users of the machine can read in the
// process list.
import { resolveConfig, type Resolved, type Schema } from '../config/resolve.js';
import { DEFAULT_MAX_BODY_BYTES } from './app.js';
import { DEFAULT_LIMITS } from './engine.js';
import { DEFAULT_HOST } from './node.js';

export const SERVE_SCHEMA: Schema = {
  host: { type: 'string', help: 'address to listen on; 127.0.0.1 keeps the server local, 0.0.0.0 opens it to the network' },
  port: { type: 'int', min: 0, max: 65535, help: 'port to listen on (0 picks a free one)' },
  baseName: { type: 'string', nullable: true, help: 'id of the base model in /v1/models (default: the model folder\'s name)' },
  apiKeys: { type: 'list', nullable: true, help: 'Bearer keys clients must send (comma-separated in SHITATE_API_KEYS); empty: no key needed' },
  adminKey: { type: 'string', nullable: true, help: 'key for the /admin endpoints (default: the API keys)' },
  keyUsers: { type: 'json', nullable: true, help: 'API keys with the users each may act for (whose memory an assistant uses): {KEY: [user, ...] or "*"}; these keys are accepted too' },
  admin: { type: 'boolean', help: 'serve the /admin endpoints that add and remove adapters at run time' },
  maxBodyBytes: { type: 'int', min: 1024, help: 'largest request body in bytes' },
  maxConcurrent: { type: 'int', min: 1, help: 'generations that take turns on the model' },
  maxQueue: { type: 'int', min: 0, help: 'requests that may wait for a turn; more get 429' },
  logPrompts: { type: 'boolean', help: 'write prompts and completions into the log (off: they may hold customer data)' },
  allowUnknownFields: { type: 'boolean', help: 'ignore request fields the server does not know instead of answering 400' },
  chatTemplateKwargs: { type: 'json', nullable: true, help: 'default chat template variables as JSON, e.g. {"enable_thinking": false}; a request\'s chat_template_kwargs win' },
  reasoning: { type: 'boolean', help: 'return <think> blocks as reasoning_content, as vLLM\'s reasoning parser does (models whose template writes them)' },
  weights: { type: 'string', choices: ['f32', 'bf16', 'int8'], help: 'format the base weights are multiplied in: bf16 reads half the bytes per token (faster decode, logits within bf16 rounding), int8 (a scale per output channel) a quarter' },
  kvCache: { type: 'string', choices: ['auto', 'f32', 'bf16'], help: 'how each generation\'s cache holds keys and values: bf16 halves its memory and what attention reads per token; auto: bf16 with bf16 or int8 weights for the Llama-shaped families, else f32' },
};

export interface ServeConfig {
  [key: string]: string | number | boolean | string[] | null;
  host: string;
  port: number;
  baseName: string | null;
  apiKeys: string[];
  adminKey: string | null;
  /** JSON text of {KEY: [users] | "*"} (parseKeyUsers reads it) */
  keyUsers: string | null;
  admin: boolean;
  maxBodyBytes: number;
  maxConcurrent: number;
  maxQueue: number;
  logPrompts: boolean;
  allowUnknownFields: boolean;
  chatTemplateKwargs: string | null;
  reasoning: boolean;
  weights: string;
  kvCache: string;
}

export const SERVE_DEFAULTS: ServeConfig = {
  host: DEFAULT_HOST,
  port: 8000,
  baseName: null,
  apiKeys: [],
  adminKey: null,
  keyUsers: null,
  admin: true,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  maxConcurrent: DEFAULT_LIMITS.maxConcurrent,
  maxQueue: DEFAULT_LIMITS.maxQueue,
  logPrompts: false,
  allowUnknownFields: false,
  chatTemplateKwargs: null,
  reasoning: true,
  weights: 'f32',
  kvCache: 'auto',
};

/** Keys never read from flags. */
export const SECRET_KEYS = new Set(['apiKeys', 'adminKey', 'keyUsers']);

export function resolveServeConfig(file: string | null, env: NodeJS.ProcessEnv, flags: Record<string, unknown>): Resolved<ServeConfig> {
  const safeFlags = Object.fromEntries(Object.entries(flags).filter(([k]) => !SECRET_KEYS.has(k)));
  const r = resolveConfig(SERVE_SCHEMA, SERVE_DEFAULTS, { file, env, flags: safeFlags });
  r.values.apiKeys ??= []; // SHITATE_API_KEYS= (empty) means no keys
  return r;
}
