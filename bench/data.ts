// bench:data — `data check` on generated FAQ rows (default 100k, Shift_JIS CSV like an Excel export):
// wall time of the whole check (decode, parse, validate, report) and peak RSS. Target: < 10 s for 100k.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import iconv from 'iconv-lite';
import { checkFiles } from '../src/data/check.js';
import { renderTerminal } from '../src/data/terminal.js';
import { Rng } from '../src/kernels/rng.js';

const { values } = parseArgs({ options: {
  rows: { type: 'string', default: '100000' },
  encoding: { type: 'string', default: 'cp932' },
  seed: { type: 'string', default: '1' },
  summary: { type: 'boolean', default: false },
} });
const rows = Number(values.rows);

/** uniform [0, 1) draws from the project's seeded generator */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const PRODUCTS = ['スマートウォッチ', 'ワイヤレスイヤホン', '電気ケトル', 'ロボット掃除機', '空気清浄機', 'ノートPC', 'タブレット', 'コーヒーメーカー', '加湿器', 'ドライヤー', '炊飯器', '電子レンジ'];
const EDITIONS = ['', ' Pro', ' Lite', ' Max', ' mini', ' 2', ' Plus', ' S', ' Air', ' Neo'];
const TOPICS: [string, string[], (r: () => number, p: string) => string][] = [
  ['配送', ['{p}の送料はいくらですか', '{p}を注文したらいつ届きますか', '{p}は離島にも配送できますか', '{p}の配送日時は指定できますか'],
    (r, p) => `${p}は通常${2 + Math.floor(r() * 5)}営業日以内に発送します。送料は${['全国一律', '本州のみ', '税込'][Math.floor(r() * 3)]}${(5 + Math.floor(r() * 20)) * 50}円です。`],
  ['返品', ['{p}は返品できますか', '{p}が初期不良の場合はどうすればいいですか', '{p}の交換手続きを教えてください'],
    (r, p) => `${p}は到着後${[7, 14, 30][Math.floor(r() * 3)]}日以内であれば返品を承ります。マイページの「返品申請」からお手続きください。${r() < 0.5 ? '未開封品に限ります。' : '送料は当社が負担します。'}`],
  ['支払い', ['{p}は分割払いできますか', '{p}の支払い方法を教えてください', '{p}はコンビニ払いに対応していますか'],
    (r, p) => `${p}のお支払いはクレジットカード、${['銀行振込', 'コンビニ払い', '電子マネー'][Math.floor(r() * 3)]}に対応しています。分割は最大${[3, 6, 12, 24][Math.floor(r() * 4)]}回までです。`],
  ['製品', ['{p}の保証期間は何年ですか', '{p}の電池はどれくらい持ちますか', '{p}の色は何種類ありますか', '{p}の重さを教えてください'],
    (r, p) => `${p}の保証期間はご購入日から${1 + Math.floor(r() * 3)}年間です。延長保証にご加入の場合は最長${3 + Math.floor(r() * 3)}年となります。`],
  ['アカウント', ['パスワードを忘れました（{p}アプリ）', '{p}の会員登録を解除したい', '{p}アプリでメールアドレスを変更したい'],
    (r, p) => `${p}アプリの「設定」→「アカウント」から変更できます。${r() < 0.3 ? 'うまくいかない場合はサポート窓口（0120-123-456）へご連絡ください。' : '手続きは数分で完了します。'}`],
];
const PREFIX = ['', '', 'すみません、', 'こんにちは。', '至急です。', '質問です。', '教えてください。'];
const SUFFIX = ['', '', '？', '。', 'よろしくお願いします。', '急ぎで知りたいです。'];

function quote(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes the rows in blocks, so a file of any size is generated in little memory. */
function generate(file: string, n: number, seed: number, encoding: string): void {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.part`;
  const fd = fs.openSync(tmp, 'w');
  let lines = ['質問,回答,分類'];
  let prev: string | null = null;
  const flush = (): void => {
    fs.writeSync(fd, iconv.encode(`${lines.join('\r\n')}\r\n`, encoding));
    lines = [];
  };
  for (let i = 0; i < n; i++) {
    if (lines.length >= 10000) flush();
    if (prev && r() < 0.01) { lines.push(prev); continue; } // about 1% exact duplicates, as in real exports
    const [cat, qs, answer] = pick(TOPICS);
    const p = `${pick(PRODUCTS)}${pick(EDITIONS)}（型番${String(Math.floor(r() * 9000) + 1000)}）`;
    const q = `${pick(PREFIX)}${pick(qs).replace('{p}', p)}${pick(SUFFIX)}`;
    const line = [q, answer(r, p), cat].map(quote).join(',');
    lines.push(line);
    prev = line;
  }
  flush();
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

const file = path.join('bench', '.cache', `faq-${rows}-${values.encoding}-s${values.seed}.csv`);
if (!fs.existsSync(file)) generate(file, rows, Number(values.seed), values.encoding);
const size = fs.statSync(file).size;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const c = await checkFiles([file], [], { lang: 'en' });
const text = renderTerminal(c.report);
const wall = (performance.now() - t0) / 1000;
const cpuUsed = process.cpuUsage(cpu0);
const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
if (values.summary) process.stdout.write(text);
const rss = process.resourceUsage().maxRSS / 1024;
const counts = c.report.problems.map((p) => `${p.code} ${p.count}`).join(', ');
process.stdout.write([
  `bench:data — data check on ${rows.toLocaleString('en-US')} generated FAQ rows (${(size / 2 ** 20).toFixed(1)} MiB, ${c.report.files[0].encoding})`,
  `  wall time      ${wall.toFixed(2)} s   (target < 10 s)`,
  `  CPU time       ${cpu.toFixed(2)} s   (wall well above CPU means the machine was busy with other work)`,
  `  throughput     ${Math.round(c.report.examples / wall).toLocaleString('en-US')} examples/s, ${(size / 2 ** 20 / wall).toFixed(1)} MiB/s`,
  `  peak RSS       ${rss.toFixed(0)} MiB`,
  `  found          ${counts}`,
  '',
].join('\n'));
