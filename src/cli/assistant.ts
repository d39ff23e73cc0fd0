// `shitate assistant`: assistant profiles ("GPTs") — create one from flags, list and show them, and chat
// with one in the terminal: its instructions, knowledge (with cited sources) and memory applied per turn.
import fs from 'node:fs';
import { runChatLoop } from './chat-loop.js';
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import {
  checkBudgets, Conversation, builtinVars, DEFAULT_INSTRUCTIONS, formatBudgets, KNOWLEDGE_DEFAULTS, listProfiles, loadProfile, MEMORY_DEFAULTS, profileBudgets,
  profilePath, profileToYaml, renderTemplate, resolveAssistant, saveProfile, windowFor, type Budgets, type ContextWindow, type Profile,
} from '../assistants/index.js';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/index.js';
import { projectHome } from '../rag/index.js';
import { checkQuoteStrength, DEFAULT_QUOTE_STRENGTH } from '../generate/index.js';
import { defaultUser } from './memory.js';

const usage = `usage: shitate assistant <new|list|show|chat> ...

Assistants: a system prompt and persona, a provider and model, knowledge bases and memory, saved as
<project>/assistants/NAME.yaml (the project folder is $SHITATE_HOME, else ./.shitate).

  shitate assistant new NAME [options]   create a profile (then edit the YAML freely)
    --provider KIND         ${PROVIDER_KINDS.join(' | ')} (default openai: also Ollama, vLLM, shitate serve)
    --model M               model name (local: the model folder)
    --url URL               API base URL (e.g. http://127.0.0.1:11434/v1)
    --key-env VAR           environment variable holding the API key (keys never go in the file)
    --adapter DIR           LoRA adapter folder (local only)
    --instructions TEXT     system prompt; may use {{ company }}, {{ today }}, {{ weekday }}, {{ user }}...
    --description TEXT      --tone TEXT      --language CODE (e.g. ja)
    --starter TEXT          example conversation starter (repeatable)
    --kb NAME               knowledge base to answer from (repeatable)
    --quote N               local models: quote the retrieved passages (source-anchored decoding; N is the
                            bonus, 10 makes a small model quote its sources; default 0: off)
    --memory                remember facts per user
    --max-tokens N          room kept for each reply (default: the model's, at most a quarter of its context)
    --context-tokens N      the model's context when shitate cannot know it (e.g. Ollama's num_ctx)
    --var KEY=VALUE         template variable (repeatable)
    --force                 overwrite an existing profile
  shitate assistant list
  shitate assistant show NAME            the profile, its rendered system prompt and its budgets
  shitate assistant chat NAME [--user ID] [--var KEY=VALUE]

Each turn's prompt is planned against the model's context (local: max_position_embeddings; hosted: the
published limit): the reply's room first, then the system prompt, the message, and as many earlier
messages, remembered facts and knowledge passages as fit, in that order. The chat says when something
was left out. \`new\` and \`show\` print these budgets; a profile that leaves no room for a message is refused.
`;

export function parseVars(p: Parsed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of flagList(p, 'var')) {
    const i = kv.indexOf('=');
    if (i < 1) throw new ShitateError('E_USAGE', `--var: expected KEY=VALUE, found "${kv}"`, 'e.g. --var company=ミナト精機');
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function create(p: Parsed, id: string): number {
  const home = projectHome();
  const file = profilePath(home, id);
  if (fs.existsSync(file) && !flagBool(p, 'force')) {
    throw new ShitateError('E_USAGE', `assistant new: ${file} already exists`, 'edit it, pick another name, or pass --force to replace it');
  }
  const kind = (flagStr(p, 'provider') ?? 'openai') as ProviderKind;
  if (!PROVIDER_KINDS.includes(kind)) throw new ShitateError('E_USAGE', `--provider: expected one of ${PROVIDER_KINDS.join(', ')}, found "${kind}"`, 'e.g. --provider openai');
  const model = flagStr(p, 'model');
  if (!model) throw new ShitateError('E_USAGE', 'assistant new: expected --model, found none', kind === 'local' ? 'pass the model folder, e.g. --model ./models/SmolLM2-135M-Instruct' : 'e.g. --model gpt-4o-mini');
  const opt = (k: string) => flagStr(p, k);
  const profile: Profile = {
    id, name: id, description: opt('description') ?? '', instructions: opt('instructions') ?? DEFAULT_INSTRUCTIONS,
    tone: opt('tone') ?? '', language: opt('language') ?? '', starters: flagList(p, 'starter'),
    provider: { kind, model, ...(opt('url') ? { url: opt('url') } : {}), ...(opt('key-env') ? { keyEnv: opt('key-env') } : {}), ...(opt('adapter') ? { adapter: opt('adapter') } : {}) },
    generation: {}, knowledge: { bases: flagList(p, 'kb'), ...KNOWLEDGE_DEFAULTS }, memory: { ...MEMORY_DEFAULTS, enabled: flagBool(p, 'memory') },
    variables: parseVars(p),
  };
  const maxTokens = intFlag(p, 'max-tokens', 1);
  const contextTokens = intFlag(p, 'context-tokens', 64);
  if (maxTokens !== undefined) profile.generation.maxTokens = maxTokens;
  const quote = opt('quote');
  if (quote !== undefined) {
    if (kind !== 'local') throw new ShitateError('E_USAGE', `--quote: expected a local model (it steers the local engine's decoding), found --provider ${kind}`, 'drop --quote, or use --provider local');
    if (!/^\d+(\.\d+)?$/.test(quote)) throw new ShitateError('E_USAGE', `--quote: expected a number from 0 to 100, found "${quote}"`, `e.g. --quote ${DEFAULT_QUOTE_STRENGTH}`);
    profile.knowledge.quote = checkQuoteStrength(Number(quote), '--quote');
  }
  if (contextTokens !== undefined) profile.contextTokens = contextTokens;
  // the template must render, and the fixed parts must fit the model, before the profile is written
  const instructions = renderTemplate(profile.instructions, { ...builtinVars(new Date(), profile.language, id, ''), ...profile.variables }, `--instructions`);
  const budgets = budgetsOf(profile, instructions);
  if (budgets) checkBudgets(id, budgets);
  const header = `# shitate assistant profile. Variables in instructions: {{ today }} {{ now }} {{ weekday }} {{ assistant }} {{ user }}\n# and any under variables:. The API key is read from key_env (default per provider), never stored here.\n`;
  process.stderr.write(`wrote ${saveProfile(home, profile, header)}\n`);
  if (budgets) process.stdout.write(`${formatBudgets(profile, budgets)}\n`);
  return 0;
}

function intFlag(p: Parsed, name: string, min: number): number | undefined {
  const raw = flagStr(p, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ShitateError('E_USAGE', `--${name}: expected a whole number >= ${min}, found "${raw}"`, `e.g. --${name} 256`);
  return n;
}

/** The profile's budgets on its model, or null (with a note) while the local model folder cannot be read:
 *  a profile may be written before its model is downloaded. */
function budgetsOf(profile: Profile, instructions: string): Budgets | null {
  let window: ContextWindow;
  try {
    window = windowFor(profile.provider, profile.contextTokens);
  } catch (e) {
    if (!(e instanceof ShitateError) || e.code === 'E_PROFILE') throw e;
    process.stderr.write(`note: budgets unknown until the model can be read: ${e.message}\n`);
    return null;
  }
  return profileBudgets(profile, window, instructions);
}

function list(): number {
  const home = projectHome();
  const ids = listProfiles(home);
  if (ids.length === 0) process.stderr.write(`no assistants yet; create one with: shitate assistant new NAME --model MODEL\n`);
  for (const id of ids) {
    try {
      const p = loadProfile(home, id);
      process.stdout.write(`${id}\t${p.provider.kind}:${p.provider.model}\t${p.description}\n`);
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      process.stdout.write(`${id}\t(invalid: ${e.message})\n`);
    }
  }
  return 0;
}

function show(p: Parsed, id: string): number {
  const profile = loadProfile(projectHome(), id);
  const shown = profile.provider.key ? { ...profile, provider: { ...profile.provider, key: '***' } } : profile;
  process.stdout.write(`# ${profilePath(projectHome(), id)}\n${profileToYaml(shown)}`);
  const vars = { ...builtinVars(new Date(), profile.language, profile.name, defaultUser(p)), ...profile.variables, ...parseVars(p) };
  const instructions = renderTemplate(profile.instructions, vars, `${id}: instructions`);
  process.stdout.write(`\n# system prompt as rendered now (memory and sources are added per message):\n${instructions}\n`);
  const budgets = budgetsOf(profile, instructions);
  if (!budgets) return 0;
  process.stdout.write(`\n${formatBudgets(profile, budgets)}\n`);
  try {
    checkBudgets(id, budgets);
  } catch (e) {
    if (!(e instanceof ShitateError)) throw e;
    process.stdout.write(`${e.format()}\n`);
    return 1;
  }
  return 0;
}

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

/** The terminal loop around a conversation: readline (works with piped stdin), Ctrl-C stops a reply or leaves. */
async function chat(id: string, userId: string, vars: Record<string, string>): Promise<number> {
  const a = resolveAssistant(id, { vars });
  const conv = new Conversation(a, userId, { text: (t) => process.stdout.write(t), note });
  const tty = process.stdin.isTTY === true;
  note(`${a.profile.name}${a.profile.description ? ` — ${a.profile.description}` : ''} (${a.provider.kind}: ${a.provider.model}; user ${userId}) — /help for commands`);
  if (a.window.systemRole !== 'native') {
    note(`note: this model's chat template has no system role; the instructions, memory and knowledge go at the start of the first message`);
  }
  for (const s of a.profile.starters) note(`  try: ${s}`);
  try {
    return await runChatLoop(conv, tty);
  } finally {
    a.close();
  }
}

export const assistantCommand: Command = {
  summary: 'assistant profiles (prompt, persona, knowledge, memory): new, list, show, chat',
  async run(argv) {
    const p = parseFlags('assistant', argv, {
      provider: { type: 'string' }, model: { type: 'string', short: 'm' }, url: { type: 'string' }, 'key-env': { type: 'string' },
      adapter: { type: 'string' }, instructions: { type: 'string' }, description: { type: 'string' }, tone: { type: 'string' },
      language: { type: 'string' }, starter: { type: 'string', multiple: true }, kb: { type: 'string', multiple: true },
      memory: { type: 'boolean' }, var: { type: 'string', multiple: true }, force: { type: 'boolean' }, user: { type: 'string', short: 'u' },
      'max-tokens': { type: 'string' }, 'context-tokens': { type: 'string' }, quote: { type: 'string' },
    }, true);
    const [sub, id, ...extra] = p.positionals;
    if (flagBool(p, 'help') || sub === undefined || sub === 'help') {
      process.stdout.write(usage);
      return 0;
    }
    if (sub === 'list') return list();
    if (!id || extra.length > 0) {
      throw new ShitateError('E_USAGE', `assistant ${sub}: expected one NAME, found ${id ? p.positionals.slice(1).join(' ') : 'none'}`, 'run `shitate assistant --help`');
    }
    switch (sub) {
      case 'new':
        return create(p, id);
      case 'show':
        return show(p, id);
      case 'chat':
        return chat(id, defaultUser(p), parseVars(p));
      default:
        throw new ShitateError('E_USAGE', `assistant: unknown subcommand "${sub}"; expected new, list, show or chat`, 'run `shitate assistant --help`');
    }
  },
};
