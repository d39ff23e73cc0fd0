// The model catalog: models.json validates against models.schema.json, every entry has a source link,
// shapes agree with the stated sizes, and the facts the gate and advisor rely on are present.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogFile, checkCatalogRefs, engineSupports, findModel, licenceById, loadCatalog, validateCatalog, variantLicenceId, variantShape } from '../../src/catalog/catalog.js';
import { validateSchema, type JsonSchema } from '../../src/catalog/schema.js';
import { paramCount } from '../../src/train/estimate.js';
import type { Catalog } from '../../src/catalog/types.js';

const schema = JSON.parse(fs.readFileSync(catalogFile('models.schema.json'), 'utf8')) as JsonSchema;
const raw = (): Catalog => JSON.parse(fs.readFileSync(catalogFile('models.json'), 'utf8')) as Catalog;
const cat = loadCatalog();

describe('catalog schema', () => {
  it('models.json matches its schema and its cross-references', () => {
    expect(validateCatalog(raw(), schema)).toEqual([]);
  });

  it('the validator reports broken entries with their path', () => {
    const bad = raw();
    bad.families[0].sources = ['http://insecure.example'];
    (bad.licences[0] as unknown as Record<string, unknown>).commercial = 'maybe';
    delete (bad.licences[1] as unknown as Record<string, unknown>).source;
    (bad.families[1] as unknown as Record<string, unknown>).extra = 1;
    const paths = validateSchema(bad, schema).map((e) => e.path);
    expect(paths).toContain('/families/0/sources/0');
    expect(paths).toContain('/licences/0/commercial');
    expect(paths).toContain('/licences/1');
    expect(paths).toContain('/families/1');
  });

  it('cross-reference checks catch unknown licence ids and duplicate ids', () => {
    const bad = raw();
    bad.families[5].variants[0].licence = 'no-such-licence';
    bad.licences.push({ ...bad.licences[0] });
    const problems = checkCatalogRefs(bad);
    expect(problems.some((p) => p.includes('no-such-licence'))).toBe(true);
    expect(problems.some((p) => p.includes('appears twice'))).toBe(true);
  });
});

describe('catalog content', () => {
  it('every family and licence has an https source link, and every customization too', () => {
    for (const f of cat.families) {
      expect(f.sources.length, f.id).toBeGreaterThan(0);
      for (const s of f.sources) expect(s, f.id).toMatch(/^https:\/\/\S+$/);
      for (const c of f.customization ?? []) expect(c.source, `${f.id} ${c.name}`).toMatch(/^https:\/\//);
    }
    for (const l of cat.licences) expect(l.source, l.id).toMatch(/^https:\/\//);
  });

  it('holds the families the catalog promises', () => {
    const ids = cat.families.map((f) => f.id);
    for (const id of ['openai-gpt', 'anthropic-claude', 'google-gemini', 'llama-2', 'llama-3', 'llama-3.1', 'llama-3.2', 'llama-3.3',
      'mistral', 'mistral-research', 'falcon', 'bloom', 'bert', 'roberta', 'qwen2.5', 'gemma', 'phi', 'smollm2', 'tinyllama', 'llm-jp', 'llama-ja']) {
      expect(ids, id).toContain(id);
    }
  });

  it('closed services have no weights and list the customization they offer instead', () => {
    for (const f of cat.families.filter((x) => x.kind === 'closed')) {
      expect(f.openWeights).toBe(false);
      expect(f.variants).toEqual([]);
      expect(f.methods).toEqual([]);
      expect(new Set(f.customization!.map((c) => c.kind)).has('prompt'), f.id).toBe(true);
    }
  });

  it('Qwen2.5 licences depend on the size', () => {
    const commercial = (name: string) => {
      const m = findModel(name)!;
      return licenceById(variantLicenceId(m.family, m.variant)!)!.commercial;
    };
    expect(commercial('Qwen2.5-7B')).toBe('yes');
    expect(commercial('Qwen/Qwen2.5-3B')).toBe('no');
    expect(commercial('qwen2.5-72b')).toBe('conditional');
  });

  it('Llama licences carry the 700M-user clause, attribution and naming rules', () => {
    for (const id of ['llama3', 'llama3.1', 'llama3.2', 'llama3.3']) {
      const l = licenceById(id)!;
      expect(l.userThreshold).toBe(700_000_000);
      expect(l.attribution?.en).toMatch(/Built with/);
      expect(l.naming?.en).toMatch(/Llama/);
      expect(l.useRestrictions).toBe(true);
    }
    expect(licenceById('llama2')!.userThreshold).toBe(700_000_000);
  });

  it('recorded shapes agree with the stated parameter counts within 3%', () => {
    for (const f of cat.families) {
      for (const v of f.variants.filter((x) => x.shape)) {
        const n = paramCount(variantShape(v));
        expect(Math.abs(n / v.params - 1), `${v.id}: shape gives ${(n / 1e9).toFixed(3)}B`).toBeLessThan(0.03);
        expect(v.shape!.heads % v.shape!.kvHeads, v.id).toBe(0);
      }
    }
  });

  it('engine support follows the loader: Llama-architecture families yes, encoders such as BERT no', () => {
    expect(engineSupports(findModel('SmolLM2-135M')!.family.modelType)).toBe(true);
    expect(engineSupports(findModel('Qwen2.5-0.5B')!.family.modelType)).toBe(true);
    expect(engineSupports(findModel('bert')!.family.modelType)).toBe(false);
    expect(engineSupports(null)).toBe(false);
  });

  it('finds models by variant id, Hugging Face id (with or without the org) and family id', () => {
    expect(findModel('meta-llama/Llama-3.1-8B')?.variant?.id).toBe('Llama-3.1-8B');
    expect(findModel('Llama-3.1-8B')?.family.id).toBe('llama-3.1');
    expect(findModel('gemma')?.variant).toBeNull();
    expect(findModel('no-such-model')).toBeNull();
  });
});
