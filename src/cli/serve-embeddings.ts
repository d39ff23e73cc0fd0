// `shitate serve --embedding-model DIR` without --model: an OpenAI-compatible embeddings server (for RAG in other
// tools) with the serve settings that apply to it: host, port, API keys, body limit, unknown fields.
import type { Parsed } from './args.js';
import { flagStr } from './args.js';
import { flagsToKeys } from '../config/resolve.js';
import { createEmbeddingHandler, EmbeddingService, isLoopback, listen, resolveServeConfig, SERVE_SCHEMA } from '../serve/index.js';
import { parseKeyUsers } from '../serve/auth.js';
import { untilSignal } from './serve.js';

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

export async function serveEmbeddingsOnly(p: Parsed, dir: string): Promise<number> {
  const cfg = resolveServeConfig(flagStr(p, 'config') ?? null, process.env, flagsToKeys(SERVE_SCHEMA, p.values)).values;
  const service = new EmbeddingService(dir, cfg.baseName ? { id: cfg.baseName } : {});
  const keyUsers = parseKeyUsers(cfg.keyUsers);
  if (!isLoopback(cfg.host) && cfg.apiKeys.length === 0 && keyUsers.size === 0) {
    note(`warning: listening on ${cfg.host} without API keys: anyone who can reach it can use the model (set SHITATE_API_KEYS)`);
  }
  const handler = createEmbeddingHandler(service, {
    apiKeys: cfg.apiKeys, keyUsers, maxBodyBytes: cfg.maxBodyBytes, allowUnknownFields: cfg.allowUnknownFields,
    log: (line) => note(`${new Date().toISOString()} ${line}`),
  });
  const stopped = untilSignal();
  const server = await listen(handler, { host: cfg.host, port: cfg.port });
  const e = service.embedder;
  note(`embedding model: ${service.id} (${e.dims} dimensions, ${e.config.source}; prompts: query ${JSON.stringify(e.prompts.query)}, passage ${JSON.stringify(e.prompts.passage)})`);
  process.stdout.write(`listening on ${server.url}\n`);
  note(`${await stopped}: stopping`);
  await server.close();
  return 0;
}
