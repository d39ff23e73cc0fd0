// Profiles and templates: YAML read strictly with errors naming file and key, a written profile reads
// back the same, and templates substitute variables once without evaluating anything.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinVars, parseProfile, profileToYaml, renderTemplate } from '../../src/assistants/index.js';
import { ShitateError } from '../../src/errors.js';

const FULL = `
name: サポート窓口
description: 社内ヘルプデスク
instructions: |
  あなたは{{ company }}のサポート担当です。今日は{{today}}（{{ weekday }}）です。
tone: 丁寧で簡潔
language: ja
starters: [返品の期限は？, 有給休暇の申請方法]
provider: { kind: anthropic, model: claude-sonnet-4-5, key_env: MY_KEY, timeout_ms: 30000, retries: 1 }
generation: { temperature: 0.3, top_p: 0.9, max_tokens: 400, stop: ["###"], seed: 7 }
knowledge: { bases: [handbook, faq], top_k: 4, mode: chunks, budget_tokens: 800 }
memory: { enabled: true, auto: true, budget_tokens: 120 }
variables: { company: ミナト精機 }
`;

function fails(text: string): ShitateError {
  try {
    parseProfile('x', text, '/p/x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ShitateError);
    return e as ShitateError;
  }
  throw new Error('expected a failure');
}

describe('profiles', () => {
  it('reads every field', () => {
    const p = parseProfile('support', FULL, 'support.yaml');
    expect(p).toMatchObject({
      id: 'support', name: 'サポート窓口', tone: '丁寧で簡潔', language: 'ja', starters: ['返品の期限は？', '有給休暇の申請方法'],
      provider: { kind: 'anthropic', model: 'claude-sonnet-4-5', keyEnv: 'MY_KEY', timeoutMs: 30000, retries: 1 },
      generation: { temperature: 0.3, topP: 0.9, maxTokens: 400, stop: ['###'], seed: 7 },
      knowledge: { bases: ['handbook', 'faq'], topK: 4, mode: 'chunks', budgetTokens: 800 },
      memory: { enabled: true, auto: true, budgetTokens: 120 },
      variables: { company: 'ミナト精機' },
    });
  });

  it('accepts shorthands and fills defaults', () => {
    const p = parseProfile('s', 'provider: { kind: openai, model: m }\nknowledge: [handbook]\nmemory: true\n', 's.yaml');
    expect(p.name).toBe('s');
    expect(p.knowledge).toMatchObject({ bases: ['handbook'], topK: 5, mode: 'auto' });
    expect(p.memory).toEqual({ enabled: true, auto: false, budgetTokens: 300 });
  });

  it('reads back what it writes', () => {
    const p = parseProfile('support', FULL, 'support.yaml');
    expect(parseProfile('support', profileToYaml(p), 'again.yaml')).toEqual(p);
  });

  it('names the file and the key in its errors', () => {
    expect(fails('provider: { kind: openai, model: m }\ntemprature: 1\n').message).toMatch(/\/p\/x\.yaml: temprature: expected one of the keys/);
    expect(fails('provider: { kind: gpt, model: m }').message).toContain('provider.kind: expected one of local, openai, anthropic, gemini');
    expect(fails('provider: { kind: openai }').message).toContain('provider.model');
    expect(fails('provider: { kind: openai, model: m, adapter: ./a }').message).toContain('adapter only with kind: local');
    expect(fails('provider: { kind: openai, model: m }\ngeneration: { temperature: 5 }').message).toContain('generation.temperature: expected a number from 0 to 2');
    expect(fails('provider: { kind: openai, model: m }\nknowledge: { mode: fuzzy }').message).toContain('knowledge.mode');
    expect(fails('provider: [unclosed').message).toContain('expected YAML');
  });
});

describe('templates', () => {
  const vars = { company: 'ミナト精機', today: '2025-04-01' };

  it('substitutes variables with or without spaces', () => {
    expect(renderTemplate('{{company}} / {{ today }}', vars, 't')).toBe('ミナト精機 / 2025-04-01');
  });

  it('does not re-read substituted values, and \\{{ writes a literal {{', () => {
    expect(renderTemplate('{{ a }}', { a: '{{ company }}' }, 't')).toBe('{{ company }}');
    expect(renderTemplate('\\{{ company }}', vars, 't')).toBe('{{ company }}');
  });

  it('refuses unknown variables and anything that is not a variable name', () => {
    expect(() => renderTemplate('{{ boss }}', vars, 't')).toThrow(/unknown variable \{\{ boss \}\}; known: company, today/);
    expect(() => renderTemplate('{{ 1 + 1 }}', vars, 't')).toThrow(/expected a variable name/);
    expect(() => renderTemplate("{{ process.env['KEY'] }}", vars, 't')).toThrow(ShitateError);
  });

  it('leaves text without placeholders unchanged', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const plain = s.replace(/\{\{/g, '{');
      expect(renderTemplate(plain, vars, 't')).toBe(plain);
    }));
  });

  it('has the date, weekday (in the profile language), assistant and user built in', () => {
    const v = builtinVars(new Date(2025, 3, 1, 9, 5), 'ja', 'support', 'alice');
    expect(v).toEqual({ today: '2025-04-01', now: '2025-04-01 09:05', weekday: '火曜日', assistant: 'support', user: 'alice' });
    expect(builtinVars(new Date(2025, 3, 1), 'en', 'a', 'u').weekday).toBe('Tuesday');
  });
});
