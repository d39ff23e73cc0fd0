// What the demo says, in English and Japanese. {name} placeholders are filled by say().
import type { Lang } from '../data/messages.js';

const TEXT = {
  title: {
    en: 'shitate demo — from a company FAQ to a tuned chatbot, on this machine',
    ja: 'shitate デモ — 会社の FAQ から、このマシンだけでチャットボットを仕立てます',
  },
  plan: {
    en: 'model: {model}\ndata:  {data}\nSteps: check the data → prepare it → the FAQ as a knowledge base, examples with retrieved entries → LoRA training → evaluation with and without retrieval → questions.',
    ja: 'モデル: {model}\nデータ: {data}\n手順: データのチェック → 学習用データの作成 → FAQ をナレッジベースにし、検索結果入りの学習例を作成 → LoRA 学習 → 検索あり・なしの比較評価 → 質問',
  },
  step: { en: '\n[{n}/6] {name}', ja: '\n[{n}/6] {name}' },
  stepCheck: { en: 'Checking the data', ja: 'データのチェック' },
  stepPrepare: { en: 'Preparing training and validation files', ja: '学習用・検証用ファイルの作成' },
  stepKnowledge: { en: 'The FAQ as a knowledge base; training examples with what retrieval finds', ja: 'FAQ をナレッジベースに。検索結果を入れた学習例の作成' },
  knowledge: {
    en: 'knowledge base faq: {n} entries, one per row ({home}/kb/faq.sqlite)\n' +
      '{grounded} examples now hold the entries retrieval finds for their question ({sources} on average, as many as fit the model\'s context);\n' +
      '{withAnswer} answer from the right entry and cite it, {refused} learn to say the answer is not in the documents.',
    ja: 'ナレッジベース faq: {n} 件（1 行 1 件、{home}/kb/faq.sqlite）\n' +
      '学習例 {grounded} 件に、質問で検索した FAQ 項目を入れました（平均 {sources} 件、モデルの文脈に収まる分だけ）。\n' +
      '{withAnswer} 件は正しい項目から答えて番号で出典を示し、{refused} 件は「資料に答えがない」と答えることを学びます。',
  },
  stepTrain: { en: 'LoRA training', ja: 'LoRA 学習' },
  stepEval: {
    en: 'Evaluation on held-out questions: base and tuned, each without and with retrieval (+kb), and quoting what it found (+kb+quote)',
    ja: '評価: 学習に使っていない質問で、学習前・学習後を検索なし・あり（+kb）・検索した項目の引用あり（+kb+quote）で比較',
  },
  stepAsk: {
    en: 'Questions: the base model as it is, and the tuned assistant answering from the knowledge base',
    ja: '質問: 学習前のモデルと、ナレッジベースを検索して答える学習後のアシスタント',
  },
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
  question: { en: '\nQ: {q}', ja: '\n質問: {q}' },
  base: { en: '  base : {a}', ja: '  学習前: {a}' },
  tuned: { en: '  tuned+kb: {a}', ja: '  学習後+検索: {a}' },
  cited: { en: '  source: {row}', ja: '  出典: {row}' },
  notCited: { en: '  source: none cited (the prompt held {rows})', ja: '  出典: 示されず（プロンプトの資料: {rows}）' },
  summary: {
    en: `
Summary on {n} held-out questions
  retrieval: the right FAQ entry in the top 5 for {recall} of them, in the prompt for {inPrompt}
  character F1  base {base}  ·  tuned {tuned}  ·  base+retrieval {baseKb}  ·  tuned+retrieval {tunedKb}{quoted}
  Retrieval carries the facts; the tuning teaches the form: answer from the entries, cite one, stop, and
  say so when the answer is not there.`,
    ja: `
まとめ（学習に使っていない {n} 問）
  検索: 正しい FAQ 項目が上位 5 件に入った割合 {recall}、プロンプトに入った割合 {inPrompt}
  文字 F1  学習前 {base}  ·  学習後 {tuned}  ·  学習前+検索 {baseKb}  ·  学習後+検索 {tunedKb}{quoted}
  事実を運ぶのは検索です。学習が教えるのは形です: 資料から答え、出典を示し、止まり、答えがなければそう伝えること。`,
  },
  quoted: {
    en: `
  quoting the entries (source-anchored decoding, --quote {quote}): base+retrieval {baseKb}  ·  tuned+retrieval {tunedKb}
  (the model's words are steered onto the entries' own; where to start and when to stop, the model decides)`,
    ja: `
  資料を引用（ソース固定デコード、--quote {quote}）: 学習前+検索 {baseKb}  ·  学習後+検索 {tunedKb}
  （モデルの出力を検索した項目の文言に寄せます。どこから答え、どこで止めるかはモデルが決めます）`,
  },
  cut: { en: ' …(cut at {n} tokens)', ja: ' …（{n} トークンで打ち切り）' },
  next: {
    en: `
Next steps
  Chat with the tuned model:
    shitate chat --model {model} --adapter {adapter}
  An assistant with the tuned model and the knowledge base (the demo's project folder):
    SHITATE_HOME={home} shitate assistant new support --provider local --model {model} --adapter {adapter} --kb faq --language {language}{quoteFlag}
    SHITATE_HOME={home} shitate assistant chat support
  Your own data (CSV/Excel with question and answer columns, or JSONL):
    shitate data check your-faq.csv
    shitate data prepare your-faq.csv --out data/
    shitate demo --data your-faq.csv            (the whole story on your data)
  A real model from Hugging Face (download the folder once, then everything runs offline):
    hf download Qwen/Qwen2.5-0.5B-Instruct --local-dir models/qwen2.5-0.5b
    shitate demo --model models/qwen2.5-0.5b --data your-faq.csv
  The bundled shitate-mini is a tiny model for trying things out: it learns the style and wording of
  your answers, and with retrieval it cites the FAQ row it was given, but it cannot copy that entry's
  words by itself: its grounded answers above are right because the assistant quotes the retrieved
  entry for it (--quote). Tune a real model for production.
`,
    ja: `
次にできること
  学習したモデルと会話する:
    shitate chat --model {model} --adapter {adapter}
  学習したモデルとナレッジベースでアシスタントを作る（デモのプロジェクトフォルダ）:
    SHITATE_HOME={home} shitate assistant new support --provider local --model {model} --adapter {adapter} --kb faq --language {language}{quoteFlag}
    SHITATE_HOME={home} shitate assistant chat support
  自社のデータで試す（質問と回答の列がある CSV / Excel、または JSONL）:
    shitate data check your-faq.csv
    shitate data prepare your-faq.csv --out data/
    shitate demo --data your-faq.csv            （自社データで一通り実行）
  Hugging Face の本物のモデルを使う（フォルダを一度ダウンロードすれば、あとはオフラインで動きます）:
    hf download Qwen/Qwen2.5-0.5B-Instruct --local-dir models/qwen2.5-0.5b
    shitate demo --model models/qwen2.5-0.5b --data your-faq.csv
  同梱の shitate-mini はお試し用のとても小さなモデルです。回答の文体や言い回しは覚え、検索ありでは
  渡された FAQ の行を出典として示しますが、その項目の文言を自力で写すことはできません。上の検索ありの
  回答が正しいのは、アシスタントが検索した項目を引用させているためです（--quote）。本番では実際のモデルを
  学習させてください。
`,
  },
  total: { en: 'demo finished in {min} min {sec} s; everything is in {out}', ja: 'デモは {min} 分 {sec} 秒で終わりました。結果はすべて {out} にあります' },
} as const;

export type TextKey = keyof typeof TEXT;

export function say(key: TextKey, lang: Lang, params: Record<string, string | number> = {}): string {
  return TEXT[key][lang].replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}
