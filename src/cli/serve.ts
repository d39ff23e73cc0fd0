// `shitate serve`: the OpenAI-compatible HTTP API over one base model, any number of LoRA adapters and
// assistant profiles, each request picking one by its `model` field. Prints "listening on URL" to stdout;
// the log goes to stderr.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags } from './args.js';
import { flagsToKeys, schemaFlags } from '../config/resolve.js';
import { ShitateError } from '../errors.js';
import { openModel } from '../generate/index.js';
import { kvCacheFormat } from '../models/index.js';
import { parseTemplateVars } from '../tokenizer/index.js';
import { createHandler, Engine, EmbeddingService, isLoopback, listen, resolveServeConfig, serveAssistants, SERVE_SCHEMA, type ServeConfig } from '../serve/index.js';
import { serveEmbeddingsOnly } from './serve-embeddings.js';
import { kvCacheFlag, weightsFlag } from './generate.js';
import { SECRET_KEYS } from '../serve/config.js';
import { parseKeyUsers } from '../serve/auth.js';

const usage = `usage: shitate serve --model DIR [--adapter NAME=DIR]... [--assistant NAME]... [--embedding-model DIR] [--port N] [--host 127.0.0.1] [options]
       shitate serve --embedding-model DIR [--port N] [options]

Serves the model over an OpenAI-compatible HTTP API: POST /v1/chat/completions (streaming or not),
POST /v1/completions, GET /v1/models, GET /health. The base model and each adapter are models; a request's
"model" field picks one. Adapters can be added and removed while serving through /admin/adapters
(POST {"name", "path"}, DELETE /admin/adapters/NAME). Chats are rendered with the model's own chat template,
the one training uses; sampling fields a request leaves unset follow the model's generation_config.json.
Assistant profiles (shitate assistant new) can be served as models too: their instructions, knowledge and
memory apply to each chat; a profile on this same local model runs here, one on a hosted API
(OpenAI-compatible, Anthropic, Gemini) is relayed to it. Whose memory a chat uses is the request's "user"
field, believed only as far as the API key allows (key_users): a key granted [alice] acts for alice
(also when the field is left out), a key granted "*" for any user it names, any other key gets no memory.
Without API keys the field is believed only on a loopback address.

options:
  --model, -m DIR            Hugging Face model folder of the base model
  --adapter NAME=DIR         LoRA adapter folder (PEFT format) served as model NAME (repeatable;
                             DIR alone serves it under the folder's name)
  --base-name ID             id of the base model (default: the model folder's name)
  --embedding-model DIR      also answer POST /v1/embeddings with this local encoder (multilingual-e5, bge-m3,
                             ruri, ...; served under the folder's name); alone, without --model, only that.
                             Requests may add "input_type": "query" or "passage" for the model's prompts
  --assistant NAME           serve assistant profile NAME as model NAME (repeatable)
  --assistants               serve every assistant profile of the project folder ($SHITATE_HOME, else
                             ./.shitate); profiles for another local model are skipped with a note
  --host ADDR                address to listen on (default 127.0.0.1: this machine only)
  --port N                   port (default 8000; 0 picks a free one)
  --config FILE              YAML settings file (snake_case keys, e.g. max_queue: 32, api_keys: [...])
  --max-concurrent N         generations running at once, decoded together in one batched step (default 16)
  --max-queue N              requests that may wait; more get 429 (default 64)
  --max-body-bytes N         largest request body (default 2097152)
  --weights f32|bf16|int8    multiply with float32 weights (default), bf16 ones (half the bytes read per token)
                             or int8 ones with a scale per output channel (a quarter)
  --log-prompts              write prompts and completions into the log (off by default)
  --allow-unknown-fields     ignore unknown request fields instead of answering 400
  --chat-template-kwargs J   default chat template variables, e.g. '{"enable_thinking": false}' (a request's
                             chat_template_kwargs win; an adapter's training ones apply under both)
  --no-reasoning             leave <think> blocks inside content instead of returning them as reasoning_content
  --no-admin                 turn the /admin endpoints off

environment:
  SHITATE_API_KEYS=k1,k2     Bearer keys clients must send (also api_keys in the config file)
  SHITATE_ADMIN_KEY=k        key for /admin (default: the API keys); needed for /admin off loopback
  SHITATE_KEY_USERS=JSON     keys and the users each may act for, e.g. {"sk-alice": ["alice"], "sk-app": "*"}
                             (also key_users in the config file; these keys are accepted too)
  SHITATE_<SETTING>          any setting above, e.g. SHITATE_MAX_QUEUE=32
`;

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

/** --adapter NAME=DIR (or DIR, named after its folder). */
function adapterSpecs(values: string[]): { name: string; dir: string }[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq > 0) return { name: v.slice(0, eq), dir: v.slice(eq + 1) };
    return { name: path.basename(path.resolve(v)), dir: v };
  });
}

function settingFlags(): Record<string, { type: 'string' | 'boolean' }> {
  const all = schemaFlags(SERVE_SCHEMA);
  for (const k of SECRET_KEYS) delete all[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)];
  return all;
}

/** Admin stays on loopback, or wherever a key guards it. */
function adminEnabled(cfg: ServeConfig): boolean {
  if (!cfg.admin) return false;
  if (isLoopback(cfg.host) || cfg.adminKey || cfg.apiKeys.length > 0 || cfg.keyUsers !== null) return true;
  note(`note: /admin is off: ${cfg.host} is reachable from other machines and no SHITATE_ADMIN_KEY (or API key) guards it`);
  return false;
}

/** Resolves with the name of the first SIGINT or SIGTERM (shared by the commands that serve until stopped). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export const serveCommand: Command = {
  summary: 'serve models over an OpenAI-compatible HTTP API (adapters picked per request)',
  async run(argv) {
    const p = parseFlags('serve', argv, {
      ...settingFlags(), model: { type: 'string', short: 'm' }, adapter: { type: 'string', multiple: true },
      assistant: { type: 'string', multiple: true }, assistants: { type: 'boolean' }, config: { type: 'string' }, 'no-admin': { type: 'boolean' }, 'no-reasoning': { type: 'boolean' },
      'embedding-model': { type: 'string' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const dir = flagStr(p, 'model');
    const embedDir = flagStr(p, 'embedding-model');
    if (!dir && embedDir) return serveEmbeddingsOnly(p, embedDir);
    if (!dir) {
      throw new ShitateError('E_USAGE', 'serve: expected --model DIR, found no model folder',
        'pass the base model\'s Hugging Face folder, e.g. shitate serve --model ./models/SmolLM2-135M-Instruct --adapter support=./runs/support/adapter');
    }
    const flags = flagsToKeys(SERVE_SCHEMA, p.values);
    if (flagBool(p, 'no-admin')) flags.admin = false;
    if (flagBool(p, 'no-reasoning')) flags.reasoning = false;
    const cfg = resolveServeConfig(flagStr(p, 'config') ?? null, process.env, flags).values;
    const weights = weightsFlag(cfg.weights, 'weights');
    const kvCache = kvCacheFlag(cfg.kvCache, 'kv_cache');
    const engine = new Engine(openModel(dir, { templateVars: parseTemplateVars(cfg.chatTemplateKwargs, 'chat_template_kwargs'), weights, kvCache }), {
      ...(cfg.baseName ? { baseId: cfg.baseName } : {}),
      adapters: adapterSpecs(flagList(p, 'adapter')),
      limits: { maxConcurrent: cfg.maxConcurrent, maxQueue: cfg.maxQueue },
    });
    const assistants = serveAssistants(engine, { names: flagBool(p, 'assistants') ? 'all' : flagList(p, 'assistant'), note });
    if (flagBool(p, 'assistants') && assistants.ids.length === 0) note('note: --assistants found no assistant profile to serve (create one with: shitate assistant new NAME)');
    const keyUsers = parseKeyUsers(cfg.keyUsers);
    const keyed = cfg.apiKeys.length > 0 || keyUsers.size > 0;
    if (!isLoopback(cfg.host) && !keyed) {
      note(`warning: listening on ${cfg.host} without API keys: anyone who can reach it can use the model (set SHITATE_API_KEYS)` +
        `${assistants.ids.length ? '; assistants answer without memory, since no request can prove whose it is (set key_users)' : ''}`);
    }
    const embeddings = embedDir ? new EmbeddingService(embedDir) : null;
    const handler = createHandler(engine, {
      embeddings,
      apiKeys: cfg.apiKeys, keyUsers, trustUserField: isLoopback(cfg.host), adminKey: cfg.adminKey, admin: adminEnabled(cfg), maxBodyBytes: cfg.maxBodyBytes,
      logPrompts: cfg.logPrompts, allowUnknownFields: cfg.allowUnknownFields, reasoning: cfg.reasoning,
      log: (line) => note(`${new Date().toISOString()} ${line}`),
    });
    const stopped = untilSignal();
    const server = await listen(handler, { host: cfg.host, port: cfg.port });
    note(`models: ${[...engine.registry.list().map((m) => (m.kind === 'adapter' ? m.id : `${m.id} (${m.kind})`)), ...(embeddings ? [`${embeddings.id} (embedding)`] : [])].join(', ')}` +
      `${weights !== 'f32' || kvCacheFormat() !== 'f32' ? ` · ${weights} weights, ${kvCacheFormat()} KV cache` : ''}` +
      `${keyed ? ' · API keys required' : ''}${cfg.logPrompts ? ' · logging prompts' : ''}`);
    process.stdout.write(`listening on ${server.url}\n`);
    const sig = await stopped;
    note(`${sig}: stopping (running generations are cancelled)`);
    await engine.close();
    await assistants.close();
    await server.close();
    return 0;
  },
};
