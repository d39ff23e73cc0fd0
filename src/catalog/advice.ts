// Turns the advisor's ranking into advice a user can act on: level, difficulty stars, a rough cost, models
// from the catalog that fit the hardware, licence and language, the shitate commands to start with, and the
// customization the closed services offer when the data may leave the company.
import { estimateTraining } from '../train/estimate.js';
import { engineSupports, licenceById, loadCatalog, modelTypeOf, variantLicenceId, variantShape } from './catalog.js';
import { estimateGpu, type GpuMethod } from './estimate-gpu.js';
import { formatDuration } from './calibrate.js';
import { DIFFICULTY, isTuning, levelOf, rankMethods, type AdviceInput, type Level, type Method, type Scored } from './advisor.js';
import type { Catalog, CustomizationKind, Family, Permission, Text, Variant } from './types.js';

export interface ModelPick {
  /** the instruct/chat checkpoint's repository name: the folder name the commands use */
  id: string;
  /** its Hugging Face id */
  hf: string | null;
  /** the catalog variant (size) it belongs to */
  variant: string;
  params: number;
  licence: string;
  commercial: Permission;
}

export interface Recommendation extends Scored {
  level: Level;
  difficulty: 1 | 2 | 3;
  cost: Text;
  models: ModelPick[];
  commands: string[];
}

export interface HostedOption {
  service: string;
  name: string;
  kind: CustomizationKind;
  summary: Text;
  source: string;
}

/** How to get the first suggested model's folder: downloaded once, then everything runs offline. */
export interface ModelDownload {
  repo: string;
  dir: string;
  /** shell commands, in order */
  commands: string[];
}

export interface Advice {
  input: AdviceInput;
  recommendations: Recommendation[];
  download: ModelDownload | null;
  hosted: HostedOption[];
  catalogVersion: number;
}

/** average tokens of one FAQ-style example (question + answer + template), for rough time figures */
export const TOKENS_PER_EXAMPLE = 300;
export const EPOCHS = 3;
/** training FLOP rate of this engine on a 2-core AVX2 machine (bench/train, SmolLM2-135M shape); rough */
export const NOMINAL_CPU_GFLOPS = 40;
/** micro-batch for CPU sizing: smaller than train's default, as a CPU run with little memory would use */
export const CPU_BATCH_TOKENS = 1024;
/** the largest model worth training in float32 on a CPU */
export const CPU_MAX_PARAMS = 2e9;

export const stars = (d: 1 | 2 | 3): string => '★'.repeat(d) + '☆'.repeat(3 - d);

const GiB = 2 ** 30;

/** bytes a method needs for this variant on the user's hardware (CPU float32 for LoRA on a CPU) */
function needBytes(v: Variant, method: Method, i: AdviceInput): number {
  const s = variantShape(v);
  if (i.hardware === 'cpu') {
    if (!isTuning(method)) return v.params * 4 * 1.2; // float32 inference plus the KV cache and runtime
    return estimateTraining(s, { method: method === 'full' ? 'full' : 'lora', loraR: 8, batchTokens: CPU_BATCH_TOKENS }).peakBytes;
  }
  if (!isTuning(method)) return v.params * 2 * 1.2;
  return estimateGpu(s, { method: method as GpuMethod, loraR: 8, seqLen: 1024, batch: 1, fullPrecision: 'bf16' }).peakBytes;
}

function fits(v: Variant, method: Method, i: AdviceInput): boolean {
  if (i.hardware === 'cpu') return (!isTuning(method) || v.params <= CPU_MAX_PARAMS) && needBytes(v, method, i) <= 0.8 * i.ramGb * GiB;
  return needBytes(v, method, i) <= (i.vramGb ?? 24) * GiB;
}

/** Up to three instruct/chat checkpoints (one per family) that shitate runs, whose licence allows the purpose,
 *  that handle the user's language and fit the hardware; permissive licences first, then the largest. A size
 *  without a chat checkpoint is skipped: a base model answers questions poorly before any tuning. */
export function suggestModels(i: AdviceInput, method: Method, cat: Catalog = loadCatalog()): ModelPick[] {
  const picks: { family: Family; pick: ModelPick }[] = [];
  for (const family of cat.families) {
    if (family.kind !== 'open' || !family.tasks.includes('chat')) continue;
    if (i.japanese && !family.languages.includes('ja')) continue;
    for (const v of family.variants) {
      const licence = licenceById(variantLicenceId(family, v) ?? '', cat);
      if (!licence || !v.chat || !engineSupports(modelTypeOf(family, v))) continue;
      if (i.purpose === 'commercial' && licence.commercial === 'no') continue;
      if (!fits(v, method, i)) continue;
      const id = v.chat.slice(v.chat.indexOf('/') + 1);
      picks.push({ family, pick: { id, hf: v.chat, variant: v.id, params: v.params, licence: licence.id, commercial: licence.commercial } });
    }
  }
  const order = { yes: 0, conditional: 1, no: 2 } as const;
  picks.sort((a, b) => order[a.pick.commercial] - order[b.pick.commercial] || b.pick.params - a.pick.params);
  const seen = new Set<Family>();
  const out: ModelPick[] = [];
  for (const p of picks) {
    if (out.length === 3 || seen.has(p.family)) continue;
    seen.add(p.family);
    out.push(p.pick);
  }
  return out;
}

const t = (en: string, ja: string): Text => ({ en, ja });

function tuningCost(method: Method, i: AdviceInput, model: ModelPick | undefined, cat: Catalog): Text {
  const tokens = Math.max(i.examples, 1) * TOKENS_PER_EXAMPLE;
  const v = model ? cat.families.flatMap((f) => f.variants).find((x) => x.id === model.variant) : undefined;
  const name = model?.id ?? 'the model';
  if (i.hardware === 'cpu') {
    if (method === 'qlora') return t('Needs an NVIDIA GPU (bitsandbytes).', 'NVIDIA GPU(bitsandbytes)が必要。');
    if (!v) return t('No money, but no model fits this machine\'s memory for training.', '費用はかからないが、このマシンのメモリで学習できるモデルがない。');
    const est = estimateTraining(variantShape(v), { method: method === 'full' ? 'full' : 'lora', loraR: 8, batchTokens: CPU_BATCH_TOKENS });
    const d = formatDuration((est.flopsPerToken * tokens * EPOCHS) / (NOMINAL_CPU_GFLOPS * 1e9));
    return t(`No money: roughly ${d} for ${EPOCHS} epochs of ${i.examples} examples with ${name} on a 2-core CPU (\`shitate estimate\` measures yours).`,
      `費用なし: ${name} で ${i.examples} 件を ${EPOCHS} エポック学習すると、2コア CPU で約 ${d}(\`shitate estimate\` で手元の値を測定できる)。`);
  }
  const mem = v ? `${(needBytes(v, method, i) / GiB).toFixed(0)} GiB` : '?';
  const rent = method === 'full'
    ? t(' Renting 80 GB-class GPUs costs roughly ¥200-1,000 per GPU-hour (prices vary by provider).', ' 80GB級 GPU のレンタルは1GPU時間あたりおよそ200〜1,000円(事業者により異なる)。')
    : t(' Renting a 16-24 GB GPU costs roughly ¥100-500 per hour (prices vary by provider); a few thousand examples take about an hour.', ' 16〜24GBの GPU のレンタルは1時間あたりおよそ100〜500円(事業者により異なる)。数千件なら1時間程度。');
  const cloud = i.hardware === 'cloud';
  return t(`About ${mem} of GPU memory with ${name}.${cloud ? rent.en : ' No extra money on your own GPU.'}`,
    `${name} で GPU メモリ約 ${mem}。${cloud ? rent.ja : '手元の GPU なら追加費用なし。'}`);
}

const FREE: Record<'prompt' | 'assistant' | 'rag' | 'memory', Text> = {
  prompt: t('No extra cost; minutes to write and try.', '追加費用なし。書いて試すのに数分。'),
  assistant: t('No extra cost with a local model; an hour or two to write a good profile.', 'ローカルモデルなら追加費用なし。良いプロファイル作りに1〜2時間。'),
  rag: t('No extra cost: a local SQLite index; indexing a few hundred pages takes minutes.', '追加費用なし(ローカルの SQLite 索引)。数百ページの索引作成は数分。'),
  memory: t('No extra cost: stored locally in SQLite.', '追加費用なし。ローカルの SQLite に保存。'),
};

function commands(method: Method, i: AdviceInput, model: ModelPick | undefined): string[] {
  const M = `./${model?.id ?? 'MODEL'}`;
  const tokens = Math.max(i.examples, 1) * TOKENS_PER_EXAMPLE;
  const purpose = i.purpose ? ` --purpose ${i.purpose}` : '';
  const system = i.japanese ? 'あなたは当社のサポート担当です。丁寧な敬語で、3文以内で答えてください。' : 'You are our support assistant. Answer politely in at most three sentences.';
  const query = i.japanese ? '返品の期限は?' : 'What is the return period?';
  const assistant = `shitate assistant new support --provider local --model ${M} --instructions "${system}"${i.japanese ? ' --language ja' : ''}`;
  switch (method) {
    case 'prompt': return [`shitate chat --model ${M} --system "${system}"`];
    case 'assistant': return [assistant, 'shitate assistant chat support'];
    case 'rag': return ['shitate kb add manuals docs/', `shitate kb search manuals "${query}"`, `${assistant} --kb manuals`, 'shitate assistant chat support'];
    case 'memory': return [`${assistant} --memory`, 'shitate assistant chat support --user alice', 'shitate memory list --user alice'];
    case 'lora': case 'full': return [
      `shitate estimate --model ${M} --method ${method} --tokens ${tokens}`,
      'shitate data check faq.csv',
      'shitate data prepare faq.csv --out data',
      `shitate train --model ${M} --data data/train.jsonl --val data/val.jsonl --out runs/faq${method === 'full' ? ' --method full' : ''}${purpose}`,
      // full fine-tuning writes a complete model folder where LoRA writes its adapter
      method === 'full' ? 'shitate eval --model runs/faq/adapter --data data/val.jsonl' : `shitate eval --model ${M} --adapter runs/faq/adapter --data data/val.jsonl`,
      method === 'full' ? 'shitate chat --model runs/faq/adapter' : `shitate chat --model ${M} --adapter runs/faq/adapter`,
    ];
    case 'qlora': return [
      `shitate estimate --model ${M} --method qlora --tokens ${tokens}`,
      'shitate data prepare faq.csv --out data',
      `shitate chat --model ${M} --adapter ADAPTER_DIR`,
    ];
  }
}

/** Closed-service options of the kinds recommended (GPTs, Projects, Gems...), unless the data is confidential. */
function hostedOptions(recs: Recommendation[], i: AdviceInput, cat: Catalog): HostedOption[] {
  if (i.confidential) return [];
  const kinds = new Set(recs.filter((r) => r.level === 'recommended').map((r) => r.method));
  return cat.families.filter((f) => f.kind === 'closed').flatMap((f) => (f.customization ?? [])
    .filter((c) => kinds.has(c.kind === 'hosted-fine-tuning' ? 'lora' : c.kind))
    .map((c) => ({ service: f.name, name: c.name, kind: c.kind, summary: c.summary, source: c.source })));
}

/** `hf download` (huggingface_hub's command line) into the folder the commands name; once, with internet. */
export function downloadSteps(pick: ModelPick | undefined): ModelDownload | null {
  if (!pick?.hf) return null;
  const dir = `./${pick.id}`;
  return { repo: pick.hf, dir, commands: ['pip install -U huggingface_hub', `hf download ${pick.hf} --local-dir ${dir}`] };
}

export function buildAdvice(i: AdviceInput, cat: Catalog = loadCatalog()): Advice {
  const recommendations = rankMethods(i).map((s): Recommendation => {
    const models = s.method === 'qlora' && i.hardware === 'cpu' ? [] : suggestModels(i, s.method, cat);
    const cost = isTuning(s.method) ? tuningCost(s.method, i, models[0], cat) : FREE[s.method as keyof typeof FREE];
    return { ...s, level: levelOf(s.score), difficulty: DIFFICULTY[s.method], cost, models, commands: commands(s.method, i, models[0]) };
  });
  const local = recommendations.find((r) => r.level !== 'not-recommended' && r.models.length > 0);
  return { input: i, recommendations, download: downloadSteps(local?.models[0]), hosted: hostedOptions(recommendations, i, cat), catalogVersion: cat.version };
}
