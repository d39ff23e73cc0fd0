// Run-time adapter management: GET /admin/adapters lists them, POST /admin/adapters {"name", "path"} loads a
// PEFT adapter folder and serves it under that name, DELETE /admin/adapters/NAME stops serving it.
import { readJsonObject } from './body.js';
import type { Engine } from './engine.js';
import { ApiError, badParam } from './errors.js';
import { modelObject } from './openai.js';
import { MODEL_ID, type ServedModel } from './registry.js';

function adapterInfo(m: ServedModel): object {
  const slot = m.adapter;
  return {
    ...modelObject(m.id, m.created, m.ownedBy),
    path: slot?.dir ?? null,
    rank: slot?.rank ?? null,
    adapted_layers: slot?.adapted ?? 0,
  };
}

export function listAdapters(engine: Engine): Response {
  const data = engine.registry.list().filter((m) => m.kind === 'adapter').map(adapterInfo);
  return Response.json({ object: 'list', data });
}

export async function addAdapter(engine: Engine, req: Request, maxBodyBytes: number): Promise<Response> {
  const body = await readJsonObject(req, maxBodyBytes);
  const { name, path } = body;
  for (const key of Object.keys(body)) {
    if (key !== 'name' && key !== 'path') throw new ApiError(400, `Unrecognized request argument supplied: ${key}`, { param: key, code: 'unknown_parameter' });
  }
  if (typeof name !== 'string' || !MODEL_ID.test(name)) {
    throw badParam('name', `expected 1-128 letters, digits or . _ : - (starting with a letter or digit), found ${JSON.stringify(name ?? null)}`);
  }
  if (typeof path !== 'string' || path.length === 0) {
    throw badParam('path', `expected the adapter folder (adapter_config.json + adapter_model.safetensors) on the server, found ${JSON.stringify(path ?? null)}`);
  }
  const existing = engine.registry.get(name);
  if (existing) {
    throw new ApiError(409, `model id "${name}" is already served (as ${existing.kind}); remove it first or pick another name`,
      { param: 'name', code: 'model_exists' });
  }
  const served = engine.addAdapter(name, path);
  return Response.json(adapterInfo(served), { status: 201 });
}

export function removeAdapter(engine: Engine, name: string): Response {
  const m = engine.registry.get(name);
  if (!m) throw new ApiError(404, `no served model is called "${name}"`, { param: 'name', code: 'model_not_found' });
  if (m.kind !== 'adapter') {
    throw new ApiError(400, `"${name}" is the ${m.kind} model, not an adapter; only adapters can be removed at run time`,
      { param: 'name', code: 'not_an_adapter' });
  }
  engine.removeAdapter(name);
  return Response.json({ id: name, object: 'model', deleted: true });
}
