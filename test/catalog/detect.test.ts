// Licence detection on model folders: README front matter, LICENSE texts and config.json, mapped to the
// catalog; what cannot be mapped stays unknown, and disagreeing files are reported as a conflict.
import { describe, expect, it } from 'vitest';
import { detectLicence, licencesInText, readFrontMatter } from '../../src/catalog/detect.js';
import { APACHE_LICENSE, LLAMA31_LICENSE, MIT_LICENSE, modelFolder, readme } from './helpers.js';

const cases: { name: string; files: Record<string, string>; licence: string; status: string }[] = [
  { name: 'README license: llama3.1', files: { 'README.md': readme('license: llama3.1\nlanguage: [en]') }, licence: 'llama3.1', status: 'known' },
  { name: 'README license: other + license_name: qwen-research', files: { 'README.md': readme('license: other\nlicense_name: qwen-research\nlicense_link: https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE') }, licence: 'qwen-research', status: 'known' },
  { name: 'README license: other + license_name: qwen', files: { 'README.md': readme('license: other\nlicense_name: qwen') }, licence: 'qwen', status: 'known' },
  { name: 'README license: other + license_name: lfm1.0 (LFM2)', files: { 'README.md': readme('license: other\nlicense_name: lfm1.0\nlicense_link: LICENSE') }, licence: 'lfm1.0', status: 'known' },
  { name: 'LICENSE with the LFM Open License title', files: { LICENSE: 'LFM Open License v1.0\n\nLicensor: Liquid AI, Inc.\n' }, licence: 'lfm1.0', status: 'known' },
  { name: 'config only, the Qwen3.5 Hub id', files: { 'config.json': '{"_name_or_path": "Qwen/Qwen3.5-0.8B"}' }, licence: 'apache-2.0', status: 'known' },
  { name: 'LICENSE with the Llama 3.1 title', files: { LICENSE: LLAMA31_LICENSE }, licence: 'llama3.1', status: 'known' },
  { name: 'LICENSE.txt with a reflowed Llama 2 title', files: { 'LICENSE.txt': 'LLAMA 2\n  COMMUNITY   LICENSE\nAGREEMENT\n' }, licence: 'llama2', status: 'known' },
  { name: 'Apache text', files: { LICENSE: APACHE_LICENSE }, licence: 'apache-2.0', status: 'known' },
  { name: 'README and LICENSE agree', files: { 'README.md': readme('license: mit'), LICENSE: MIT_LICENSE }, licence: 'mit', status: 'known' },
  { name: 'Gemma terms', files: { 'README.md': readme('license: gemma') }, licence: 'gemma', status: 'known' },
  { name: 'README says apache, base model is Llama 3.1', files: { 'README.md': readme('license: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B') }, licence: 'llama3.1', status: 'conflict' },
  { name: 'README apache, config names the research-licensed Qwen2.5-3B', files: { 'README.md': readme('license: apache-2.0'), 'config.json': '{"_name_or_path": "Qwen/Qwen2.5-3B", "model_type": "qwen2"}' }, licence: 'qwen-research', status: 'conflict' },
  { name: 'config only, an exact Hub id', files: { 'config.json': '{"_name_or_path": "HuggingFaceTB/SmolLM2-135M"}' }, licence: 'apache-2.0', status: 'known' },
  { name: 'config with a local path says nothing', files: { 'config.json': '{"_name_or_path": "/home/me/models/x"}' }, licence: 'unknown', status: 'unknown' },
  { name: 'an unrecognised README value', files: { 'README.md': readme('license: openrail++') }, licence: 'unknown', status: 'unknown' },
  { name: 'license: other without a name', files: { 'README.md': readme('license: other') }, licence: 'unknown', status: 'unknown' },
  { name: 'a LICENSE nobody knows', files: { LICENSE: 'ACME Internal Model Licence v2\nAll rights reserved.' }, licence: 'unknown', status: 'unknown' },
  { name: 'broken front matter', files: { 'README.md': '---\nlicense: [unclosed\n---\n' }, licence: 'unknown', status: 'unknown' },
  { name: 'no files at all', files: {}, licence: 'unknown', status: 'unknown' },
  { name: 'shitate\'s own licence.json record is not a licence text', files: { 'licence.json': '{"licenceName": "Llama 3.1 Community License Agreement"}' }, licence: 'unknown', status: 'unknown' },
];

describe('detectLicence', () => {
  for (const c of cases) {
    it(`${c.name} -> ${c.licence} (${c.status})`, () => {
      const d = detectLicence(modelFolder(c.files));
      expect(d.licenceId).toBe(c.licence);
      expect(d.status).toBe(c.status);
    });
  }

  it('keeps the raw value of what it could not map, as evidence', () => {
    const d = detectLicence(modelFolder({ 'README.md': readme('license: openrail++'), LICENSE: 'ACME Internal Model Licence v2' }));
    expect(d.evidence).toEqual([
      { kind: 'readme-license', file: 'README.md', value: 'openrail++', licenceId: null },
      { kind: 'licence-file', file: 'LICENSE', value: 'ACME Internal Model Licence v2', licenceId: null },
    ]);
  });

  it('a missing folder is unknown, not an error', () => {
    expect(detectLicence('/nonexistent/shitate-model').status).toBe('unknown');
  });
});

describe('licencesInText', () => {
  it('a specific licence wins over a generic one named in the same text', () => {
    const text = 'TII Falcon License 2.0\nThis licence is based on the Apache License, Version 2.0, with an acceptable use policy.';
    expect(licencesInText(text).map((l) => l.id)).toEqual(['falcon-llm-license']);
  });

  it('distinguishes the Qwen licence from the Qwen research licence and Llama 3 from 3.1', () => {
    expect(licencesInText('Qwen RESEARCH LICENSE AGREEMENT').map((l) => l.id)).toEqual(['qwen-research']);
    expect(licencesInText('Qwen LICENSE AGREEMENT').map((l) => l.id)).toEqual(['qwen']);
    expect(licencesInText('META LLAMA 3 COMMUNITY LICENSE AGREEMENT').map((l) => l.id)).toEqual(['llama3']);
    expect(licencesInText('Attribution-NonCommercial-ShareAlike 4.0 International').map((l) => l.id)).toEqual(['cc-by-nc-sa-4.0']);
  });
});

describe('readFrontMatter', () => {
  it('reads the YAML block at the top only', () => {
    expect(readFrontMatter('---\nlicense: mit\ntags: [a, b]\n---\ntext\n---\nx: 1\n---')).toEqual({ license: 'mit', tags: ['a', 'b'] });
    expect(readFrontMatter('# no front matter\nlicense: mit')).toBeNull();
    expect(readFrontMatter('\uFEFF---\r\nlicense: mit\r\n---\r\n')).toEqual({ license: 'mit' });
  });
});
