// Licence detection for a local model folder: README front matter (license, license_name, base_model),
// LICENSE-like files (identified by marker phrases), and config.json's _name_or_path, each mapped to a
// catalog licence id. What cannot be mapped is reported as unknown with the raw value, never guessed.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { findModel, loadCatalog, variantLicenceId } from './catalog.js';
import type { Catalog, Licence } from './types.js';

export type EvidenceKind = 'readme-license' | 'licence-file' | 'base-model' | 'config-name';

export interface LicenceEvidence {
  kind: EvidenceKind;
  /** file the evidence came from, relative to the model folder */
  file: string;
  /** what the file says (a front-matter value, a matched phrase, a model id) */
  value: string;
  /** catalog licence id, or null when the value maps to nothing in the catalog */
  licenceId: string | null;
}

export interface DetectedLicence {
  /** the licence the gate applies: the only one found, the most restrictive of several, or 'unknown' */
  licenceId: string;
  status: 'known' | 'unknown' | 'conflict';
  /** every distinct catalog licence id found */
  licenceIds: string[];
  evidence: LicenceEvidence[];
}

// LICENSE, LICENSE.txt, LICENCE-MODEL.md, NOTICE...; not JSON (shitate's own licence.json record is data)
const LICENCE_FILE = /^(licen[cs]e|copying|notice)([._-].*)?$/i;
const MAX_LICENCE_BYTES = 256 * 1024;

/** lower case, single spaces, straight quotes: marker phrases survive reflowed licence texts */
export function normaliseText(s: string): string {
  return s.replace(/[\u2018\u2019]/g, "'").replace(/[\u201c\u201d]/g, '"').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** YAML front matter of a README (between the first two `---` lines), or null. */
export function readFrontMatter(text: string): Record<string, unknown> | null {
  const m = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(text);
  if (!m) return null;
  try {
    const obj: unknown = YAML.parse(m[1]);
    return obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Record<string, unknown>) : null;
  } catch {
    return null; // a broken card is treated as having no front matter; the LICENSE file may still tell
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

function readmeEvidence(dir: string, file: string, cat: Catalog): LicenceEvidence[] {
  const fm = readFrontMatter(fs.readFileSync(path.join(dir, file), 'utf8'));
  if (!fm) return [];
  const out: LicenceEvidence[] = [];
  const names = strings(fm.license_name).map((s) => s.toLowerCase());
  for (const raw of strings(fm.license)) {
    const value = raw.toLowerCase();
    if (value === 'other' && names.length > 0) {
      for (const name of names) {
        const lic = cat.licences.find((l) => l.match.hfLicenseName?.includes(name));
        out.push({ kind: 'readme-license', file, value: `other (license_name: ${name})`, licenceId: lic?.id ?? null });
      }
      continue;
    }
    const lic = cat.licences.find((l) => l.match.hfLicense?.includes(value));
    out.push({ kind: 'readme-license', file, value: raw, licenceId: lic?.id ?? null });
  }
  for (const base of strings(fm.base_model)) out.push(modelEvidence('base-model', file, base, cat));
  return out;
}

function modelEvidence(kind: EvidenceKind, file: string, name: string, cat: Catalog): LicenceEvidence {
  // the same size under another spelling counts; another revision of it might carry another licence
  const m = name.includes('/') ? findModel(name, cat, false) : null;
  const licenceId = m?.variant ? variantLicenceId(m.family, m.variant) : null;
  return { kind, file, value: name, licenceId };
}

/** Licences whose marker phrases occur in `text`; a generic licence loses to a specific one in the same text. */
export function licencesInText(text: string, cat: Catalog = loadCatalog()): Licence[] {
  const t = normaliseText(text);
  const hits = cat.licences.filter((l) => (l.match.textMarkers ?? []).some((m) => t.includes(normaliseText(m))));
  const specific = hits.filter((l) => !l.generic);
  return specific.length > 0 ? specific : hits;
}

function licenceFileEvidence(dir: string, file: string, cat: Catalog): LicenceEvidence[] {
  const full = path.join(dir, file);
  const fd = fs.openSync(full, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(Math.min(fs.fstatSync(fd).size, MAX_LICENCE_BYTES));
    fs.readSync(fd, buf, 0, buf.length, 0);
    text = buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const hits = licencesInText(text, cat);
  if (hits.length === 0) {
    const first = text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim().slice(0, 80) ?? '(empty)';
    return [{ kind: 'licence-file', file, value: first, licenceId: null }];
  }
  return hits.map((l) => ({ kind: 'licence-file' as const, file, value: l.name, licenceId: l.id }));
}

function configEvidence(dir: string, cat: Catalog): LicenceEvidence[] {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return [];
  try {
    const obj = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const name = obj._name_or_path;
    // only an exact Hub id that the catalog knows counts; a local path says nothing about the licence
    if (typeof name !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(name)) return [];
    const ev = modelEvidence('config-name', 'config.json', name, cat);
    return ev.licenceId ? [ev] : [];
  } catch {
    return []; // config.json errors are reported by the model loader, with context
  }
}

const RANK = { yes: 0, conditional: 1, no: 2 } as const;

/** Reads the folder and maps what it says about its licence onto the catalog. */
export function detectLicence(dir: string, cat: Catalog = loadCatalog()): DetectedLicence {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
  const evidence: LicenceEvidence[] = [];
  for (const f of files) if (/^readme(\.md)?$/i.test(f)) evidence.push(...readmeEvidence(dir, f, cat));
  for (const f of files) if (LICENCE_FILE.test(f) && !f.toLowerCase().endsWith('.json')) evidence.push(...licenceFileEvidence(dir, f, cat));
  evidence.push(...configEvidence(dir, cat));
  const licenceIds = [...new Set(evidence.map((e) => e.licenceId).filter((id): id is string => id !== null))];
  if (licenceIds.length === 0) return { licenceId: 'unknown', status: 'unknown', licenceIds, evidence };
  const ranked = [...licenceIds].sort((a, b) => rank(b, cat) - rank(a, cat));
  return { licenceId: ranked[0], status: licenceIds.length === 1 ? 'known' : 'conflict', licenceIds, evidence };
}

function rank(id: string, cat: Catalog): number {
  const l = cat.licences.find((x) => x.id === id);
  return l ? RANK[l.commercial] : 0;
}
