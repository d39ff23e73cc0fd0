// HTTP routes of the Assistants page, on the same project folder as `shitate assistant|kb|memory`:
// profiles (validated by the profile parser itself before they are written), knowledge bases with file
// upload and a search preview, and each user's long-term memory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import YAML from 'yaml';
import {
  builtinVars, listProfiles, loadProfile, parseProfile, profileBudgets, profilePath, renderTemplate, saveProfile, windowFor, type Profile,
} from '../assistants/index.js';
import { ShitateError } from '../errors.js';
import { MemoryStore } from '../memory/index.js';
import { citation, createEmbedderFromSettings, DEFAULT_CHUNKING, ingest, KnowledgeBase, searchKb, type ChunkOptions } from '../rag/index.js';
import { checkName } from '../rag/home.js';
import type { StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { optNum, optStr, readBodyJson, str } from './fields.js';
import { safeName } from './uploads.js';

const defaultUser = (): string => process.env.SHITATE_USER ?? os.userInfo().username;

function profileView(ctx: StudioContext, id: string): Record<string, unknown> {
  const p = loadProfile(ctx.home, id);
  const shown: Profile = p.provider.key ? { ...p, provider: { ...p.provider, key: '***' } } : p;
  let prompt: string;
  try {
    prompt = renderTemplate(p.instructions, { ...builtinVars(new Date(), p.language, p.name, defaultUser()), ...p.variables }, `${id}: instructions`);
  } catch (e) {
    if (!(e instanceof ShitateError)) throw e;
    prompt = `(${e.message})`;
  }
  return { profile: shown, file: profilePath(ctx.home, id), systemPrompt: prompt, budgets: budgetsView(p, prompt) };
}

/** How the model's window is shared per turn (as `shitate assistant new|show` prints it), or why it cannot be said. */
function budgetsView(p: Profile, prompt: string): Record<string, unknown> {
  try {
    const b = profileBudgets(p, windowFor(p.provider, p.contextTokens), prompt);
    return {
      context: b.window.tokens, source: b.window.source, exact: b.window.exact, answer: b.answer, system: b.system,
      per_turn: b.perTurn, memory: b.memory, knowledge: b.knowledge, problem: b.perTurn < 32 ? 'the system prompt leaves almost no room for a turn' : null,
    };
  } catch (e) {
    if (!(e instanceof ShitateError)) throw e;
    return { problem: e.message };
  }
}

function listAssistants(ctx: StudioContext): Record<string, unknown>[] {
  return listProfiles(ctx.home).map((id) => {
    try {
      const p = loadProfile(ctx.home, id);
      return { id, name: p.name, description: p.description, provider: `${p.provider.kind}: ${p.provider.model}`, knowledge: p.knowledge.bases, memory: p.memory.enabled, problem: null };
    } catch (e) {
      if (!(e instanceof ShitateError)) throw e;
      return { id, name: id, description: '', provider: '', knowledge: [], memory: false, problem: e.message };
    }
  });
}

/** Writes a profile from the file's own shape (snake_case); the parser checks it first. A stored API key
 *  is kept (the page never sees it), and a new one cannot be sent: keys belong in the environment. */
function putProfile(ctx: StudioContext, id: string, body: Record<string, unknown>): Record<string, unknown> {
  checkName('assistant', id);
  const prov = (body.provider ?? {}) as Record<string, unknown>;
  if (prov && typeof prov === 'object' && 'key' in prov) {
    throw badField('provider.key', 'no API key in the profile (use key_env: the name of an environment variable)', '***', 'set the key in the environment of `shitate studio`');
  }
  const label = `assistant ${id}`;
  const parsed = parseProfile(id, YAML.stringify(body), label);
  const file = profilePath(ctx.home, id);
  if (fs.existsSync(file)) {
    const old = loadProfile(ctx.home, id);
    if (old.provider.key && parsed.provider.kind === old.provider.kind) parsed.provider.key = old.provider.key;
  }
  renderTemplate(parsed.instructions, { ...builtinVars(new Date(), parsed.language, id, ''), ...parsed.variables }, `${label}: instructions`);
  saveProfile(ctx.home, parsed, '# shitate assistant profile (written by shitate studio; edit freely)\n');
  return profileView(ctx, id);
}

function kbNames(ctx: StudioContext): string[] {
  const dir = path.join(ctx.home, 'kb');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.sqlite')).map((f) => f.slice(0, -7)).sort() : [];
}

function withKb<T>(ctx: StudioContext, name: string, create: boolean, f: (kb: KnowledgeBase) => T): T {
  const kb = KnowledgeBase.open(ctx.home, name, { create });
  try {
    return f(kb);
  } finally {
    kb.close();
  }
}

/** Chunking is fixed when a knowledge base is made (as `shitate kb add` does), defaults on first use. */
function chunking(kb: KnowledgeBase): ChunkOptions {
  const stored = kb.getMeta('chunking');
  if (stored) return JSON.parse(stored) as ChunkOptions;
  kb.setMeta('chunking', JSON.stringify(DEFAULT_CHUNKING));
  return DEFAULT_CHUNKING;
}

async function addKbFile(ctx: StudioContext, name: string, req: Request): Promise<Record<string, unknown>> {
  checkName('knowledge base', name);
  const raw = new URL(req.url).searchParams.get('file');
  const file = safeName(raw ? decodeURIComponent(raw) : '');
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.length === 0) throw badField('body', 'the document\'s bytes', 'an empty body');
  if (bytes.length > 64 * 1024 * 1024) throw new StudioError(413, 'too_large', 'knowledge file: expected at most 64 MiB', 'use `shitate kb add` for bigger files');
  // a stable path per knowledge base and file name: the same file again updates its passages
  const dir = path.join(ctx.ws.dir, 'knowledge', name);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, file);
  fs.writeFileSync(`${target}.part`, bytes);
  fs.renameSync(`${target}.part`, target);
  const kb = KnowledgeBase.open(ctx.home, name, { create: true });
  try {
    const embed = kb.embedSettings();
    const r = await ingest(kb, [target], { chunking: chunking(kb), embedder: embed ? createEmbedderFromSettings(embed) : null });
    return { result: r.files[0] ?? null, stats: kb.stats() };
  } finally {
    kb.close();
  }
}

export function assistantRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/assistants', () => Response.json({ assistants: listAssistants(ctx), home: ctx.home }));
  app.get('/api/assistants/:id', (c) => Response.json(profileView(ctx, c.req.param('id'))));
  app.put('/api/assistants/:id', async (c) => Response.json(putProfile(ctx, c.req.param('id'), await readBodyJson(c.req.raw))));
  app.delete('/api/assistants/:id', (c) => {
    const file = profilePath(ctx.home, c.req.param('id'));
    if (!fs.existsSync(file)) throw new StudioError(404, 'not_found', `assistant "${c.req.param('id')}" was not found`, 'reload the page');
    fs.rmSync(file);
    return Response.json({ deleted: c.req.param('id') });
  });
  app.get('/api/kb', () => Response.json({ bases: kbNames(ctx).map((n) => withKb(ctx, n, false, (kb) => ({ name: n, ...kb.stats() }))) }));
  app.get('/api/kb/:name', (c) => Response.json({ name: c.req.param('name'), documents: withKb(ctx, c.req.param('name'), false, (kb) => kb.documents()) }));
  app.post('/api/kb/:name/files', async (c) => Response.json(await addKbFile(ctx, c.req.param('name'), c.req.raw), { status: 201 }));
  app.delete('/api/kb/:name/documents', (c) => {
    const p = c.req.query('path') ?? '';
    const removed = withKb(ctx, c.req.param('name'), false, (kb) => kb.removeDocument(p));
    if (!removed) throw new StudioError(404, 'not_found', `document ${p} is not in knowledge base ${c.req.param('name')}`, 'reload the page');
    return Response.json({ removed: p });
  });
  app.get('/api/kb/:name/search', async (c) => {
    const q = c.req.query('q') ?? '';
    if (!q.trim()) throw badField('q', 'a search query', q, 'type a question your users would ask');
    const k = Number(c.req.query('k') ?? '5');
    if (!Number.isInteger(k) || k < 1 || k > 50) throw badField('k', 'a whole number from 1 to 50', c.req.query('k'));
    const kb = KnowledgeBase.open(ctx.home, c.req.param('name'), { create: false });
    try {
      const s = kb.embedSettings();
      const notes: string[] = [];
      const hits = await searchKb(kb, q, { k, embedder: s ? createEmbedderFromSettings(s) : null, onWarning: (w) => notes.push(w) });
      return Response.json({ hits: hits.map((h) => ({ ...h, cite: citation(h) })), notes });
    } finally {
      kb.close();
    }
  });
  app.get('/api/memory', (c) => {
    const store = MemoryStore.open(ctx.home);
    try {
      const mem = store.forUser(c.req.query('user') || defaultUser(), c.req.query('assistant') || null);
      return Response.json({ user: mem.userId, assistant: mem.assistant, items: mem.list() });
    } finally {
      store.close();
    }
  });
  app.post('/api/memory', async (c) => {
    const b = await readBodyJson(c.req.raw);
    const store = MemoryStore.open(ctx.home);
    try {
      const added = store.forUser(optStr(b, 'user') ?? defaultUser(), optStr(b, 'assistant')).add(str(b, 'text'), 'user');
      return Response.json({ added }, { status: added ? 201 : 200 });
    } finally {
      store.close();
    }
  });
  app.delete('/api/memory/:id', (c) => {
    const id = optNum({ id: Number(c.req.param('id')) }, 'id', 1, Number.MAX_SAFE_INTEGER, true)!;
    const store = MemoryStore.open(ctx.home);
    try {
      const n = store.forUser(c.req.query('user') || defaultUser(), c.req.query('assistant') || null).forget([id]);
      if (n === 0) throw new StudioError(404, 'not_found', `memory #${id} is not this user's or does not exist`, 'reload the list');
      return Response.json({ forgotten: id });
    } finally {
      store.close();
    }
  });
}
