// `shitate advise`: asks (or takes as flags) the goal, data size, confidentiality, budget, hardware, skill
// and purpose, and prints ranked ways to customize a model with reasons, difficulty, rough cost, candidate
// models and the commands to start. `--models` prints the catalog instead. English or Japanese.
import readline from 'node:readline';
import os from 'node:os';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { BUDGETS, GOALS, HARDWARE, SKILLS, type AdviceInput } from '../catalog/advisor.js';
import { buildAdvice } from '../catalog/advice.js';
import { formatAdvice, formatCatalog } from '../catalog/advice-format.js';
import { PURPOSES } from '../catalog/gate.js';
import type { Lang, Text } from '../catalog/types.js';

const usage = `usage: shitate advise [--goal G] [--examples N] [--confidential yes|no] [--budget B] [--hardware H]
                      [--vram GB] [--skill S] [--purpose P] [--japanese yes|no] [--lang en|ja] [--yes] [--json]
       shitate advise --models [--lang en|ja] [--json]

Recommends how to customize a model for your goal: prompt engineering, an assistant profile, RAG over
your documents, long-term memory, LoRA, QLoRA or full fine-tuning, with reasons, difficulty (★☆☆ to ★★★),
a rough cost, candidate models and the shitate commands to start with. Questions not answered by flags are
asked on the terminal (or read one answer per line from piped input); --yes takes the defaults instead.

  --goal G          style (tone, format), knowledge (company documents), fresh (up-to-date facts),
                    personal (remember each user)
  --examples N      question/answer examples you have for training (0 if none)
  --confidential    yes: the data must not leave your machines
  --budget B        none, low, medium or high
  --hardware H      cpu, gpu (your own) or cloud (rented GPU);  --vram GB: its GPU memory
  --skill S         beginner (no code), intermediate (some code), advanced (ML experience)
  --purpose P       commercial, research, personal or none (filters models by licence)
  --japanese        yes: your data and answers are Japanese (default: yes with --lang ja)
  --lang en|ja      output language (default: from LANG)
  --models          list the model catalog: licences, commercial use, sizes, engine support
`;

interface Question {
  key: string;
  text: Text;
  choices?: readonly string[];
  numeric?: boolean;
  fallback: string;
  when?: (a: Record<string, string>) => boolean;
}

const QUESTIONS: Question[] = [
  { key: 'goal', choices: GOALS, fallback: 'style', text: { en: 'What should change? style = tone/format, knowledge = answer from company documents, fresh = up-to-date facts, personal = remember each user', ja: '何を変えたいですか? style=口調・形式、knowledge=社内文書に基づく回答、fresh=最新情報、personal=ユーザーごとの記憶' } },
  { key: 'examples', numeric: true, fallback: '0', text: { en: 'How many question/answer examples do you have for training? (0 if none)', ja: '学習に使える質問と回答の例は何件ありますか?(なければ 0)' } },
  { key: 'confidential', choices: ['yes', 'no'], fallback: 'yes', text: { en: 'Must the data stay on your own machines?', ja: 'データを社外(クラウドなど)に出してはいけませんか?(yes = 出せない)' } },
  { key: 'budget', choices: BUDGETS, fallback: 'none', text: { en: 'Budget for compute?', ja: '計算資源の予算は?' } },
  { key: 'hardware', choices: HARDWARE, fallback: 'cpu', text: { en: 'Hardware: cpu only, your own gpu, or a rented cloud GPU?', ja: 'ハードウェア: cpu のみ、自前の gpu、またはクラウド GPU(cloud)?' } },
  { key: 'vram', numeric: true, fallback: '24', when: (a) => a.hardware !== 'cpu', text: { en: 'GPU memory in GB?', ja: 'GPU メモリは何 GB ですか?' } },
  { key: 'skill', choices: SKILLS, fallback: 'intermediate', text: { en: 'Skill level: beginner (no code), intermediate (some code), advanced (ML experience)?', ja: 'スキル: beginner(コードなし)、intermediate(多少のコード)、advanced(機械学習の経験あり)?' } },
  { key: 'purpose', choices: [...PURPOSES, 'none'], fallback: 'commercial', text: { en: 'Purpose of the tuned model?', ja: '用途は?(commercial=商用、research=研究、personal=個人)' } },
];

function pick(q: Question, raw: string): string | null {
  const a = raw.trim().toLowerCase();
  if (a === '') return q.fallback;
  if (q.numeric) return /^\d+(\.\d+)?$/.test(a) ? a : null;
  const byNumber = /^\d+$/.test(a) ? q.choices?.[Number(a) - 1] : undefined;
  return byNumber ?? q.choices?.find((c) => c === a || c.startsWith(a)) ?? null;
}

/** Asks each question whose answer is missing, reading one line per answer (terminal or piped input).
 *  At end of input the remaining questions take their defaults. */
export async function askMissing(answers: Record<string, string>, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, lang: Lang): Promise<Record<string, string>> {
  const out = { ...answers };
  const todo = QUESTIONS.filter((q) => out[q.key] === undefined);
  if (todo.length === 0) return out;
  const rl = readline.createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  let ended = false;
  try {
    for (const q of todo) {
      if (q.when && !q.when(out)) continue;
      for (let tries = 0; out[q.key] === undefined; tries++) {
        if (ended) {
          out[q.key] = q.fallback;
          break;
        }
        const choices = q.choices ? ` [${q.choices.map((c, n) => `${n + 1}) ${c}`).join('  ')}]` : '';
        output.write(`${q.text[lang]}${choices} (${lang === 'ja' ? '既定' : 'default'}: ${q.fallback})\n> `);
        const next = await lines.next();
        if (next.done) {
          ended = true;
          continue;
        }
        const v = pick(q, next.value);
        if (v !== null) out[q.key] = v;
        else if (tries >= 2) throw new ShitateError('E_USAGE', `advise: expected ${q.choices ? `one of ${q.choices.join(', ')}` : 'a number'} for ${q.key}, found "${next.value}"`, 'answer with the number or the word shown');
      }
    }
  } finally {
    rl.close();
  }
  return out;
}

const yesNo = (key: string, v: string): boolean => {
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new ShitateError('E_USAGE', `advise: --${key} must be yes or no, found "${v}"`, `e.g. --${key} yes`);
};

function choice<T extends string>(key: string, v: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new ShitateError('E_USAGE', `advise: --${key} must be one of ${allowed.join(', ')}, found "${v}"`, 'run `shitate advise --help`');
}

function count(key: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ShitateError('E_USAGE', `advise: --${key} must be a number >= 0, found "${v}"`, `e.g. --${key} 500`);
  return n;
}

/** Validates the collected answers into the advisor's input. */
export function toInput(a: Record<string, string>, lang: Lang): AdviceInput {
  const hardware = choice('hardware', a.hardware, HARDWARE);
  const purpose = choice('purpose', a.purpose, [...PURPOSES, 'none']);
  return {
    goal: choice('goal', a.goal, GOALS),
    examples: Math.floor(count('examples', a.examples)),
    confidential: yesNo('confidential', a.confidential),
    budget: choice('budget', a.budget, BUDGETS),
    hardware,
    vramGb: hardware === 'cpu' || a.vram === undefined ? null : count('vram', a.vram),
    ramGb: Math.round(os.totalmem() / 2 ** 30),
    skill: choice('skill', a.skill, SKILLS),
    purpose: purpose === 'none' ? null : purpose,
    japanese: a.japanese === undefined ? lang === 'ja' : yesNo('japanese', a.japanese),
  };
}

export function defaultLang(env: NodeJS.ProcessEnv = process.env): Lang {
  return (env.LC_ALL ?? env.LANG ?? '').toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

function given(p: Parsed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [...QUESTIONS.map((q) => q.key), 'japanese']) {
    const v = flagStr(p, key);
    if (v !== undefined) out[key] = v.trim().toLowerCase();
  }
  return out;
}

export const advise: Command = {
  summary: 'which customization fits: prompt, assistant, RAG, memory, LoRA or full fine-tuning',
  async run(argv) {
    const spec = Object.fromEntries([...QUESTIONS.map((q) => q.key), 'japanese', 'lang'].map((k) => [k, { type: 'string' as const }]));
    const p = parseFlags('advise', argv, { ...spec, yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' }, models: { type: 'boolean' } });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const lang = choice('lang', flagStr(p, 'lang') ?? defaultLang(), ['en', 'ja'] as const);
    if (flagBool(p, 'models')) {
      process.stdout.write(formatCatalog(lang, flagBool(p, 'json')) + '\n');
      return 0;
    }
    let answers = given(p);
    if (flagBool(p, 'yes')) {
      for (const q of QUESTIONS) if (answers[q.key] === undefined && (!q.when || q.when(answers))) answers[q.key] = q.fallback;
    } else {
      answers = await askMissing(answers, process.stdin, process.stderr, lang);
    }
    const advice = buildAdvice(toInput(answers, lang));
    process.stdout.write((flagBool(p, 'json') ? JSON.stringify(advice, null, 2) : formatAdvice(advice, lang)) + '\n');
    return 0;
  },
};
