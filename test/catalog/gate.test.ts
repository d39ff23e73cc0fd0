// The licence gate as a table: licence x purpose x acknowledgement -> allow / block / needs-ack; the errors
// it raises, the obligations it prints and the record it writes into the run folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkLicence, decideLicence, enforceLicence, formatLicenceCheck, gateLicence, writeLicenceRecord, type Decision, type Purpose } from '../../src/catalog/gate.js';
import type { DetectedLicence } from '../../src/catalog/detect.js';
import { ShitateError } from '../../src/errors.js';
import { LLAMA31_LICENSE, modelFolder, readme } from './helpers.js';

function detected(...ids: string[]): DetectedLicence {
  if (ids.length === 0) return { licenceId: 'unknown', status: 'unknown', licenceIds: [], evidence: [] };
  return { licenceId: ids[0], status: ids.length > 1 ? 'conflict' : 'known', licenceIds: ids, evidence: [] };
}

// [licences found (first = the one applied), purpose, --accept-licence, expected decision]
const TABLE: [string[], Purpose | null, boolean, Decision][] = [
  [['apache-2.0'], 'commercial', false, 'allow'],
  [['mit'], 'commercial', false, 'allow'],
  [['cc-by-4.0'], 'commercial', false, 'allow'],
  [['llama2'], 'commercial', false, 'needs-ack'],
  [['llama3'], 'commercial', false, 'needs-ack'],
  [['llama3.1'], 'commercial', false, 'needs-ack'],
  [['llama3.1'], 'commercial', true, 'allow'],
  [['llama3.2'], 'commercial', true, 'allow'],
  [['llama3.3'], 'commercial', false, 'needs-ack'],
  [['gemma'], 'commercial', false, 'needs-ack'],
  [['gemma'], 'commercial', true, 'allow'],
  [['lfm1.0'], 'commercial', false, 'needs-ack'],
  [['lfm1.0'], 'commercial', true, 'allow'],
  [['lfm1.0'], 'research', false, 'allow'],
  [['qwen'], 'commercial', false, 'needs-ack'],
  [['qwen'], 'commercial', true, 'allow'],
  [['bigscience-bloom-rail-1.0'], 'commercial', false, 'needs-ack'],
  [['falcon-llm-license'], 'commercial', true, 'allow'],
  [['qwen-research'], 'commercial', false, 'block'],
  [['qwen-research'], 'commercial', true, 'block'],
  [['mrl'], 'commercial', true, 'block'],
  [['mnpl'], 'commercial', false, 'block'],
  [['cc-by-nc-4.0'], 'commercial', true, 'block'],
  [['cc-by-nc-sa-4.0'], 'commercial', false, 'block'],
  [['qwen-research'], 'research', false, 'allow'],
  [['mrl'], 'personal', false, 'allow'],
  [['llama3.1'], 'research', false, 'allow'],
  [['qwen-research'], null, false, 'allow'],
  [[], 'commercial', false, 'needs-ack'],
  [[], 'commercial', true, 'allow'],
  [[], 'research', false, 'allow'],
  [['qwen-research', 'apache-2.0'], 'commercial', true, 'block'],
  [['llama3.1', 'apache-2.0'], 'commercial', false, 'needs-ack'],
];

describe('licence gate table', () => {
  for (const [ids, purpose, ack, want] of TABLE) {
    it(`${ids.join('+') || 'unknown'} x ${purpose ?? 'no purpose'} x ${ack ? 'ack' : 'no ack'} -> ${want}`, () => {
      const c = decideLicence(detected(...ids), { purpose, acknowledge: ack });
      expect(c.decision).toBe(want);
      expect(c.licenceId).toBe(ids[0] ?? 'unknown');
    });
  }
});

describe('licence gate details', () => {
  it('lists the obligations of every licence found, and names them in both languages', () => {
    const c = decideLicence(detected('llama3.1', 'apache-2.0'), { purpose: 'commercial', acknowledge: false });
    const en = formatLicenceCheck(c, 'en');
    expect(en).toContain('Built with Llama');
    expect(en).toContain('Apache-2.0');
    expect(en).toContain('https://www.llama.com/llama3_1/license/');
    expect(formatLicenceCheck(c, 'ja')).toContain('守るべき義務');
  });

  it('enforceLicence throws E_LICENCE_BLOCKED and E_LICENCE_ACK with hints, and passes allowed runs through', () => {
    const blocked = decideLicence(detected('qwen-research'), { purpose: 'commercial', acknowledge: true });
    expect(() => enforceLicence(blocked)).toThrow(expect.objectContaining({ code: 'E_LICENCE_BLOCKED' }));
    const ack = decideLicence(detected('llama3.1'), { purpose: 'commercial', acknowledge: false });
    try {
      enforceLicence(ack);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ShitateError);
      expect((e as ShitateError).code).toBe('E_LICENCE_ACK');
      expect((e as ShitateError).hint).toContain('--accept-licence');
      expect((e as ShitateError).message).toContain('"Llama"');
    }
    const ok = decideLicence(detected('apache-2.0'), { purpose: 'commercial', acknowledge: false });
    expect(enforceLicence(ok)).toBe(ok);
  });

  it('checks a real folder and records the decision with its evidence in the run folder', () => {
    const dir = modelFolder({ 'README.md': readme('license: llama3.1'), LICENSE: LLAMA31_LICENSE });
    const c = checkLicence(dir, { purpose: 'commercial', acknowledge: true });
    expect(c.decision).toBe('allow');
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-run-'));
    const file = writeLicenceRecord(runDir, c);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ decision: 'allow', licence: 'llama3.1', purpose: 'commercial', acknowledged: true, status: 'known' });
    expect((rec.evidence as unknown[]).length).toBe(2);
    expect(rec.obligations).toEqual(expect.arrayContaining([expect.stringContaining('Built with Llama')]));
  });

  it('gateLicence prints the notice for an allowed commercial run and throws for a blocked one', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const ok = gateLicence(modelFolder({ 'README.md': readme('license: apache-2.0') }), { purpose: 'commercial', acknowledge: false });
      expect(ok.decision).toBe('allow');
      expect(String(err.mock.calls[0]?.[0])).toContain('Apache License 2.0');
      expect(() => gateLicence(modelFolder({ 'README.md': readme('license: cc-by-nc-4.0') }), { purpose: 'commercial', acknowledge: true }))
        .toThrow(expect.objectContaining({ code: 'E_LICENCE_BLOCKED' }));
    } finally {
      err.mockRestore();
    }
  });
});
