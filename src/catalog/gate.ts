// The licence gate for train, merge and exports: with a commercial purpose set, a non-commercial licence
// blocks, a conditional (or undetectable) one needs an explicit acknowledgement and prints the duties,
// and the decision is written into the run folder.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import type { Schema } from '../config/resolve.js';
import { writeFileAtomic } from '../io/atomic.js';
import { licenceById, loadCatalog } from './catalog.js';
import { detectLicence, type DetectedLicence, type LicenceEvidence } from './detect.js';
import type { Catalog, Lang, Licence, Text } from './types.js';

export const PURPOSES = ['commercial', 'research', 'personal'] as const;
export type Purpose = (typeof PURPOSES)[number];
export type Decision = 'allow' | 'block' | 'needs-ack';

export interface GateOptions {
  purpose: Purpose | null;
  /** the user confirmed the licence's conditions (--accept-licence) */
  acknowledge: boolean;
}

export interface LicenceCheck {
  decision: Decision;
  /** catalog licence id, or 'unknown' */
  licenceId: string;
  licenceName: string;
  status: DetectedLicence['status'];
  purpose: Purpose | null;
  acknowledged: boolean;
  /** duties of every licence found (all of them when the folder's files disagree) */
  obligations: Text[];
  explanation: Text;
  /** where the licence text lives, when known */
  source: string | null;
  evidence: LicenceEvidence[];
  catalogVersion: number;
}

/** Settings to merge into a command's config schema: `purpose:` in the project file, SHITATE_PURPOSE, --purpose. */
export const LICENCE_SCHEMA = {
  purpose: { type: 'string', choices: PURPOSES, nullable: true, help: 'what the tuned model is for: commercial, research or personal (enables the licence gate)' },
  acceptLicence: { type: 'boolean', help: 'confirm you accept the obligations of a conditional licence (printed by the gate)' },
} as const satisfies Schema;
export const LICENCE_DEFAULTS = { purpose: null as Purpose | null, acceptLicence: false };

const t = (en: string, ja: string): Text => ({ en, ja });

function explain(d: Decision, lic: Licence | undefined, det: DetectedLicence, purpose: Purpose | null): Text {
  const name = lic?.name ?? 'unknown licence';
  if (purpose === null) {
    return t(`No purpose set, so the licence (${name}) was not checked; set --purpose commercial|research|personal or \`purpose:\` in the config.`,
      `用途が未設定のためライセンス(${name})は確認していません。--purpose commercial|research|personal または設定ファイルの purpose: を指定してください。`);
  }
  if (!lic) {
    const t1 = 'No licence could be identified from README.md front matter, LICENSE files or config.json.';
    const j1 = 'README.md のフロントマター、LICENSE ファイル、config.json からライセンスを特定できませんでした。';
    return d === 'needs-ack'
      ? t(`${t1} Read the model's terms yourself; --accept-licence records that you did.`, `${j1} 利用条件を自分で確認し、確認済みであれば --accept-licence を指定してください。`)
      : t(t1, j1);
  }
  const conflict = det.status === 'conflict' ? ` The folder names several licences (${det.licenceIds.join(', ')}); the most restrictive applies.` : '';
  const conflictJa = det.status === 'conflict' ? ` フォルダ内に複数のライセンス(${det.licenceIds.join(', ')})があるため、最も制限の強いものを適用します。` : '';
  if (d === 'block') {
    return t(`${name} does not allow commercial use: ${lic.summary.en}${conflict} Pick a model whose licence allows commercial use, or obtain a commercial licence from the publisher.`,
      `${name} は商用利用を認めていません: ${lic.summary.ja}${conflictJa} 商用可のライセンスのモデルを選ぶか、提供元から商用ライセンスを取得してください。`);
  }
  if (d === 'needs-ack') {
    return t(`${name} allows commercial use only under conditions: ${lic.summary.en}${conflict} Pass --accept-licence to confirm you will meet the obligations below.`,
      `${name} は条件付きで商用利用を認めています: ${lic.summary.ja}${conflictJa} 以下の義務を守る場合は --accept-licence を指定してください。`);
  }
  return t(`${name}: ${lic.summary.en}${conflict}`, `${name}: ${lic.summary.ja}${conflictJa}`);
}

/** The gate's decision for an already detected licence (pure; the table tests drive this). */
export function decideLicence(det: DetectedLicence, opts: GateOptions, cat: Catalog = loadCatalog()): LicenceCheck {
  const lic = det.status === 'unknown' ? undefined : licenceById(det.licenceId, cat);
  let decision: Decision = 'allow';
  if (opts.purpose === 'commercial') {
    const commercial = lic?.commercial ?? 'unknown';
    if (commercial === 'no') decision = 'block';
    else if (commercial !== 'yes' && !opts.acknowledge) decision = 'needs-ack';
  }
  const all = det.licenceIds.map((id) => licenceById(id, cat)).filter((l): l is Licence => l !== undefined);
  const obligations = all.flatMap((l) => l.obligations);
  if (!lic && opts.purpose === 'commercial') {
    obligations.push(t('Confirm the model\'s licence allows your use before shipping it.', '提供前に、モデルのライセンスが想定用途を認めていることを確認する。'));
  }
  return {
    decision, licenceId: lic?.id ?? 'unknown', licenceName: lic?.name ?? 'unknown', status: det.status,
    purpose: opts.purpose, acknowledged: opts.acknowledge, obligations,
    explanation: explain(decision, lic, det, opts.purpose), source: lic?.source ?? null,
    evidence: det.evidence, catalogVersion: cat.version,
  };
}

/** Detects the licence of a model folder and decides. Never throws for a blocked model: see enforceLicence. */
export function checkLicence(modelDir: string, opts: GateOptions, cat: Catalog = loadCatalog()): LicenceCheck {
  return decideLicence(detectLicence(modelDir, cat), opts, cat);
}

/** Human-readable lines: decision, explanation, obligations, where to read the licence. */
export function formatLicenceCheck(c: LicenceCheck, lang: Lang = 'en'): string {
  const head = lang === 'ja'
    ? `ライセンス: ${c.licenceName}(用途: ${c.purpose ?? '未設定'}、判定: ${c.decision})`
    : `licence: ${c.licenceName} (purpose: ${c.purpose ?? 'not set'}, decision: ${c.decision})`;
  const lines = [head, `  ${c.explanation[lang]}`];
  if (c.obligations.length > 0) {
    lines.push(lang === 'ja' ? '  守るべき義務:' : '  obligations:');
    for (const o of c.obligations) lines.push(`    - ${o[lang]}`);
  }
  if (c.source) lines.push(`  ${lang === 'ja' ? '原文' : 'full text'}: ${c.source}`);
  for (const e of c.evidence) lines.push(`  ${lang === 'ja' ? '根拠' : 'found'}: ${e.file} (${e.kind}) ${e.value} -> ${e.licenceId ?? 'unknown'}`);
  return lines.join('\n');
}

/** Throws the user-facing error for block / needs-ack; returns the check when the run may go on. */
export function enforceLicence(c: LicenceCheck, lang: Lang = 'en'): LicenceCheck {
  if (c.decision === 'block') {
    throw new ShitateError('E_LICENCE_BLOCKED', `licence gate: expected a licence that allows commercial use, found ${c.licenceName}. ${c.explanation[lang]}`,
      'if the run is for research or personal use, say so with --purpose research|personal');
  }
  if (c.decision === 'needs-ack') {
    const duties = c.obligations.map((o) => `\n    - ${o[lang]}`).join('');
    throw new ShitateError('E_LICENCE_ACK', `licence gate: expected --accept-licence for ${c.licenceName} with a commercial purpose, found none. ${c.explanation[lang]}${duties}`,
      `read ${c.source ?? "the model's terms"}, then rerun with --accept-licence (recorded in the run folder)`);
  }
  return c;
}

/** The record saved with a run: what was decided, on what evidence, and who acknowledged what. */
export function licenceRecord(c: LicenceCheck, now: Date = new Date()): Record<string, unknown> {
  return {
    decision: c.decision, licence: c.licenceId, licenceName: c.licenceName, status: c.status, purpose: c.purpose,
    acknowledged: c.acknowledged, obligations: c.obligations.map((o) => o.en), source: c.source,
    evidence: c.evidence, catalogVersion: c.catalogVersion, checkedAt: now.toISOString(),
  };
}

/** Writes RUN_DIR/licence.json (atomically). */
export function writeLicenceRecord(runDir: string, c: LicenceCheck): string {
  const file = path.join(runDir, 'licence.json');
  writeFileAtomic(file, JSON.stringify(licenceRecord(c), null, 2) + '\n');
  return file;
}

/** check + enforce in one call, for commands: prints the notice to stderr and returns the check. */
export function gateLicence(modelDir: string, opts: GateOptions, lang: Lang = 'en'): LicenceCheck {
  const c = checkLicence(modelDir, opts);
  if (c.purpose !== null && c.decision === 'allow') process.stderr.write(formatLicenceCheck(c, lang) + '\n');
  return enforceLicence(c, lang);
}
