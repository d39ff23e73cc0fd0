// openCheckpoint: one view over model.safetensors or over the shards an index names; missing shards,
// index/shard disagreements and folders without safetensors weights are refused with a clear message.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INDEX_FILE, openCheckpoint, writeSafetensors, type TensorToWrite } from '../../src/io/index.js';
import { expectShitateError, tempDir } from './helpers.js';

function tensor(name: string, values: number[]): TensorToWrite {
  return { name, shape: [values.length], dtype: 'F32', data: Float32Array.from(values) };
}

function writeIndex(dir: string, weightMap: Record<string, string>): void {
  fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
}

function shardedDir(): string {
  const dir = tempDir('shitate-ckpt-');
  writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [tensor('model.embed_tokens.weight', [1, 2]), tensor('model.norm.weight', [3])]);
  writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [tensor('lm_head.weight', [4, 5, 6])]);
  writeIndex(dir, {
    'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
    'model.norm.weight': 'model-00001-of-00002.safetensors',
    'lm_head.weight': 'model-00002-of-00002.safetensors',
  });
  return dir;
}

describe('openCheckpoint', () => {
  it('reads a single model.safetensors', () => {
    const dir = tempDir('shitate-ckpt-');
    writeSafetensors(path.join(dir, 'model.safetensors'), [tensor('a', [1.5, -1])], { format: 'pt' });
    const ck = openCheckpoint(dir);
    expect(ck.files).toEqual([path.join(dir, 'model.safetensors')]);
    expect(ck.metadata).toEqual({ format: 'pt' });
    expect([...ck.readF32('a')]).toEqual([1.5, -1]);
    ck.close();
  });

  it('merges the shards of an index into one name -> tensor view', () => {
    const dir = shardedDir();
    const ck = openCheckpoint(dir);
    expect(ck.files).toHaveLength(2);
    expect([...ck.tensors.keys()].sort()).toEqual(['lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight']);
    expect(path.basename(ck.tensors.get('lm_head.weight')?.file ?? '')).toBe('model-00002-of-00002.safetensors');
    expect([...ck.readF32('model.norm.weight')]).toEqual([3]);
    expect([...ck.readF32('lm_head.weight')]).toEqual([4, 5, 6]);
    expect(ck.has('model.layers.0.mlp.up_proj.weight')).toBe(false);
    expectShitateError(() => ck.readF32('model.layers.0.mlp.up_proj.weight'), 'E_TENSOR_MISSING', dir, 'up_proj');
    ck.close();
  });

  it('refuses an index whose shard is missing, naming the shard', () => {
    const dir = shardedDir();
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    const e = expectShitateError(() => openCheckpoint(dir), 'E_SHARD_MISSING', INDEX_FILE, 'model-00002-of-00002.safetensors');
    expect(e.hint).toMatch(/download/);
  });

  it('refuses an index that places a tensor in the wrong shard', () => {
    const dir = shardedDir();
    writeIndex(dir, {
      'model.embed_tokens.weight': 'model-00002-of-00002.safetensors',
      'lm_head.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00001-of-00002.safetensors',
    });
    expectShitateError(() => openCheckpoint(dir), 'E_CHECKPOINT_INDEX', '"model.embed_tokens.weight"', 'model-00001-of-00002.safetensors');
  });

  it('refuses shard names that leave the folder, and an index that is not JSON', () => {
    const dir = shardedDir();
    writeIndex(dir, { a: '../elsewhere.safetensors' });
    expectShitateError(() => openCheckpoint(dir), 'E_CHECKPOINT_INDEX', '../elsewhere.safetensors');
    fs.writeFileSync(path.join(dir, INDEX_FILE), '{"weight_map": ');
    expectShitateError(() => openCheckpoint(dir), 'E_CHECKPOINT_INDEX', INDEX_FILE, 'invalid');
  });

  it('explains a folder with pickle weights only, and an empty folder', () => {
    const dir = tempDir('shitate-ckpt-');
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'x');
    const e = expectShitateError(() => openCheckpoint(dir), 'E_NO_WEIGHTS', 'model.safetensors', 'pytorch_model.bin');
    expect(e.hint).toMatch(/pickle/);
    const empty = tempDir('shitate-ckpt-');
    expectShitateError(() => openCheckpoint(empty), 'E_NO_WEIGHTS', 'an empty folder');
  });
});
