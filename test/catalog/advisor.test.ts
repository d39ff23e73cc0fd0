// The method advisor as a table of cases with the expected first recommendation and levels, plus
// properties over arbitrary answers (fast-check): every method ranked with reasons, commands that start
// with `shitate`, models that respect the purpose's licence and the language.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUDGETS, GOALS, HARDWARE, METHODS, SKILLS, rankMethods, type AdviceInput, type Level, type Method } from '../../src/catalog/advisor.js';
import { buildAdvice, stars, suggestModels } from '../../src/catalog/advice.js';
import { engineSupports, findModel, licenceById, loadCatalog, variantShape } from '../../src/catalog/catalog.js';
import { estimateGpu } from '../../src/catalog/estimate-gpu.js';

const base: AdviceInput = {
  goal: 'style', examples: 0, confidential: false, budget: 'none', hardware: 'cpu', vramGb: null, ramGb: 16,
  skill: 'intermediate', purpose: 'commercial', japanese: true,
};

// [what the user said, the first recommendation, levels that must hold]
const CASES: [string, Partial<AdviceInput>, Method, Partial<Record<Method, Level>>][] = [
  ['company FAQ knowledge, no examples, beginner', { goal: 'knowledge', skill: 'beginner' }, 'rag', { lora: 'not-recommended', full: 'not-recommended' }],
  ['up-to-date facts, even with many examples', { goal: 'fresh', examples: 5000 }, 'rag', { lora: 'not-recommended', qlora: 'not-recommended' }],
  ['remember each user', { goal: 'personal', examples: 300 }, 'memory', { lora: 'not-recommended' }],
  ['house style, 20 examples, beginner', { goal: 'style', examples: 20, skill: 'beginner' }, 'prompt', { lora: 'not-recommended' }],
  ['house style, 500 examples, confidential, own CPU', { goal: 'style', examples: 500, confidential: true }, 'lora', { lora: 'recommended', qlora: 'not-recommended' }],
  ['house style, 500 examples, 8 GB GPU', { goal: 'style', examples: 500, hardware: 'gpu', vramGb: 8 }, 'qlora', { qlora: 'recommended' }],
  ['house style, 800 examples, 24 GB GPU', { goal: 'style', examples: 800, hardware: 'gpu', vramGb: 24 }, 'lora', { lora: 'recommended' }],
  ['house style, 50k examples, advanced, 80 GB GPUs, high budget', { goal: 'style', examples: 50000, skill: 'advanced', hardware: 'gpu', vramGb: 80, budget: 'high' }, 'lora', { full: 'recommended' }],
  ['house style, 50k examples, intermediate, CPU', { goal: 'style', examples: 50000 }, 'lora', { full: 'not-recommended' }],
  ['knowledge with 1000 Q&A pairs', { goal: 'knowledge', examples: 1000 }, 'rag', { lora: 'possible' }],
  ['house style, 300 examples, cloud GPU, no budget', { goal: 'style', examples: 300, hardware: 'cloud', budget: 'none' }, 'assistant', { prompt: 'possible', lora: 'possible' }],
];

describe('advisor cases', () => {
  for (const [name, over, first, levels] of CASES) {
    it(`${name} -> ${first}`, () => {
      const advice = buildAdvice({ ...base, ...over });
      expect(advice.recommendations[0].method).toBe(first);
      expect(advice.recommendations[0].level).toBe('recommended');
      for (const [m, level] of Object.entries(levels)) {
        expect(advice.recommendations.find((r) => r.method === m)?.level, m).toBe(level);
      }
    });
  }

  it('explains a not-recommended fine-tune with a negative reason', () => {
    const lora = rankMethods({ ...base, goal: 'fresh', examples: 5000 }).find((s) => s.method === 'lora')!;
    expect(lora.reasons.some((r) => r.points < 0 && /frozen/.test(r.text.en))).toBe(true);
  });

  it('offers the closed services\' customization only when the data may leave the company', () => {
    expect(buildAdvice({ ...base, goal: 'knowledge' }).hosted.some((h) => h.name === 'File search')).toBe(true);
    expect(buildAdvice({ ...base, goal: 'knowledge', confidential: true }).hosted).toEqual([]);
  });

  it('suggests commercially usable, Japanese-capable models this engine runs, sized for the CPU', () => {
    const picks = suggestModels({ ...base, goal: 'style', examples: 500 }, 'lora');
    expect(picks.length).toBeGreaterThan(0);
    for (const p of picks) {
      expect(p.commercial).not.toBe('no');
      expect(p.params).toBeLessThanOrEqual(2e9);
      expect(findModel(p.id)!.family.languages).toContain('ja');
    }
    const gpu = { ...base, hardware: 'gpu' as const, vramGb: 8 };
    expect(suggestModels(gpu, 'qlora').map((p) => p.id)).not.toContain('Qwen2.5-3B');
    const research = suggestModels({ ...gpu, purpose: 'research' }, 'qlora');
    expect(research.length).toBeGreaterThan(0);
    for (const p of research) {
      const m = findModel(p.id)!;
      expect(engineSupports(m.variant!.modelType ?? m.family.modelType), p.id).toBe(true);
      expect(estimateGpu(variantShape(m.variant!), { method: 'qlora', loraR: 8, seqLen: 1024, batch: 1 }).peakBytes, p.id).toBeLessThanOrEqual(8 * 2 ** 30);
    }
  });

  it('stars show the difficulty', () => {
    expect([stars(1), stars(2), stars(3)]).toEqual(['★☆☆', '★★☆', '★★★']);
  });
});

const inputs = fc.record({
  goal: fc.constantFrom(...GOALS), examples: fc.nat({ max: 100000 }), confidential: fc.boolean(), budget: fc.constantFrom(...BUDGETS),
  hardware: fc.constantFrom(...HARDWARE), vramGb: fc.option(fc.integer({ min: 4, max: 160 }), { nil: null }), ramGb: fc.integer({ min: 4, max: 256 }),
  skill: fc.constantFrom(...SKILLS), purpose: fc.constantFrom('commercial' as const, 'research' as const, 'personal' as const, null), japanese: fc.boolean(),
});

describe('advisor properties', () => {
  it('ranks every method once, with reasons, a cost and shitate commands', () => {
    fc.assert(fc.property(inputs, (i) => {
      const a = buildAdvice(i);
      expect(a.recommendations.map((r) => r.method).sort()).toEqual([...METHODS].sort());
      for (const r of a.recommendations) {
        expect(r.reasons.length).toBeGreaterThan(0);
        expect(r.cost.en.length * r.cost.ja.length).toBeGreaterThan(0);
        expect([1, 2, 3]).toContain(r.difficulty);
        for (const c of r.commands) expect(c.startsWith('shitate ')).toBe(true);
      }
      for (let k = 1; k < a.recommendations.length; k++) expect(a.recommendations[k - 1].score).toBeGreaterThanOrEqual(a.recommendations[k].score);
    }), { numRuns: 60 });
  });

  it('never recommends tuning for up-to-date facts or QLoRA without a GPU, and respects the licence purpose', () => {
    const cat = loadCatalog();
    fc.assert(fc.property(inputs, (i) => {
      const a = buildAdvice(i);
      const level = (m: Method) => a.recommendations.find((r) => r.method === m)!.level;
      if (i.goal === 'fresh') for (const m of ['lora', 'qlora', 'full'] as const) expect(level(m)).toBe('not-recommended');
      if (i.hardware === 'cpu') expect(level('qlora')).toBe('not-recommended');
      if (i.purpose === 'commercial') {
        for (const r of a.recommendations) for (const p of r.models) expect(licenceById(p.licence, cat)!.commercial).not.toBe('no');
      }
    }), { numRuns: 60 });
  });
});
