// Embeddings for knowledge bases from a local encoder folder (no endpoint): passages get the model's passage
// prompt when indexed, questions its query prompt when searched (e5: "passage: " / "query: "). One loaded model
// per folder and prompt setting, shared by every knowledge base that uses it.
import path from 'node:path';
import type { Embedder } from '../providers/index.js';
import { SentenceEmbedder, type EmbedderOptions } from '../models/sentence-embedder.js';

const loaded = new Map<string, SentenceEmbedder>();

/** The embedder of `dir` (cached; the model loads on first use). */
export function localEmbedder(dir: string, o: Pick<EmbedderOptions, 'queryPrefix' | 'passagePrefix'> = {}): Embedder {
  const abs = path.resolve(dir);
  const key = JSON.stringify([abs, o.queryPrefix ?? null, o.passagePrefix ?? null]);
  const get = (): SentenceEmbedder => {
    let e = loaded.get(key);
    if (!e) {
      e = new SentenceEmbedder(abs, o);
      loaded.set(key, e);
    }
    return e;
  };
  return {
    model: path.basename(abs),
    embed: async (texts) => get().embed(texts, 'passage').vectors,
    embedQueries: async (texts) => get().embed(texts, 'query').vectors,
  };
}
