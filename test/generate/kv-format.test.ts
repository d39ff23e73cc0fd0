// Which cache a generation gets: with bf16 or int8 weights and the default ('auto') a model that decodes in the
// batched rows holds its keys and values in bf16, while a model whose own forward decodes keeps float32 (its forward
// would be handed the whole cache widened at every step); a format asked for by name holds for both, and a bf16
// cache on the forward's path generates what the float32 one does to within bf16 rounding.
import { afterEach, describe, expect, it } from 'vitest';
import { Generation, generateText, openModel } from '../../src/generate/index.js';
import { setKvCacheFormat } from '../../src/models/index.js';
import { setWeightFormat } from '../../src/tensor/index.js';
import { modelDir } from './model-dir.js';

afterEach(() => {
  setWeightFormat('f32');
  setKvCacheFormat('auto');
});

describe('the cache format of a generation', () => {
  it('follows the weights where the rows decode, stays float32 where the forward does, unless named', async () => {
    const rows = openModel(modelDir('llama-tiny'), { weights: 'bf16' });
    expect(new Generation(rows, [1, 2, 3], { maxNewTokens: 2 }).kvFormat).toBe('bf16');
    const forward = openModel(modelDir('gemma2-tiny'), { weights: 'bf16' });
    const g = new Generation(forward, [1, 2, 3], { maxNewTokens: 2 });
    expect(g.rows).toBeNull();
    expect(g.kvFormat).toBe('f32');
    const want = await generateText(forward, [5, 9, 2, 7], { maxNewTokens: 6, temperature: 0 });
    setKvCacheFormat('bf16');
    expect(new Generation(forward, [1, 2, 3], { maxNewTokens: 2 }).kvFormat).toBe('bf16');
    const got = await generateText(forward, [5, 9, 2, 7], { maxNewTokens: 6, temperature: 0 });
    expect(got.usage.completionTokens).toBe(want.usage.completionTokens);
    setKvCacheFormat('f32');
    expect(new Generation(rows, [1, 2, 3], { maxNewTokens: 2 }).kvFormat).toBe('f32');
  });
});
