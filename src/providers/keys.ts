// API keys and base URLs per provider kind: a key comes from the config itself or from an environment
// variable (by default the one each vendor documents), and a missing key is an error before any request.
import { ShitateError } from '../errors.js';
import type { ProviderConfig, ProviderKind } from './types.js';

export const DEFAULT_KEY_ENV: Record<Exclude<ProviderKind, 'local'>, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
};

export const DEFAULT_URL: Record<Exclude<ProviderKind, 'local'>, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
};

export interface ResolvedKey {
  key: string | null;
  /** what to tell a user whose key is refused */
  hint: string;
}

/** The key for a hosted provider. Keys are optional only for OpenAI-compatible servers other than
 *  api.openai.com (Ollama, vLLM and shitate's own server run without one). */
export function resolveKey(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): ResolvedKey {
  if (cfg.kind === 'local') return { key: null, hint: '' };
  const envName = cfg.keyEnv ?? DEFAULT_KEY_ENV[cfg.kind];
  const fromEnv = env[envName];
  const key = cfg.key ?? (fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : null);
  const hint = cfg.key ? 'the profile\'s provider.key was refused; replace it (better: set key_env and keep the key in that variable)'
    : `set ${envName} to a valid key for ${cfg.kind}`;
  const url = baseUrl(cfg);
  const needed = cfg.kind !== 'openai' || new URL(url).hostname === 'api.openai.com' || cfg.keyEnv !== undefined;
  if (!key && needed) {
    throw new ShitateError('E_PROVIDER_KEY', `${cfg.kind} (${url}): expected an API key in $${envName}, found none`,
      `export ${envName}=... (or set provider.key_env to the variable that holds it)`);
  }
  return { key, hint };
}

/** The base URL without a trailing slash; an OpenAI-compatible URL given as bare host:port gets /v1. */
export function baseUrl(cfg: ProviderConfig): string {
  if (cfg.kind === 'local') return '';
  const raw = (cfg.url ?? DEFAULT_URL[cfg.kind]).trim();
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ShitateError('E_CONFIG', `provider url: expected an http(s) URL, found ${JSON.stringify(raw)}`, 'e.g. http://127.0.0.1:11434/v1');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ShitateError('E_CONFIG', `provider url: expected http or https, found ${u.protocol}`, 'e.g. https://api.openai.com/v1');
  }
  let s = raw.replace(/\/+$/, '');
  if (cfg.kind === 'openai' && (u.pathname === '/' || u.pathname === '')) s += '/v1';
  return s;
}
