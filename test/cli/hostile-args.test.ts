// The command line under hostile words: command names that are Object.prototype members are unknown
// commands (usage error, exit 2), never a crash.
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';

describe('command names', () => {
  it('treats constructor, __proto__ and toString as unknown commands', async () => {
    const write = process.stderr.write.bind(process.stderr);
    let stderr = '';
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    }) as typeof process.stderr.write;
    try {
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        expect(await run([name]), name).toBe(2);
        expect(stderr).toContain(`unknown command "${name}"`);
      }
    } finally {
      process.stderr.write = write;
    }
  });
});
