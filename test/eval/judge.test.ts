// The LLM judge against a fake OpenAI-compatible server started in-process: the request carries the rubric,
// question, reference, answer, model and key; scores are read from JSON or prose; failures are E_JUDGE.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUBRIC, judgeAnswer, parseVerdict } from '../../src/eval/judge.js';
import { EVAL_DEFAULTS, EVAL_SCHEMA, judgeSettings } from '../../src/eval/config.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { tempDir } from '../helpers/tiny-model.js';
import { ShitateError } from '../../src/errors.js';
import { startFakeJudge, type FakeJudge } from './fake-judge.js';

let judge: FakeJudge;
beforeAll(async () => {
  judge = await startFakeJudge((user) => {
    if (user.includes('FAIL')) return { status: 401, body: '{"error":{"message":"bad key"}}' };
    const answer = user.split('Answer to grade:\n')[1];
    return answer.includes('30日') ? '```json\n{"score": 5, "reason": "同じ内容です"}\n```' : 'Score: 2 — the period is wrong.';
  });
});
afterAll(() => judge.close());

describe('parseVerdict', () => {
  it('reads JSON, JSON in prose, a "score: N" phrase, and nothing', () => {
    expect(parseVerdict('{"score": 4, "reason": "ok"}')).toEqual({ score: 4, reason: 'ok' });
    expect(parseVerdict('Here: {"score": "3", "reason": "partly"} done')).toEqual({ score: 3, reason: 'partly' });
    expect(parseVerdict('I would give it score: 1.').score).toBe(1);
    expect(parseVerdict('{"score": 9}').score).toBeNull();
    expect(parseVerdict('great answer').score).toBeNull();
  });
});

describe('judgeAnswer', () => {
  const settings = () => ({ url: judge.url + '/', model: 'judge-model', apiKey: 'sk-test', rubric: DEFAULT_RUBRIC });

  it('posts the rubric and the three texts to /chat/completions with the key, and reads the score', async () => {
    const v = await judgeAnswer(settings(), '返品できますか?', '30日以内なら返品できます。', '30日以内です。');
    expect(v).toEqual({ score: 5, reason: '同じ内容です' });
    const r = judge.requests.at(-1)!;
    expect(r.path).toBe('/v1/chat/completions');
    expect(r.authorization).toBe('Bearer sk-test');
    expect(r.body.model).toBe('judge-model');
    expect(r.body.temperature).toBe(0);
    expect(r.body.messages[0]).toEqual({ role: 'system', content: DEFAULT_RUBRIC });
    expect(r.body.messages[1].content).toContain('Reference answer:\n30日以内なら返品できます。');
    const low = await judgeAnswer(settings(), 'q', 'ref', '7日です');
    expect(low.score).toBe(2);
  });

  it('turns an HTTP error into E_JUDGE with the status', async () => {
    const err = await judgeAnswer(settings(), 'FAIL', 'r', 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShitateError);
    expect((err as ShitateError).code).toBe('E_JUDGE');
    expect((err as ShitateError).message).toContain('HTTP 401');
  });

  it('takes URL, model, key and a rubric file from the environment', () => {
    const rubric = path.join(tempDir('shitate-rubric-'), 'rubric.txt');
    fs.writeFileSync(rubric, '正確さだけで採点してください。{"score": 1-5}');
    const env = { SHITATE_JUDGE: 'true', SHITATE_JUDGE_URL: 'http://127.0.0.1:9/v1', SHITATE_JUDGE_MODEL: 'm', SHITATE_JUDGE_API_KEY: 'k', SHITATE_JUDGE_RUBRIC: rubric };
    const c = resolveConfig(EVAL_SCHEMA, EVAL_DEFAULTS, { env }).values;
    expect(judgeSettings(c)).toEqual({ url: 'http://127.0.0.1:9/v1', model: 'm', apiKey: 'k', rubric: fs.readFileSync(rubric, 'utf8') });
  });

  it('is off by default and needs a URL and a model when on', () => {
    expect(judgeSettings(EVAL_DEFAULTS)).toBeNull();
    expect(() => judgeSettings({ ...EVAL_DEFAULTS, judge: true, judgeModel: 'm' })).toThrow(/judge_url/);
    expect(judgeSettings({ ...EVAL_DEFAULTS, judge: true, judgeModel: 'm', judgeUrl: judge.url })?.rubric).toBe(DEFAULT_RUBRIC);
  });
});
