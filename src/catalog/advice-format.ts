// Terminal text for `shitate advise`: the ranked advice, and the catalog table (`--models`), in English or
// Japanese.
import { engineSupports, familyCommercial, licenceById, loadCatalog, modelTypeOf, variantLicenceId } from './catalog.js';
import { METHOD_NAMES } from './advisor-text.js';
import { stars, type Advice, type Recommendation } from './advice.js';
import type { Catalog, Lang, Text } from './types.js';

const L = {
  title: { en: 'shitate advise: how to customize a model for your goal', ja: 'shitate advise: 目的に合ったカスタマイズ方法' },
  input: { en: 'your answers', ja: '回答' },
  recommended: { en: 'recommended', ja: '推奨' },
  possible: { en: 'also possible', ja: '検討可' },
  notRecommended: { en: 'not recommended', ja: '非推奨' },
  difficulty: { en: 'difficulty', ja: '難易度' },
  why: { en: 'why', ja: '理由' },
  cost: { en: 'cost', ja: '費用の目安' },
  models: { en: 'models', ja: '候補モデル' },
  start: { en: 'start with', ja: '始め方' },
  hosted: { en: 'if you already use a hosted service (your data goes to the provider):', ja: 'すでに使っているクラウドサービスなら(データは事業者に送られます):' },
  download: { en: 'Get the model folder once (needs internet; afterwards shitate never connects):', ja: 'モデルのフォルダーを一度だけダウンロードします（インターネットが必要。その後 shitate は一切接続しません）:' },
  gated: { en: 'If the model page asks you to accept a licence (Llama, Gemma and some Mistral models do), accept it on huggingface.co and run `hf auth login` first. Without Python: git lfs install && git clone https://huggingface.co/{repo} {dir}',
    ja: 'モデルのページでライセンスへの同意を求められる場合（Llama、Gemma、一部の Mistral）は、huggingface.co で同意し、先に `hf auth login` を実行してください。Python がない場合: git lfs install && git clone https://huggingface.co/{repo} {dir}' },
  rough: { en: 'Costs and times are rough; `shitate estimate` measures your machine. Licence summaries are not legal advice.', ja: '費用と時間は概算です。`shitate estimate` で手元のマシンを測定できます。ライセンスの要約は法的助言ではありません。' },
  gate: { en: 'Some candidates have conditional licences: `shitate train --purpose commercial` prints the duties and asks for --accept-licence.', ja: '条件付きライセンスの候補があります。`shitate train --purpose commercial` で義務が表示され、--accept-licence が求められます。' },
} satisfies Record<string, Text>;

function describeModels(r: Recommendation): string {
  return r.models.map((m) => `${m.id} (${m.licence}${m.commercial === 'conditional' ? ', conditions' : ''})`).join(', ');
}

function block(n: number, r: Recommendation, lang: Lang): string[] {
  const lines = [`${n}. ${METHOD_NAMES[r.method][lang]}  [${L[r.level === 'recommended' ? 'recommended' : 'possible'][lang]}]  ${L.difficulty[lang]} ${stars(r.difficulty)}`];
  lines.push(`   ${L.why[lang]}:`);
  for (const reason of r.reasons) lines.push(`     ${reason.points < 0 ? '-' : '+'} ${reason.text[lang]}`);
  lines.push(`   ${L.cost[lang]}: ${r.cost[lang]}`);
  if (r.models.length > 0) lines.push(`   ${L.models[lang]}: ${describeModels(r)}`);
  lines.push(`   ${L.start[lang]}:`);
  for (const c of r.commands) lines.push(`     $ ${c}`);
  return lines;
}

export function formatAdvice(a: Advice, lang: Lang): string {
  const i = a.input;
  const out = [L.title[lang], `${L.input[lang]}: goal=${i.goal} examples=${i.examples} confidential=${i.confidential ? 'yes' : 'no'} budget=${i.budget} ` +
    `hardware=${i.hardware}${i.vramGb !== null ? ` vram=${i.vramGb}GB` : ''} skill=${i.skill} purpose=${i.purpose ?? 'none'} japanese=${i.japanese ? 'yes' : 'no'}`, ''];
  const shown = a.recommendations.filter((r) => r.level !== 'not-recommended');
  shown.forEach((r, n) => out.push(...block(n + 1, r, lang), ''));
  const rest = a.recommendations.filter((r) => r.level === 'not-recommended');
  if (rest.length > 0) {
    out.push(`${L.notRecommended[lang]}:`);
    for (const r of rest) {
      const worst = [...r.reasons].sort((x, y) => x.points - y.points)[0];
      out.push(`  - ${METHOD_NAMES[r.method][lang]} ${stars(r.difficulty)}: ${worst && worst.points < 0 ? worst.text[lang] : r.reasons[0]?.text[lang] ?? ''}`);
    }
    out.push('');
  }
  if (a.hosted.length > 0) {
    out.push(L.hosted[lang]);
    for (const h of a.hosted) out.push(`  - ${h.service}: ${h.name}: ${h.summary[lang]} (${h.source})`);
    out.push('');
  }
  if (a.download) {
    out.push(L.download[lang], ...a.download.commands.map((c) => `  $ ${c}`));
    out.push(L.gated[lang].replace('{repo}', a.download.repo).replace('{dir}', a.download.dir), '');
  }
  if (shown.some((r) => r.models.some((m) => m.commercial === 'conditional')) && i.purpose === 'commercial') out.push(L.gate[lang]);
  out.push(L.rough[lang]);
  return out.join('\n');
}

const yes = { en: 'yes', ja: '可' };
const cond = { en: 'conditions', ja: '条件付き' };
const no = { en: 'no', ja: '不可' };
const word = (p: string, lang: Lang) => (p === 'yes' ? yes : p === 'conditional' ? cond : no)[lang];

function sizes(params: number[]): string {
  const f = (p: number) => (p >= 1e9 ? `${+(p / 1e9).toFixed(1)}B` : `${Math.round(p / 1e6)}M`);
  return params.length ? params.map(f).join('/') : '-';
}

/** The catalog as a table: one line per family, then its licence summaries. */
export function formatCatalog(lang: Lang, json = false, cat: Catalog = loadCatalog()): string {
  if (json) return JSON.stringify(cat, null, 2);
  const head = lang === 'ja'
    ? ['ファミリー', '重み', 'ライセンス', '商用', 'shitate', 'サイズ']
    : ['family', 'weights', 'licence', 'commercial', 'shitate', 'sizes'];
  const rows = cat.families.map((f) => {
    const lics = [...new Set(f.variants.map((v) => variantLicenceId(f, v)))].filter((x): x is string => x !== null);
    const supported = f.variants.filter((v) => engineSupports(modelTypeOf(f, v))).length;
    return [
      f.name, f.openWeights ? (lang === 'ja' ? '公開' : 'open') : (lang === 'ja' ? '非公開' : 'closed'),
      lics.join(', ') || (lang === 'ja' ? '利用規約' : 'service terms'),
      f.kind === 'closed' ? (lang === 'ja' ? 'ローカル学習不可' : 'no local tuning') : familyCommercial(f, cat).map((p) => word(p, lang)).join('/'),
      f.kind === 'closed' ? '-' : supported === f.variants.length ? (lang === 'ja' ? '対応' : 'yes') : supported > 0 ? `${supported}/${f.variants.length}` : (lang === 'ja' ? '未対応' : 'no'),
      sizes(f.variants.map((v) => v.params)),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  for (const l of cat.licences) {
    const p = licenceById(l.id, cat)!;
    out.push(`${p.id}: ${p.summary[lang]} ${p.source}`);
  }
  out.push('', cat.disclaimer[lang]);
  return out.join('\n');
}
