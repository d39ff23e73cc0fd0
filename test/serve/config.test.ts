// Settings of `shitate serve` through the layers: keys only from the file or the environment (never flags),
// an empty SHITATE_API_KEYS meaning no keys, and typed errors naming the setting.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShitateError } from '../../src/errors.js';
import { isLoopback, resolveServeConfig, SERVE_DEFAULTS } from '../../src/serve/index.js';
import { tempDir } from '../helpers/tiny-model.js';

describe('serve settings', () => {
  it('default to a local server without keys', () => {
    const c = resolveServeConfig(null, {}, {}).values;
    expect(c).toEqual(SERVE_DEFAULTS);
    expect(isLoopback(c.host)).toBe(true);
    expect(c.apiKeys).toEqual([]);
  });

  it('take keys from the file and the environment, never from flags', () => {
    const file = path.join(tempDir('shitate-serve-cfg-'), 'serve.yaml');
    fs.writeFileSync(file, 'api_keys: [from-file]\nmax_queue: 3\n');
    const r = resolveServeConfig(file, { SHITATE_ADMIN_KEY: 'adm', SHITATE_PORT: '9001' }, { apiKeys: 'from-flag', maxQueue: '5', host: '0.0.0.0' });
    expect(r.values).toMatchObject({ apiKeys: ['from-file'], adminKey: 'adm', port: 9001, maxQueue: 5, host: '0.0.0.0' });
    expect(r.sources).toMatchObject({ apiKeys: 'file', adminKey: 'env', maxQueue: 'flag' });
    expect(resolveServeConfig(null, { SHITATE_API_KEYS: 'a, b' }, {}).values.apiKeys).toEqual(['a', 'b']);
    expect(resolveServeConfig(null, { SHITATE_API_KEYS: '' }, {}).values.apiKeys).toEqual([]);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });

  it('name the setting that is wrong', () => {
    const err = (() => {
      try {
        resolveServeConfig(null, { SHITATE_MAX_CONCURRENT: '0' }, {});
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShitateError);
    expect((err as ShitateError).message).toContain('max_concurrent');
    // the KV cache's format: one of the choices, from the file, the environment or a flag
    const file = path.join(tempDir('shitate-serve-cfg-'), 'serve.yaml');
    fs.writeFileSync(file, 'kv_cache: fp8\n');
    expect(() => resolveServeConfig(file, {}, {})).toThrow(/kv_cache/);
    expect(resolveServeConfig(null, { SHITATE_KV_CACHE: 'bf16' }, {}).values.kvCache).toBe('bf16');
    expect(resolveServeConfig(null, {}, { kvCache: 'f32' }).values.kvCache).toBe('f32');
  });
});
