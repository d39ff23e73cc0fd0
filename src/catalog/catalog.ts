// The model catalog: loads models.json, checks it against models.schema.json and its cross-references,
// and answers lookups (a licence by id, a model by family, variant or Hugging Face id, see names.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShitateError } from '../errors.js';
import { FAMILIES, findFamily } from '../models/registry.js';
import { validateSchema, type JsonSchema, type SchemaError } from './schema.js';
import type { ModelShape } from '../train/estimate.js';
import { approxShape } from './estimate-gpu.js';
import { resolveModelName, type ModelMatch } from './names.js';
import type { Catalog, Family, Licence, Permission, Variant } from './types.js';

export type { ModelMatch } from './names.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** models.json and its schema sit next to this module (copied beside the compiled file in a build). */
export function catalogFile(name: 'models.json' | 'models.schema.json'): string {
  const candidates = [path.join(HERE, name), path.join(HERE, '..', '..', 'src', 'catalog', name)];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ShitateError('E_CATALOG', `expected the model catalog file ${file} to be readable JSON, found: ${(e as Error).message}`,
      'reinstall shitate; in a checkout, restore src/catalog/ from git');
  }
}

/** Cross-reference checks the schema cannot express: unique ids, known licence ids, closed vs open fields. */
export function checkCatalogRefs(cat: Catalog): string[] {
  const problems: string[] = [];
  const licenceIds = new Set<string>();
  for (const l of cat.licences) {
    if (licenceIds.has(l.id)) problems.push(`licence id "${l.id}" appears twice`);
    licenceIds.add(l.id);
  }
  const familyIds = new Set<string>();
  const variantIds = new Set<string>();
  for (const f of cat.families) {
    if (familyIds.has(f.id)) problems.push(`family id "${f.id}" appears twice`);
    familyIds.add(f.id);
    if (f.licence !== null && !licenceIds.has(f.licence)) problems.push(`family ${f.id}: unknown licence "${f.licence}"`);
    if (f.kind === 'closed' && (f.openWeights || f.licence !== null || !f.customization)) {
      problems.push(`family ${f.id}: a closed service has openWeights false, licence null and a customization list`);
    }
    if (f.kind === 'open' && (!f.openWeights || f.variants.length === 0 || f.modelType === null)) {
      problems.push(`family ${f.id}: an open family has openWeights true, a modelType and at least one variant`);
    }
    for (const v of f.variants) {
      const key = v.id.toLowerCase();
      if (variantIds.has(key)) problems.push(`variant id "${v.id}" appears twice`);
      variantIds.add(key);
      const lic = v.licence ?? f.licence;
      if (lic === null || !licenceIds.has(lic)) problems.push(`variant ${v.id}: unknown licence "${lic}"`);
    }
  }
  return problems;
}

/** Validates parsed catalog JSON against the schema and the cross-reference rules. */
export function validateCatalog(data: unknown, schema: JsonSchema): SchemaError[] {
  const errors = validateSchema(data, schema);
  if (errors.length > 0) return errors;
  return checkCatalogRefs(data as Catalog).map((message) => ({ path: '/', message }));
}

let cached: Catalog | null = null;

/** The catalog shipped with shitate (validated once per process). */
export function loadCatalog(): Catalog {
  if (cached) return cached;
  const file = catalogFile('models.json');
  const data = readJson(file);
  const errors = validateCatalog(data, readJson(catalogFile('models.schema.json')) as JsonSchema);
  if (errors.length > 0) {
    const first = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new ShitateError('E_CATALOG', `expected ${file} to match models.schema.json, found ${errors.length} problem(s): ${first}`,
      'fix the entry named in the message (see src/catalog/models.schema.json for the fields)');
  }
  return (cached = data as Catalog);
}

export function licenceById(id: string, cat: Catalog = loadCatalog()): Licence | undefined {
  return cat.licences.find((l) => l.id === id);
}

/** Finds a model by family id, variant id, Hugging Face id or repository name, its Instruct/chat/-it or base
 *  checkpoint, in any case; with `sizeOnly` (default) also another revision of the same family and size. */
export function findModel(name: string, cat: Catalog = loadCatalog(), sizeOnly = true): ModelMatch | null {
  return resolveModelName(name, cat, sizeOnly);
}

/** The licence id that applies to a variant (its own, else its family's); null for closed services. */
export function variantLicenceId(family: Family, variant: Variant | null): string | null {
  return variant?.licence ?? family.licence;
}

export function modelTypeOf(family: Family, variant: Variant | null): string | null {
  return variant?.modelType ?? family.modelType;
}

/** The variant's shape from the catalog, or one approximated from its parameter count. */
export function variantShape(v: Variant): ModelShape {
  const s = v.shape;
  if (!s) return approxShape(v.params);
  return { C: s.hidden, F: s.intermediate, L: s.layers, H: s.heads, Hkv: s.kvHeads, D: s.headDim, V: s.vocab, tied: s.tied };
}

/** The config.json model_types this engine runs, as its model registry lists them now. */
export function engineModelTypes(): string[] {
  return FAMILIES.map((f) => f.modelType);
}

/** Does this engine load the architecture today? (asks the model registry in models/) */
export function engineSupports(modelType: string | null): boolean {
  return modelType !== null && findFamily(modelType) !== null;
}

/** Commercial permissions across a family's variants (Qwen2.5 mixes yes, conditional and no). */
export function familyCommercial(family: Family, cat: Catalog = loadCatalog()): Permission[] {
  const ids = new Set(family.variants.map((v) => variantLicenceId(family, v)));
  const found = [...ids].map((id) => (id ? licenceById(id, cat)?.commercial : undefined)).filter((p): p is Permission => p !== undefined);
  return (['yes', 'conditional', 'no'] as const).filter((p) => found.includes(p));
}
