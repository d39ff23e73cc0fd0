// Test helpers for io/: temp folders, a hand-rolled safetensors builder (independent of writeSafetensors),
// and an assertion that an error is a ShitateError naming what it should.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { ShitateError } from '../../src/errors.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the file's tests. */
export function tempDir(prefix = 'shitate-io-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Bytes of a safetensors file from a raw header object and a data buffer, exactly as given (no checks). */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

/** Runs fn, expects a ShitateError with `code` whose message includes every string in `mentions`. */
export function expectShitateError(fn: () => unknown, code: string, ...mentions: string[]): ShitateError {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a ShitateError to be thrown').toBeInstanceOf(ShitateError);
  const e = caught as ShitateError;
  expect(e.code, e.message).toBe(code);
  for (const m of mentions) expect(e.message).toContain(m);
  expect(e.message).toMatch(/expected/);
  expect(e.message).toMatch(/found/);
  expect(e.hint.length).toBeGreaterThan(0);
  return e;
}
