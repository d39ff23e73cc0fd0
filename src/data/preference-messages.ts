// The data check's messages about preference data (pairs for DPO, 👍/👎 judgments for KTO), in English and
// Japanese; merged into the one message table of messages.ts.
import type { Severity } from './types.js';

export interface Text {
  title: string;
  detail: string;
  hint: string;
}

const t = (title: string, detail: string, hint: string): Text => ({ title, detail, hint });
const entry = (severity: Severity, en: Text, ja: Text) => ({ severity, en, ja });

export const PREFERENCE_MESSAGES = {
  pref_mixed: entry('error',
    t('Preference kinds mixed', '{pairs} chosen/rejected pairs, {labels} judged answers and {plain} plain conversations in one data set', 'use one kind per training run: pairs (dpo, kto), judgments with "label" (kto) or conversations (SFT)'),
    t('選好データの種類が混在しています', '比較ペア {pairs} 件、評価つき回答 {labels} 件、通常の会話 {plain} 件が混ざっています', '1 回の学習では 1 種類にしてください: 比較ペア（dpo・kto）、label つきの評価（kto）、通常の会話（SFT）')),
  pref_no_prompt: entry('error',
    t('No prompt', 'the preference record has no prompt before the answers', 'give a "prompt" (or "messages") with the user\'s question; implicit prompts must be shared by chosen and rejected'),
    t('プロンプトがありません', '回答の前に質問（プロンプト）がありません', '"prompt"（または "messages"）にユーザーの質問を入れてください。chosen と rejected に共通の前半がプロンプトになります')),
  pref_empty: entry('error',
    t('Empty answer in a preference', 'the {side} answer is empty', 'write the answer, or leave the record out'),
    t('比較・評価の回答が空です', '{side} の回答が空です', '回答を書くか、その行を削除してください')),
  pref_identical: entry('error',
    t('Chosen and rejected are the same', 'the chosen and the rejected answer are identical, so there is no preference to learn', 'replace the rejected answer with the worse one, or leave the record out'),
    t('chosen と rejected が同じです', '良い回答（chosen）と悪い回答（rejected）が同一なので、学ぶべき違いがありません', 'rejected を劣る方の回答にするか、その行を削除してください')),
  pref_contradiction: entry('warning',
    t('Contradicting preferences', 'the same prompt and answers as {related}, with the opposite {what}', 'decide which judgment is right and remove the other; contradicting preferences cancel each other out'),
    t('矛盾する評価', '{related} と同じ質問・回答ですが、{what}が逆です', 'どちらの評価が正しいか決めて、もう一方を削除してください。矛盾した評価は互いに打ち消し合います')),
  pref_one_label: entry('warning',
    t('Only one kind of judgment', 'all {count} judged answers are {kind}: KTO learns from the contrast between good and bad answers', 'collect some answers of the other kind (👍 and 👎) before training with kto'),
    t('評価が一種類だけです', '評価つき回答 {count} 件がすべて{kind}です。KTO は良い回答と悪い回答の対比から学習します', 'kto で学習する前に、もう一方の評価（👍 と 👎）も集めてください')),
  pref_label_imbalance: entry('warning',
    t('Unbalanced judgments', '{desirable} desirable (👍) and {undesirable} undesirable (👎) answers ({share} desirable); KTO balances them with EITHER --desirable-weight in [{dlo}, {dhi}] OR --undesirable-weight in [{ulo}, {uhi}]', 'set one of the two weights in its range (the ranges TRL recommends), or collect more of the rarer kind'),
    t('評価の偏り', '良い回答（👍）{desirable} 件、悪い回答（👎）{undesirable} 件です（良い回答 {share}）。KTO では --desirable-weight を [{dlo}, {dhi}] にするか、--undesirable-weight を [{ulo}, {uhi}] にして釣り合わせます', 'どちらか一方の重みを範囲内にしてください（TRL の推奨範囲）。少ない方の評価を増やすのも有効です')),
} as const;
