// Test helpers for data/: in-memory checks, CSV building, a clean varied FAQ data set (no duplicates,
// no personal data, balanced categories) and lookups into a report by problem code.
import { vi } from 'vitest';
import { checkBytes, type CheckOptions, type CheckOutcome } from '../../src/data/check.js';
import type { MessageCode } from '../../src/data/messages.js';
import type { DataReport, ReportProblem } from '../../src/data/report.js';
import { Rng } from '../../src/kernels/rng.js';

export { tempDir } from '../io/helpers.js';

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export async function check(name: string, content: string | Uint8Array, o: CheckOptions = {}): Promise<CheckOutcome> {
  return checkBytes(name, typeof content === 'string' ? utf8(content) : content, o);
}

export function problem(r: DataReport, code: MessageCode): ReportProblem | undefined {
  return r.problems.find((p) => p.code === code);
}

/** Row or line numbers where `code` was reported. */
export function where(r: DataReport, code: MessageCode): (number | null)[] {
  return problem(r, code)?.occurrences.map((o) => o.n) ?? [];
}

export function codes(r: DataReport): MessageCode[] {
  return r.problems.map((p) => p.code);
}

export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(rows: string[][], eol = '\r\n'): string {
  return rows.map((r) => r.map(csvCell).join(',')).join(eol) + eol;
}

/** uniform [0, 1) draws from the project's seeded generator */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

// Varied vocabulary, so that generated sentences share few character 3-grams with each other.
const WORDS = ['配送', '返品', '領収書', '会員登録', '解約', '保証', '修理', '在庫', '予約', '支払い', '請求書', 'ポイント', '割引',
  '営業時間', '店舗', '駐車場', '包装', '名入れ', '法人契約', '見積もり', '納期', '設置', '回収', '交換', '問い合わせ', 'サイズ', '素材',
  '色', '重量', '電源', '充電', '防水', '取扱説明書', 'アプリ', 'ログイン', 'パスワード', '通知', '定期便', 'ギフト', '海外発送'];
const VERBS = ['について教えてください', 'はどうなっていますか', 'の方法を知りたいです', 'はできますか', 'の条件は何ですか', 'を変更したいです'];
const ENDS = ['詳しくは担当窓口でご案内します。', '手続きは当日中に完了します。', '追加の費用はかかりません。', '詳細はマイページに記載しています。',
  '混雑時はお時間をいただく場合があります。', '一部の商品は対象外です。'];

/** `n` FAQ rows (question, answer, category) that the validator should find nothing wrong with. */
export function cleanFaq(n: number, seed = 7): string[][] {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const rows: string[][] = [];
  const cats = ['配送', '返品', '支払い'];
  for (let i = 0; i < n; i++) {
    const a = WORDS[i % WORDS.length];
    const b = WORDS[(i + 1 + Math.floor(i / WORDS.length) * 3) % WORDS.length]; // each (a, b) pair once
    const q = `${a}と${b}${pick(VERBS)}`;
    const ans = `${b}の${a}は${pick(['窓口', 'ウェブ', '電話', '書面', '店頭'])}で承ります。${pick(ENDS)}${pick(WORDS)}もご確認ください。`;
    rows.push([q, ans, cats[i % cats.length]]);
  }
  return rows;
}

/** Runs the CLI in-process; returns the exit code with what it wrote to stdout and stderr. */
export async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { run } = await import('../../src/cli/main.js'); // loaded only by the tests that drive the CLI
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    return { code: await run(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
