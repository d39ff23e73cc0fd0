// `shitate kb`: knowledge bases for answers grounded in company documents — add files (progress and a
// status per file), search them to check retrieval, list what is inside, remove files.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import {
  citation, createEmbedderFromSettings, DEFAULT_CHUNKING, DEFAULT_MAX_BYTES, ingest, KnowledgeBase, projectHome, searchKb,
  type ChunkOptions, type EmbedSettings, type FileResult, type IngestEvent,
} from '../rag/index.js';

const usage = `usage: shitate kb <add|search|list|remove> ...

Knowledge bases: company documents indexed for retrieval (stored in <project>/kb/NAME.sqlite;
the project folder is $SHITATE_HOME, else ./.shitate).

  shitate kb add NAME FILES...      index files or folders (.txt .md .html .pdf .docx .csv .tsv .xlsx);
                                    files already indexed are skipped unless they changed, and only
                                    changed passages are re-indexed
    --max-mb N                      largest file to read (default ${DEFAULT_MAX_BYTES / 1024 / 1024})
    --chunk-chars N                 longest passage in characters (default ${DEFAULT_CHUNKING.maxChars}; fixed per knowledge base)
    --overlap N                     characters repeated between passages (default ${DEFAULT_CHUNKING.overlap})
    --embed-model DIR               a local encoder folder (multilingual-e5, bge-m3, ruri, ...): adds vector
                                    search fused with BM25, computed here (passages and questions get the
                                    model's prompts, e5: "passage: " / "query: ")
    --embed-query-prefix TEXT       with a local model: the question prompt instead of the model's
    --embed-passage-prefix TEXT     with a local model: the passage prompt instead of the model's
    --embed-url URL                 OpenAI-compatible embeddings endpoint (e.g. http://127.0.0.1:11434/v1);
                                    --embed-model then names the endpoint's model
    --embed-key-env VAR             environment variable holding the endpoint's key
  shitate kb search NAME QUERY      show what retrieval finds (-k N results, --json)
  shitate kb list [NAME]            knowledge bases, or the documents in one with their status
  shitate kb remove NAME FILES...   drop documents from the index
`;

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

function intFlag(p: Parsed, name: string, min: number): number | undefined {
  const s = flagStr(p, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isInteger(v) || v < min) throw new ShitateError('E_USAGE', `--${name}: expected a whole number >= ${min}, found "${s}"`, `e.g. --${name} ${Math.max(min, 5)}`);
  return v;
}

/** Chunk settings are chosen when a knowledge base is created; mixing sizes would skew ranking. */
function chunkingFor(kb: KnowledgeBase, p: Parsed): ChunkOptions {
  const stored = kb.getMeta('chunking');
  const asked = { maxChars: intFlag(p, 'chunk-chars', 50), overlap: intFlag(p, 'overlap', 0) };
  if (stored) {
    const s = JSON.parse(stored) as ChunkOptions;
    if ((asked.maxChars !== undefined && asked.maxChars !== s.maxChars) || (asked.overlap !== undefined && asked.overlap !== s.overlap)) {
      throw new ShitateError('E_USAGE', `kb ${kb.name}: chunking is fixed at ${s.maxChars} characters, overlap ${s.overlap}; found other values in the flags`,
        'leave out --chunk-chars/--overlap, or index into a new knowledge base');
    }
    return s;
  }
  const c = { maxChars: asked.maxChars ?? DEFAULT_CHUNKING.maxChars, overlap: asked.overlap ?? DEFAULT_CHUNKING.overlap };
  if (c.overlap >= c.maxChars) throw new ShitateError('E_USAGE', `--overlap ${c.overlap}: expected less than --chunk-chars ${c.maxChars}`, 'e.g. --overlap 100');
  kb.setMeta('chunking', JSON.stringify(c));
  return c;
}

/** --embed-model DIR alone: a local encoder folder (its prompts overridable); with --embed-url: an endpoint's model. */
function localSettings(p: Parsed, dir: string): EmbedSettings {
  const [qp, pp] = [flagStr(p, 'embed-query-prefix'), flagStr(p, 'embed-passage-prefix')];
  return { url: '', model: path.basename(path.resolve(dir)), local: path.resolve(dir), ...(qp !== undefined ? { queryPrefix: qp } : {}), ...(pp !== undefined ? { passagePrefix: pp } : {}) };
}

function embedFor(kb: KnowledgeBase, p: Parsed): EmbedSettings | null {
  const url = flagStr(p, 'embed-url');
  const model = flagStr(p, 'embed-model');
  const keyEnv = flagStr(p, 'embed-key-env');
  const stored = kb.embedSettings();
  if (!url && !model) return stored;
  const local = !url && model !== undefined && fs.existsSync(path.join(model, 'config.json'));
  if (!local && (!url || !model)) {
    throw new ShitateError('E_USAGE', `kb add: expected --embed-model with a local encoder folder (holding config.json), or --embed-url and --embed-model together; found ${model ? `--embed-model ${model}, not a model folder` : 'only --embed-url'}`,
      'e.g. --embed-model ./multilingual-e5-small, or --embed-url http://127.0.0.1:11434/v1 --embed-model nomic-embed-text');
  }
  const s: EmbedSettings = local ? localSettings(p, model) : { url: url!, model: model!, ...(keyEnv ? { keyEnv } : {}) };
  if (stored && (stored.model !== s.model || (stored.local ?? '') !== (s.local ?? ''))) {
    throw new ShitateError('E_USAGE', `kb ${kb.name}: built with embedding model ${stored.local ?? stored.model}; found --embed-model ${model}`,
      'vectors from different models cannot be compared: index into a new knowledge base');
  }
  kb.setMeta('embed', JSON.stringify(s));
  return s;
}

function describeResult(r: FileResult): string {
  switch (r.status) {
    case 'failed':
      return `FAILED — ${r.error}${r.hint ? `\n      hint: ${r.hint}` : ''}`;
    case 'unchanged':
      return `unchanged (${r.chunks} passages)`;
    case 'updated':
      return `updated: ${r.added} passages added, ${r.removed} removed, ${r.kept} kept`;
    default:
      return `indexed: ${r.chunks} passages${r.pages !== null ? `, ${r.pages} pages` : ''}`;
  }
}

async function add(p: Parsed, name: string, files: string[]): Promise<number> {
  if (files.length === 0) throw new ShitateError('E_USAGE', 'kb add: expected NAME and at least one file, found no files', 'e.g. shitate kb add handbook docs/');
  const kb = KnowledgeBase.open(projectHome(), name, { create: true });
  try {
    const chunking = chunkingFor(kb, p);
    const embed = embedFor(kb, p);
    const maxMb = intFlag(p, 'max-mb', 1);
    const onEvent = (e: IngestEvent) => {
      if (e.type === 'file-start') process.stderr.write(`[${e.index}/${e.total}] ${e.file} … `);
      else if (e.type === 'file-done') process.stderr.write(`${describeResult(e.result)}\n`);
      else note(`  embeddings ${e.done}/${e.total}`);
    };
    const r = await ingest(kb, files, { chunking, maxBytes: (maxMb ?? DEFAULT_MAX_BYTES / 1024 / 1024) * 1024 * 1024, embedder: embed ? createEmbedderFromSettings(embed) : null, onEvent });
    const count = (s: string) => r.files.filter((f) => f.status === s).length;
    const failed = count('failed');
    note(`${r.files.length} files: ${count('indexed')} indexed, ${count('updated')} updated, ${count('unchanged')} unchanged, ${failed} failed` +
      `${r.skipped.length ? `; ${r.skipped.length} ${r.skipped.length === 1 ? 'file' : 'files'} with other extensions ignored` : ''}`);
    if (r.embedError) note(`embeddings were not computed (search uses BM25 alone until the next kb add):\n${r.embedError}`);
    const st = kb.stats();
    note(`knowledge base ${name}: ${st.documents - st.failed} documents, ${st.chunks} passages (${kb.file})`);
    return failed > 0 ? 1 : 0;
  } finally {
    kb.close();
  }
}

async function search(p: Parsed, name: string, query: string): Promise<number> {
  const kb = KnowledgeBase.open(projectHome(), name, { create: false });
  try {
    const s = kb.embedSettings();
    const hits = await searchKb(kb, query, { k: intFlag(p, 'k', 1) ?? 5, embedder: s ? createEmbedderFromSettings(s) : null, onWarning: note });
    if (flagBool(p, 'json')) {
      process.stdout.write(JSON.stringify(hits.map((h) => ({ ...h, cite: citation(h) })), null, 2) + '\n');
      return 0;
    }
    if (hits.length === 0) note('no passages match; try other words (the knowledge base may not contain this)');
    hits.forEach((h, i) => {
      const ranks = Object.entries(h.ranks).map(([m, r]) => `${m} #${r}`).join(', ');
      process.stdout.write(`${i + 1}. ${citation(h)}  [score ${h.score.toFixed(4)}; ${ranks}]\n`);
      process.stdout.write(`   ${h.text.replace(/\s+/g, ' ').slice(0, 240)}\n`);
    });
    return 0;
  } finally {
    kb.close();
  }
}

function list(name: string | undefined): number {
  const home = projectHome();
  if (!name) {
    const dir = path.join(home, 'kb');
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.sqlite')).map((f) => f.slice(0, -7)).sort() : [];
    if (names.length === 0) note(`no knowledge bases in ${dir}; create one with: shitate kb add NAME FILES...`);
    for (const n of names) {
      const kb = KnowledgeBase.open(home, n, { create: false });
      const st = kb.stats();
      process.stdout.write(`${n}\t${st.documents - st.failed} documents\t${st.chunks} passages${st.failed ? `\t${st.failed} failed` : ''}${kb.embedSettings() ? '\tembeddings' : ''}\n`);
      kb.close();
    }
    return 0;
  }
  const kb = KnowledgeBase.open(home, name, { create: false });
  for (const d of kb.documents()) {
    process.stdout.write(`${d.status.padEnd(7)}  ${d.name}\t${d.chunks} passages${d.pages !== null ? `\t${d.pages} pages` : ''}\n`);
    if (d.error) process.stdout.write(`         ${d.error}${d.hint ? ` (hint: ${d.hint})` : ''}\n`);
  }
  kb.close();
  return 0;
}

function remove(name: string, files: string[]): number {
  const kb = KnowledgeBase.open(projectHome(), name, { create: false });
  let missing = 0;
  for (const f of files) {
    if (kb.removeDocument(path.resolve(f))) note(`removed ${f}`);
    else {
      note(`not in ${name}: ${f}`);
      missing++;
    }
  }
  kb.close();
  return missing ? 1 : 0;
}

export const kbCommand: Command = {
  summary: 'knowledge bases from company documents: add, search, list, remove',
  async run(argv) {
    const p = parseFlags('kb', argv, {
      'max-mb': { type: 'string' }, 'chunk-chars': { type: 'string' }, overlap: { type: 'string' }, 'embed-url': { type: 'string' },
      'embed-model': { type: 'string' }, 'embed-key-env': { type: 'string' }, 'embed-query-prefix': { type: 'string' }, 'embed-passage-prefix': { type: 'string' }, k: { type: 'string', short: 'k' }, json: { type: 'boolean' },
    }, true);
    const [sub, name, ...rest] = p.positionals;
    if (flagBool(p, 'help') || sub === undefined || sub === 'help') {
      process.stdout.write(usage);
      return 0;
    }
    if (sub === 'list') return list(name);
    if (!name) throw new ShitateError('E_USAGE', `kb ${sub}: expected a knowledge base NAME, found none`, 'run `shitate kb --help`');
    switch (sub) {
      case 'add':
        return add(p, name, rest);
      case 'search':
        if (rest.length === 0) throw new ShitateError('E_USAGE', 'kb search: expected NAME QUERY, found no query', 'e.g. shitate kb search handbook "有給休暇"');
        return search(p, name, rest.join(' '));
      case 'remove':
        return remove(name, rest);
      default:
        throw new ShitateError('E_USAGE', `kb: unknown subcommand "${sub}"; expected add, search, list or remove`, 'run `shitate kb --help`');
    }
  },
};
