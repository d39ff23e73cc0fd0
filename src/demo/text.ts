// What the demo says, in English and Japanese. {name} placeholders are filled by say().
import type { Lang } from '../data/messages.js';

const TEXT = {
  title: {
    en: 'shitate demo — from a company FAQ to a tuned chatbot, on this machine',
    ja: 'shitate デモ — 会社の FAQ から、このマシンだけでチャットボットを仕立てます',
  },
  plan: {
    en: 'model: {model}\ndata:  {data}\nSteps: check the data → prepare it → LoRA training → base vs tuned evaluation → questions to both.',
    ja: 'モデル: {model}\nデータ: {data}\n手順: データのチェック → 学習用データの作成 → LoRA 学習 → 元のモデルとの比較評価 → 両方に質問',
  },
  step: { en: '\n[{n}/5] {name}', ja: '\n[{n}/5] {name}' },
  stepCheck: { en: 'Checking the data', ja: 'データのチェック' },
  stepPrepare: { en: 'Preparing training and validation files', ja: '学習用・検証用ファイルの作成' },
  stepTrain: { en: 'LoRA training', ja: 'LoRA 学習' },
  stepEval: { en: 'Evaluation: base model vs tuned adapter on held-out questions', ja: '評価: 学習前のモデルと学習後のアダプターを、学習に使っていない質問で比較' },
  stepAsk: { en: 'Questions to both models', ja: '両方のモデルに質問' },
  problemsIntro: {
    en: '\nFor comparison, the same check on a sheet with deliberate mistakes ({file}):',
    ja: '\n比較のため、わざと問題を入れたシート（{file}）も同じようにチェックします:',
  },
  prepared: { en: 'wrote {train} ({nTrain} examples) and {val} ({nVal} examples)', ja: '{train}（{nTrain} 件）と {val}（{nVal} 件）を書き出しました' },
  trainPlan: {
    en: 'LoRA r={r} on every linear layer, learning rate {lr}, up to {epochs} epochs{steps}; early stopping keeps the best adapter.',
    ja: 'LoRA r={r}（全線形層）、学習率 {lr}、最大 {epochs} エポック{steps}。早期終了で一番良いアダプターを残します。',
  },
  trainSteps: { en: ' (at most {n} steps)', ja: '（最大 {n} ステップ）' },
  trained: { en: 'adapter: {dir}  ({steps} steps, {sec} s)', ja: 'アダプター: {dir}（{steps} ステップ、{sec} 秒）' },
  heldoutFromVal: {
    en: 'no held-out file given: the validation split stands in for it',
    ja: '評価用ファイルの指定がないため、検証用データで評価します',
  },
  report: { en: 'report: {html}', ja: 'レポート: {html}' },
  verdictBetter: {
    en: 'The tuned adapter beats the base model on questions it never saw: loss {baseLoss} → {tunedLoss}, char F1 {baseF1} → {tunedF1}.',
    ja: '学習後のアダプターは、学習に使っていない質問で元のモデルを上回りました: loss {baseLoss} → {tunedLoss}、文字 F1 {baseF1} → {tunedF1}。',
  },
  verdictMixed: {
    en: 'Base vs tuned on held-out questions: loss {baseLoss} → {tunedLoss}, char F1 {baseF1} → {tunedF1} — not better on everything; see the report.',
    ja: '学習に使っていない質問での比較: loss {baseLoss} → {tunedLoss}、文字 F1 {baseF1} → {tunedF1}。すべてが改善したわけではありません。レポートを確認してください。',
  },
  question: { en: '\nQ: {q}', ja: '\n質問: {q}' },
  base: { en: '  base : {a}', ja: '  学習前: {a}' },
  tuned: { en: '  tuned: {a}', ja: '  学習後: {a}' },
  cut: { en: ' …(cut at {n} tokens)', ja: ' …（{n} トークンで打ち切り）' },
  next: {
    en: `
Next steps
  Chat with the tuned model:
    shitate chat --model {model} --adapter {adapter}
  Your own data (CSV/Excel with question and answer columns, or JSONL):
    shitate data check your-faq.csv
    shitate data prepare your-faq.csv --out data/
    shitate demo --data your-faq.csv            (the whole story on your data)
  A real model from Hugging Face (download the folder once, then everything runs offline):
    hf download Qwen/Qwen2.5-0.5B-Instruct --local-dir models/qwen2.5-0.5b
    shitate demo --model models/qwen2.5-0.5b --data your-faq.csv
  The bundled shitate-mini is a tiny model for trying things out: it learns the style and wording of
  your answers, but it is not a useful assistant. Tune a real model for production.
`,
    ja: `
次にできること
  学習したモデルと会話する:
    shitate chat --model {model} --adapter {adapter}
  自社のデータで試す（質問と回答の列がある CSV / Excel、または JSONL）:
    shitate data check your-faq.csv
    shitate data prepare your-faq.csv --out data/
    shitate demo --data your-faq.csv            （自社データで一通り実行）
  Hugging Face の本物のモデルを使う（フォルダを一度ダウンロードすれば、あとはオフラインで動きます）:
    hf download Qwen/Qwen2.5-0.5B-Instruct --local-dir models/qwen2.5-0.5b
    shitate demo --model models/qwen2.5-0.5b --data your-faq.csv
  同梱の shitate-mini はお試し用のとても小さなモデルです。回答の文体や言い回しは覚えますが、
  実用的なアシスタントにはなりません。本番では実際のモデルを学習させてください。
`,
  },
  total: { en: 'demo finished in {min} min {sec} s; everything is in {out}', ja: 'デモは {min} 分 {sec} 秒で終わりました。結果はすべて {out} にあります' },
} as const;

export type TextKey = keyof typeof TEXT;

export function say(key: TextKey, lang: Lang, params: Record<string, string | number> = {}): string {
  return TEXT[key][lang].replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}
