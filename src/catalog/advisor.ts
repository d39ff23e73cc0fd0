// The method advisor: from the user's goal, data, confidentiality, budget, hardware and skill, ranks prompt
// engineering, an assistant profile, RAG, memory, LoRA, QLoRA and full fine-tuning with reasons. Pure: the
// scoring rules are a table of small functions, each adding points and the reason it gives.
import type { Purpose } from './gate.js';
import type { Text } from './types.js';
import { R } from './advisor-text.js';

export const GOALS = ['style', 'knowledge', 'fresh', 'personal'] as const;
export const BUDGETS = ['none', 'low', 'medium', 'high'] as const;
export const HARDWARE = ['cpu', 'gpu', 'cloud'] as const;
export const SKILLS = ['beginner', 'intermediate', 'advanced'] as const;
export const METHODS = ['prompt', 'assistant', 'rag', 'memory', 'lora', 'qlora', 'full'] as const;
export type Goal = (typeof GOALS)[number];
export type Budget = (typeof BUDGETS)[number];
export type Hardware = (typeof HARDWARE)[number];
export type Skill = (typeof SKILLS)[number];
export type Method = (typeof METHODS)[number];

export interface AdviceInput {
  /** tone/style/format, company knowledge, up-to-date facts, or remembering each user */
  goal: Goal;
  /** question/answer examples (or conversations) available for training */
  examples: number;
  /** the data must not leave the company's machines */
  confidential: boolean;
  budget: Budget;
  hardware: Hardware;
  /** GPU memory in GiB (gpu: required for sizing; cloud: what you would rent, default 24) */
  vramGb: number | null;
  /** this machine's memory in GiB (CPU training) */
  ramGb: number;
  skill: Skill;
  purpose: Purpose | null;
  /** the data and answers are Japanese (prefers models that handle Japanese) */
  japanese: boolean;
}

export type Level = 'recommended' | 'possible' | 'not-recommended';

export interface Reason {
  /** what the rule added to the score (negative: a reason against) */
  points: number;
  text: Text;
}

export interface Scored {
  method: Method;
  score: number;
  reasons: Reason[];
}

/** Difficulty in stars (1 = no code, 2 = some data work and commands, 3 = ML experience and big hardware). */
export const DIFFICULTY: Record<Method, 1 | 2 | 3> = { prompt: 1, assistant: 1, rag: 1, memory: 1, lora: 2, qlora: 2, full: 3 };

const BASE: Record<Method, number> = { prompt: 45, assistant: 40, rag: 20, memory: 5, lora: 30, qlora: 30, full: 0 };
export const RECOMMENDED_AT = 55;
export const POSSIBLE_AT = 35;
/** fewer examples than this and an adapter memorises instead of generalising */
export const MIN_EXAMPLES = 50;
/** from here on, fine-tuning reliably beats a prompt for style and format */
export const GOOD_EXAMPLES = 200;
/** full fine-tuning only pays off with a large dataset */
export const FULL_EXAMPLES = 10000;

type Rule = (i: AdviceInput) => [number, Text] | null;
const when = (cond: boolean, points: number, why: Text): [number, Text] | null => (cond ? [points, why] : null);
const isGpu = (i: AdviceInput) => i.hardware !== 'cpu';
const vram = (i: AdviceInput) => i.vramGb ?? (i.hardware === 'cloud' ? 24 : 0);
const tuning: Method[] = ['lora', 'qlora', 'full'];

/** the rules, per method; every rule that fires adds its points and its reason */
const RULES: Record<Method, Rule[]> = {
  prompt: [
    () => [0, R.promptBase],
    (i) => when(i.goal === 'style' && i.examples < GOOD_EXAMPLES, 20, R.promptStyleFew),
    (i) => when(i.goal === 'style' && i.examples >= GOOD_EXAMPLES, 5, R.promptStyleMany),
    (i) => when(i.goal === 'knowledge', -10, R.promptKnowledge),
    (i) => when(i.goal === 'fresh', -10, R.promptFresh),
    (i) => when(i.goal === 'personal', 5, R.promptPersonal),
    (i) => when(i.skill === 'beginner', 10, R.beginnerEasy),
    (i) => when(i.confidential, 5, R.localPrivate),
  ],
  assistant: [
    () => [0, R.assistantBase],
    (i) => when(i.goal === 'style', 15, R.assistantStyle),
    (i) => when(i.goal === 'knowledge', 10, R.assistantKnowledge),
    (i) => when(i.goal === 'fresh', 5, R.assistantKnowledge),
    (i) => when(i.goal === 'personal', 20, R.assistantPersonal),
    (i) => when(i.skill === 'beginner', 10, R.beginnerEasy),
    (i) => when(i.confidential, 5, R.localPrivate),
  ],
  rag: [
    () => [0, R.ragBase],
    (i) => when(i.goal === 'knowledge', 45, R.ragKnowledge),
    (i) => when(i.goal === 'fresh', 55, R.ragFresh),
    (i) => when(i.goal === 'style', -15, R.ragStyle),
    (i) => when(i.goal === 'personal', -5, R.ragPersonal),
    (i) => when(i.confidential, 5, R.localPrivate),
  ],
  memory: [
    () => [0, R.memoryBase],
    (i) => when(i.goal === 'personal', 60, R.memoryPersonal),
    (i) => when(i.goal !== 'personal', -5, R.memoryOther),
  ],
  lora: [
    () => [0, R.loraBase],
    ...tuningRules(),
    (i) => when(isGpu(i) && vram(i) < 16, -15, R.loraVramSmall),
    (i) => when(isGpu(i) && vram(i) >= 24, 5, R.loraVramOk),
    (i) => when(i.hardware === 'cpu', 0, R.loraCpu),
  ],
  qlora: [
    () => [0, R.qloraBase],
    ...tuningRules(),
    (i) => when(i.hardware === 'cpu', -100, R.qloraNeedsGpu),
    (i) => when(isGpu(i) && vram(i) < 16, 0, R.qloraVramSmall),
    (i) => when(isGpu(i) && vram(i) >= 24, -10, R.qloraVramBig),
  ],
  full: [
    () => [0, R.fullBase],
    (i) => when(i.skill === 'advanced', 20, R.tuningAdvanced),
    (i) => when(i.skill !== 'advanced', -40, R.fullSkill),
    (i) => when(i.examples >= FULL_EXAMPLES, 20, R.fullData),
    (i) => when(i.examples < FULL_EXAMPLES, -30, R.fullDataFew),
    (i) => when(isGpu(i) && vram(i) >= 80 && i.budget !== 'none', 20, R.fullHardware),
    (i) => when(!isGpu(i) || vram(i) < 80 || i.budget === 'none', -30, R.fullHardwareSmall),
    (i) => when(i.goal === 'fresh', -40, R.tuningFrozen),
  ],
};

/** data, goal, privacy, budget and skill rules that LoRA and QLoRA share (QLoRA is LoRA on a 4-bit base) */
function tuningRules(): Rule[] {
  return [
    (i) => when(i.examples < MIN_EXAMPLES, -35, R.tooFewExamples),
    (i) => when(i.goal === 'style' && i.examples >= MIN_EXAMPLES && i.examples < GOOD_EXAMPLES, 10, R.loraStyleSome),
    (i) => when(i.goal === 'style' && i.examples >= GOOD_EXAMPLES, 30, R.loraStyleMany),
    (i) => when(i.goal === 'style' && i.examples >= 1000, 10, R.loraStyleLots),
    (i) => when(i.goal === 'knowledge' && i.examples >= 300, 10, R.loraKnowledge),
    (i) => when(i.goal === 'knowledge' && i.examples < 300, -10, R.loraKnowledgeFew),
    (i) => when(i.goal === 'fresh', -40, R.tuningFrozen),
    (i) => when(i.goal === 'personal', -20, R.tuningPersonal),
    (i) => when(i.confidential && i.hardware !== 'cloud', 10, R.tuningLocal),
    (i) => when(i.confidential && i.hardware === 'cloud', -10, R.tuningCloudData),
    (i) => when(i.hardware === 'cloud' && i.budget === 'none', -15, R.cloudCosts),
    (i) => when(i.skill === 'beginner', -10, R.tuningBeginner),
    (i) => when(i.skill === 'advanced', 5, R.tuningAdvanced),
  ];
}

function score(method: Method, i: AdviceInput): Scored {
  let total = BASE[method];
  const reasons: Reason[] = [];
  for (const rule of RULES[method]) {
    const hit = rule(i);
    if (!hit) continue;
    total += hit[0];
    if (!reasons.some((r) => r.text === hit[1])) reasons.push({ points: hit[0], text: hit[1] });
  }
  return { method, score: total, reasons };
}

export function levelOf(score: number): Level {
  return score >= RECOMMENDED_AT ? 'recommended' : score >= POSSIBLE_AT ? 'possible' : 'not-recommended';
}

/** Every method, best first. Methods that do not apply at all (QLoRA without a GPU) stay in the list with
 *  their reason, so the advice can say why not. */
export function rankMethods(i: AdviceInput): Scored[] {
  return METHODS.map((m) => score(m, i)).sort((a, b) => b.score - a.score || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
}

export const isTuning = (m: Method): boolean => tuning.includes(m);
