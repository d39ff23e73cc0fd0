// `shitate generate` run as a real process: its stdout equals the library's output for the same settings
// (plain and chat prompts, greedy and seeded sampling), and bad flags exit with usage errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { chatPrompt, generateText, openModel, type OpenedModel } from '../../src/generate/index.js';
import { modelDir } from '../generate/model-dir.js';
import { runCli } from './run-cli.js';
import { setWeightFormat } from '../../src/tensor/index.js';
import { kvCacheFormat, setKvCacheFormat } from '../../src/models/index.js';

let dir: string;
let m: OpenedModel;
beforeAll(() => {
  dir = modelDir('llama-tiny');
  m = openModel(dir);
});

describe('shitate generate', () => {
  it('streams the greedy continuation of a plain prompt', async () => {
    const want = await generateText(m, m.tokenizer.encode('Hello world'), { maxNewTokens: 6 });
    expect(want.text.length).toBeGreaterThan(0);
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Hello world', '--max-tokens', '6']);
    expect(r.stderr).toContain(`${want.usage.promptTokens} prompt + ${want.usage.completionTokens} completion tokens`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(want.text + '\n');
  });

  it('wraps the prompt in the chat template and samples reproducibly under a seed', async () => {
    const ids = chatPrompt(m.tokenizer, [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hi there' }]);
    const want = await generateText(m, ids, { maxNewTokens: 8, temperature: 1.2, topP: 0.95, seed: 9, stop: ['\n'] });
    expect(want.text.length).toBeGreaterThan(0);
    const r = await runCli(['generate', '-m', dir, '--chat', '--system', 'Be brief', '--prompt', 'hi there', '--max-tokens', '8',
      '--temperature', '1.2', '--top-p', '0.95', '--seed', '9', '--stop', '\n', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(want.text + '\n');
  });

  it.each(['bf16', 'int8'] as const)('--weights %s generates what the library generates with those weights', async (format) => {
    const opened = openModel(modelDir('llama-tiny'), { weights: format });
    let want;
    try {
      want = await generateText(opened, opened.tokenizer.encode('Hello world'), { maxNewTokens: 6 });
    } finally {
      setWeightFormat('f32');
    }
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Hello world', '--max-tokens', '6', '--weights', format, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(want.text + '\n');
  });

  it('--kv-cache f32 keeps a float32 cache beside bf16 weights, as the library does with that setting', async () => {
    const opened = openModel(modelDir('llama-tiny'), { weights: 'bf16', kvCache: 'f32' });
    let want;
    try {
      expect(kvCacheFormat()).toBe('f32');
      want = await generateText(opened, opened.tokenizer.encode('Hello world'), { maxNewTokens: 6 });
    } finally {
      setWeightFormat('f32');
      setKvCacheFormat('auto');
    }
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Hello world', '--max-tokens', '6', '--weights', 'bf16', '--kv-cache', 'f32', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(want.text + '\n');
    const bad = await runCli(['generate', '--model', dir, '--prompt', 'x', '--kv-cache', 'fp8']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--kv-cache: expected f32, bf16 or auto, found "fp8"/);
  });

  it('refuses another weight format, naming the ones there are', async () => {
    const bad = await runCli(['generate', '--model', dir, '--prompt', 'x', '--weights', 'int4']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--weights: expected f32, bf16 or int8, found "int4"/);
  });

  it('refuses missing and malformed flags with a usage error', async () => {
    const [noModel, badNum, badRange] = await Promise.all([
      runCli(['generate', '--prompt', 'x']),
      runCli(['generate', '--model', dir, '--prompt', 'x', '--temperature', 'warm']),
      runCli(['generate', '--model', dir, '--prompt', 'x', '--top-p', '2']),
    ]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('--model');
    expect(badNum.code).toBe(2);
    expect(badNum.stderr).toContain('--temperature');
    expect(badRange.code).toBe(1);
    expect(badRange.stderr).toContain('top_p');
  });
});
