// The command line under hostile words: command names that are Object.prototype members are unknown
// commands (usage error, exit 2), never a crash.
import { describe, expect, it } from 'vitest';
import { runQuiet } from './run-quiet.js';

describe('command names', () => {
  it('treats constructor, __proto__ and toString as unknown commands', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const r = await runQuiet([name]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toContain(`unknown command "${name}"`);
    }
  });
});
