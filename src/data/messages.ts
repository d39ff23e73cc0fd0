// Every message the data check shows, in English and Japanese, keyed by a stable code: the terminal
// summary, the JSON report and the HTML report all render from this one table.
import type { Loc, ParamValue, Severity } from './types.js';
import { PREFERENCE_MESSAGES } from './preference-messages.js';

export type Lang = 'en' | 'ja';

/** title: heading for the group; detail: one occurrence ({name} is replaced by params); hint: what to do. */
interface Text {
  title: string;
  detail: string;
  hint: string;
}

interface Entry {
  severity: Severity;
  en: Text;
  ja: Text;
}

const t = (title: string, detail: string, hint: string): Text => ({ title, detail, hint });

const CATALOG = {
  // ---- the file as a whole ----
  binary_file: { severity: 'error',
    en: t('Not a text file', 'this is {kind}, not text', 'save the sheet as CSV (UTF-8) or .xlsx, or export the log as JSONL'),
    ja: t('テキストファイルではありません', '{kind}のようです（テキストではありません）', '表計算ソフトで「CSV UTF-8」か .xlsx として保存し直すか、ログを JSONL で書き出してください') },
  bad_encoding: { severity: 'error',
    en: t('Wrong text encoding', 'the bytes here are not valid {encoding}', 'pass the right encoding with --encoding (e.g. shift_jis, euc-jp, utf-8), or save the file as UTF-8'),
    ja: t('文字コードが合っていません', 'ここのバイト列は {encoding} として読めません', '--encoding で正しい文字コード（shift_jis、euc-jp、utf-8 など）を指定するか、UTF-8 で保存し直してください') },
  truncated: { severity: 'error',
    en: t('File is cut off', 'the file ends in the middle of {what}', 'the file was probably not copied or saved completely; export it again'),
    ja: t('ファイルが途中で切れています', '{what}の途中でファイルが終わっています', 'コピーや保存が途中で止まった可能性があります。もう一度書き出してください') },
  archive_too_large: { severity: 'error',
    en: t('Archive too large when unpacked', '{what}; the file was not read', 'do not open files of unknown origin; if this one is genuine, raise the limit (SHITATE_ZIP_MAX_MB, SHITATE_ZIP_MAX_ENTRIES) or split the workbook'),
    ja: t('展開後のサイズが大きすぎます', '{what}。ファイルは読み込んでいません', '出所の分からないファイルは開かないでください。正当なファイルなら上限（SHITATE_ZIP_MAX_MB、SHITATE_ZIP_MAX_ENTRIES）を上げるか、ブックを分割してください') },
  xlsx_unreadable: { severity: 'error',
    en: t('Excel file cannot be read', 'the workbook could not be opened ({reason})', 'open it in Excel and save it again as .xlsx; password-protected workbooks must be unlocked first'),
    ja: t('Excel ファイルを読めません', 'ブックを開けませんでした（{reason}）', 'Excel で開いて .xlsx として保存し直してください。パスワード付きのブックは解除してください') },
  sheet_missing: { severity: 'error',
    en: t('Sheet not found', 'there is no sheet "{sheet}"; the sheets are: {sheets}', 'choose one of the listed sheets with --sheet'),
    ja: t('シートが見つかりません', 'シート「{sheet}」はありません。あるシート: {sheets}', '--sheet で一覧のシートを指定してください') },
  column_missing: { severity: 'error',
    en: t('Column not found', 'there is no column "{column}"; the columns are: {columns}', 'pass a column name from the list (or a column number, 1 = first) to --{flag}'),
    ja: t('列が見つかりません', '列「{column}」がありません。ある列: {columns}', '--{flag} に一覧の列名（または列番号、1 が先頭）を指定してください') },
  columns_unknown: { severity: 'error',
    en: t('Question and answer columns unknown', 'cannot tell which column is the question and which the answer; first row: {columns}', 'name them, e.g. --question-col 質問 --answer-col 回答 (or column numbers: --question-col 1 --answer-col 2)'),
    ja: t('質問と回答の列がわかりません', 'どの列が質問でどの列が回答か判断できません。1 行目: {columns}', '例: --question-col 質問 --answer-col 回答（列番号でも可: --question-col 1 --answer-col 2）') },
  format_unknown: { severity: 'error',
    en: t('Unknown record format', 'cannot tell the format of this record; its keys are: {keys}', 'use "messages" (OpenAI chat), instruction/output (Alpaca), conversations (ShareGPT), prompt/completion or text, or pass --format'),
    ja: t('形式がわかりません', 'このレコードの形式を判断できません。キー: {keys}', '"messages"（OpenAI チャット）、instruction/output（Alpaca）、conversations（ShareGPT）、prompt/completion、text のいずれかにするか、--format を指定してください') },
  mixed_kinds: { severity: 'error',
    en: t('Chat and plain text mixed', '{chat} chat examples and {text} plain-text examples in one data set', 'prepare chat data (Q&A) and plain text (documents) separately; one training run uses one kind'),
    ja: t('会話データと文章データが混在しています', '会話形式 {chat} 件と文章形式 {text} 件が混ざっています', '会話（Q&A）と文章（マニュアル等）は別々に準備してください。1 回の学習ではどちらか一方を使います') },
  no_examples: { severity: 'error',
    en: t('No examples', 'no examples were found', 'check that the file is the right one and not empty'),
    ja: t('データがありません', '学習データが 1 件も見つかりませんでした', 'ファイルが正しいか、空でないか確認してください') },
  too_few_error: { severity: 'error',
    en: t('Far too few examples', 'only {count} {count|example|examples}; at least {min} are needed to train', 'collect more examples; a few hundred varied ones are a good start'),
    ja: t('データが少なすぎます', '{count} 件しかありません。学習には最低 {min} 件必要です', 'もっとデータを集めてください。内容の異なる数百件が目安です') },
  // ---- one example ----
  quote_merge: { severity: 'error',
    en: t('A quote swallowed the next row', 'a quote opens a cell in this row and closes only on line {end}, so the rows in between became part of this cell: this row reads "{first}", the next row "{next}"; the row was left out', 'remove the stray " (or close it in this row); a quoted cell that really spans lines is fine once its quotes are right'),
    ja: t('引用符が次の行を飲み込んでいます', 'この行のセルで始まった引用符が {end} 行目まで閉じられず、間の行がこのセルに入ってしまいました。この行:「{first}」、次の行:「{next}」。この行は除外しました', '余分な " を削除するか、この行の中で閉じてください。本当に複数行にわたるセルは、引用符が正しければ問題ありません') },
  bad_json: { severity: 'error',
    en: t('Broken JSON', 'this line is not valid JSON ({reason})', 'fix the line (often a missing quote or comma) or remove it'),
    ja: t('JSON が壊れています', 'この行は JSON として読めません（{reason}）', '引用符やカンマの抜けがよくある原因です。直すか削除してください') },
  not_object: { severity: 'error',
    en: t('Record is not an object', 'expected a JSON object {...}, found {found}', 'write one object per line'),
    ja: t('レコードがオブジェクトではありません', 'JSON オブジェクト {...} のはずが {found} でした', '1 行に 1 つのオブジェクトを書いてください') },
  format_mismatch: { severity: 'error',
    en: t('Format differs from the rest of the file', 'this record is {found}, the file is {expected}', 'use one format per file, or pass --format'),
    ja: t('ほかの行と形式が違います', 'このレコードは {found} 形式、ファイルは {expected} 形式です', '1 ファイル 1 形式にそろえるか、--format を指定してください') },
  missing_field: { severity: 'error',
    en: t('Missing field', '"{field}" is missing or not text', 'add the field; every example needs a question and an answer'),
    ja: t('項目が足りません', '「{field}」がないか、文字列ではありません', '項目を追加してください。どの例にも質問と回答が必要です') },
  empty_question: { severity: 'error',
    en: t('Empty question', 'the question (user turn) is empty', 'fill in the question or delete the row'),
    ja: t('質問が空です', '質問（ユーザーの発話）が空です', '質問を書くか、その行を削除してください') },
  empty_answer: { severity: 'error',
    en: t('Empty answer', 'the answer (assistant turn) is empty; the model would learn to say nothing', 'fill in the answer or delete the row'),
    ja: t('回答が空です', '回答（アシスタントの発話）が空です。このままだと「何も答えない」ことを学習します', '回答を書くか、その行を削除してください') },
  no_assistant: { severity: 'error',
    en: t('No answer turn', 'the conversation has no assistant turn, so there is nothing to learn', 'add the assistant\'s reply'),
    ja: t('回答がありません', '会話にアシスタントの発話がなく、学習するものがありません', 'アシスタントの返答を追加してください') },
  role_order: { severity: 'error',
    en: t('Turns in the wrong order', 'turn {turn} is "{role}" after "{previous}"', 'a conversation is: optional system first, then user and assistant taking turns'),
    ja: t('発話の順序が正しくありません', '{turn} 番目の発話が「{previous}」の次の「{role}」です', '会話は（任意で system が先頭）、その後 user と assistant が交互に並ぶ必要があります') },
  unknown_role: { severity: 'error',
    en: t('Unknown speaker role', 'turn {turn} has role "{role}"', 'use system, user or assistant (ShareGPT: human / gpt)'),
    ja: t('不明な話者', '{turn} 番目の発話の役割が「{role}」です', 'system、user、assistant のいずれかにしてください（ShareGPT なら human / gpt）') },
  // ---- warnings ----
  too_few: { severity: 'warning',
    en: t('Few examples', 'only {count} {count|example|examples}; fewer than {min} rarely teach a model much', 'add more varied examples, or consider a system prompt or retrieval (RAG) instead of training'),
    ja: t('データが少なめです', '{count} 件です。{min} 件未満では学習の効果が出にくいです', '内容の異なる例を増やすか、学習ではなくシステムプロンプトや検索（RAG）も検討してください') },
  ragged_row: { severity: 'warning',
    en: t('Extra cells in a row', 'this row has {found} cells but the header has {expected}; the extra cells are ignored', 'check for a stray delimiter (comma) inside an unquoted cell'),
    ja: t('列数が多い行', 'この行は {found} 列ですが見出しは {expected} 列です。余分なセルは無視しました', '引用符で囲まれていないセル内の区切り文字（カンマ）がないか確認してください') },
  last_turn_user: { severity: 'warning',
    en: t('Conversation ends with a question', 'the last turn is the user\'s; nothing is learned from it', 'add the answer or remove the last question'),
    ja: t('会話が質問で終わっています', '最後の発話がユーザーです。この部分からは何も学習しません', '回答を追加するか、最後の質問を削除してください') },
  duplicate: { severity: 'warning',
    en: t('Exact duplicates', 'the same example as {related}', 'duplicates make the model over-learn these answers; remove them (prepare --dedup does it)'),
    ja: t('完全な重複', '{related} と同じ内容です', '重複はその回答を過剰に学習させます。削除してください（prepare --dedup で自動削除できます）') },
  near_duplicate: { severity: 'warning',
    en: t('Near-duplicates', 'almost the same as {related} (similarity {similarity})', 'keep one version, or vary them on purpose; prepare --dedup keeps the first'),
    ja: t('ほぼ重複', '{related} とほぼ同じ内容です（類似度 {similarity}）', 'どちらか一方を残してください。prepare --dedup は最初の 1 件を残します') },
  conflict: { severity: 'warning',
    en: t('Same question, different answers', 'the question is the same as {related} (similarity {similarity}) but the answer differs', 'decide which answer is right; contradicting examples make the model unsure'),
    ja: t('同じ質問に違う回答', '{related} と同じ質問（類似度 {similarity}）ですが回答が違います', 'どちらの回答が正しいか決めてください。矛盾したデータはモデルを迷わせます') },
  number_conflict: { severity: 'warning',
    en: t('Same wording, different numbers', 'the question is the same as {related} (similarity {similarity}) and the answer has the same wording, but different numbers: {numbers} here, {other} there', 'numbers are facts (a price, date or count): decide which one is right and correct the other; prepare --dedup keeps both'),
    ja: t('同じ文面で数字だけが違う', '{related} と同じ質問（類似度 {similarity}）で回答の文面も同じですが、数字が違います: こちらは {numbers}、あちらは {other}', '数字は事実です（価格・日付・件数など）。どちらが正しいか決めて、もう一方を直してください（prepare --dedup は両方残します）') },
  template_numbers: { severity: 'info',
    en: t('Same wording, different numbers', '{share} of the examples ({count}) answer with the same wording and different numbers, e.g. "{sample}"; they count as different answers', 'each number is a fact the model must memorise: check them; for prices or dates that change, retrieval (RAG) or a lookup keeps answers right'),
    ja: t('同じ文面で数字だけが違う回答', '全体の {share}（{count} 件）が同じ文面で数字だけ違う回答です（例:「{sample}」）。別々の回答として数えています', '数字はモデルが覚えるべき事実です。正しいか確認してください。変わりうる価格や日付は検索（RAG）や参照で答える方が確実です') },
  too_long: { severity: 'warning',
    en: t('Longer than the model\'s context', '{tokens} tokens, over the limit of {limit}; the end will be cut off in training', 'shorten or split the example, or raise --max-tokens if you train with a longer max_seq_len'),
    ja: t('モデルの上限より長い', '{tokens} トークンで、上限 {limit} を超えています。学習時に末尾が切り捨てられます', '例を短くするか分割してください。学習の max_seq_len を長くする場合は --max-tokens も合わせてください') },
  template_no_system: { severity: 'error',
    en: t('No system role in the chat template', 'message {turn} is a system message, and this model\'s chat template refuses system messages ({reason})', 'put the system prompt at the start of the first question, followed by a blank line (what Gemma-3\'s template does itself), or leave it out; `shitate train` refuses this example'),
    ja: t('チャットテンプレートに system の役割がありません', '{turn} 番目のメッセージが system ですが、このモデルのチャットテンプレートは system メッセージを受け付けません（{reason}）', 'system プロンプトを最初の質問の先頭に置き、空行を挟んでください（Gemma-3 のテンプレート自体がそうしています）。または削除してください。`shitate train` はこの例で止まります') },
  template_drops_system: { severity: 'warning',
    en: t('System message left out by the chat template', 'message {turn} is a system message; this model\'s chat template writes nothing for it, so the model never sees it', 'put the system prompt at the start of the first question, followed by a blank line, if the model should follow it'),
    ja: t('チャットテンプレートが system メッセージを捨てます', '{turn} 番目のメッセージが system ですが、このモデルのテンプレートはそれを出力しないため、モデルには見えません', 'モデルに従わせたい場合は、system プロンプトを最初の質問の先頭に置き、空行を挟んでください') },
  template_refused: { severity: 'error',
    en: t('The chat template cannot train this example', '{reason}', 'fix the example as the reason says, or leave it out; `shitate train` refuses it with the same message'),
    ja: t('チャットテンプレートがこの例を学習できません', '{reason}', '理由に従って例を直すか、削除してください。`shitate train` も同じ理由でこの例を拒否します') },
  pii_email: { severity: 'warning',
    en: t('E-mail addresses', 'an e-mail address: {value}', 'remove personal addresses before training (prepare --redact-pii replaces them); put the company\'s own address or domain on the allowlist (--pii-allow info@example.co.jp, --pii-allow example.co.jp, or pii_allow in the --config file)'),
    ja: t('メールアドレス', 'メールアドレスがあります: {value}', '個人のアドレスは学習前に取り除いてください（prepare --redact-pii で置き換えられます）。自社のアドレスやドメインは許可リストに加えてください（--pii-allow info@example.co.jp、--pii-allow example.co.jp、または --config ファイルの pii_allow）') },
  pii_phone: { severity: 'warning',
    en: t('Phone numbers', 'a phone number: {value}', 'a customer\'s number must go (prepare --redact-pii replaces them); put the company\'s own public number on the allowlist so it is kept (--pii-allow 03-1234-5678, or pii_allow in the --config file)'),
    ja: t('電話番号', '電話番号があります: {value}', 'お客様の番号は削除してください（prepare --redact-pii で置き換えられます）。自社の代表番号は許可リストに加えると残せます（--pii-allow 03-1234-5678、または --config ファイルの pii_allow）') },
  pii_card: { severity: 'warning',
    en: t('Credit card numbers', 'a number that passes the credit card check: {value}', 'never train on card numbers; remove them (prepare --redact-pii replaces them)'),
    ja: t('クレジットカード番号', 'カード番号の検査に合う数字があります: {value}', 'カード番号は絶対に学習させないでください（prepare --redact-pii で置き換えられます）') },
  pii_my_number: { severity: 'warning',
    en: t('My Number (individual number)', 'a 12-digit number with a valid My Number check digit: {value}', 'My Number must not be used outside its legal purposes; remove it (prepare --redact-pii replaces it)'),
    ja: t('マイナンバー（個人番号）', 'マイナンバーの検査用数字に合う 12 桁の数字があります: {value}', 'マイナンバーは法律で利用目的が限られています。削除してください（prepare --redact-pii で置き換えられます）') },
  mojibake: { severity: 'warning',
    en: t('Garbled characters (mojibake)', 'looks garbled: "{sample}"', 'the text was decoded with the wrong encoding somewhere; export it again as UTF-8'),
    ja: t('文字化け', '文字化けしているようです:「{sample}」', 'どこかで文字コードを間違えて変換されています。UTF-8 で書き出し直してください') },
  control_chars: { severity: 'warning',
    en: t('Control characters', 'contains {count} {count|control character|control characters} ({names}), usually from a broken export; they are removed when the data is prepared', 'check the original for damage; prepare writes the text without them'),
    ja: t('制御文字', '制御文字が {count} 個あります（{names}）。書き出しの不具合が原因のことが多く、prepare では取り除きます', '元のデータが壊れていないか確認してください。prepare は制御文字を除いて書き出します') },
  replacement_char: { severity: 'warning',
    en: t('Lost characters (�)', 'contains {count} {count|replacement character|replacement characters} �, where characters were lost in a conversion', 'export the original again as UTF-8; the lost characters cannot be recovered from this file'),
    ja: t('失われた文字（�）', '変換で失われた文字（�）が {count} 個あります', '元のデータを UTF-8 で書き出し直してください。このファイルからは復元できません') },
  category_dominance: { severity: 'warning',
    en: t('One category dominates', 'category "{name}" is {share} of the examples ({shares})', 'the model will lean towards this topic; add examples of the other categories or sample fewer of this one'),
    ja: t('一つの分類に偏っています', '分類「{name}」が全体の {share} を占めています（{shares}）', 'モデルがこの話題に偏ります。ほかの分類の例を増やすか、この分類を減らしてください') },
  template_dominance: { severity: 'warning',
    en: t('One answer dominates', '{share} of the examples ({count}) have the same answer: "{sample}"', 'the model will give this answer to everything; keep a few of them and add varied answers'),
    ja: t('一つの回答に偏っています', '全体の {share}（{count} 件）が同じ回答です:「{sample}」', 'モデルが何にでもこの回答をするようになります。数件だけ残し、多様な回答を加えてください') },
  leakage: { severity: 'warning',
    en: t('Validation data leaks from training data', 'this validation example matches training example {related} (similarity {similarity})', 'remove it from one of the two sets; otherwise the validation score looks better than the model is'),
    ja: t('検証データが学習データと重複しています', 'この検証用の例は学習用の {related} と一致しています（類似度 {similarity}）', 'どちらか一方から削除してください。残すと検証のスコアが実力より良く見えます') },
  // ---- notes ----
  no_model: { severity: 'info',
    en: t('Lengths in characters', 'lengths are counted in characters; pass --model to count tokens and check them against the model\'s context', ''),
    ja: t('長さは文字数です', '長さは文字数で数えています。--model を指定するとトークン数で数え、モデルの上限と比べます', '') },
  near_dup_limit: { severity: 'info',
    en: t('Near-duplicate search was limited', 'the first {limit} distinct questions were kept for the near-duplicate search; later examples were compared with those but not with each other (exact duplicates and same questions: all)', ''),
    ja: t('ほぼ重複の検索を制限しました', 'ほぼ重複の検索用に保持したのは先頭 {limit} 件の質問です。それ以降の例はそれらとだけ比較し、互いには比較していません（完全な重複と同一の質問は全件を確認）', '') },
  pii_allowed: { severity: 'info',
    en: t('Company contacts kept (allowlist)', '{value}: found in {count} example(s); not reported as personal data and never redacted', ''),
    ja: t('自社の連絡先（許可リスト）', '{value}: {count} 件の例にあり、個人情報として扱わず置き換えもしません', '') },
  removed_duplicates: { severity: 'info',
    en: t('Duplicates removed', 'duplicate or near-duplicate examples left out of the output: {count}', ''),
    ja: t('重複を削除しました', '重複・ほぼ重複の {count} 件を出力から除きました', '') },
  removed_invalid: { severity: 'info',
    en: t('Broken examples skipped', 'examples with errors left out of the output: {count}', ''),
    ja: t('エラーのある例を除きました', 'エラーのある {count} 件を出力から除きました', '') },
  redacted: { severity: 'info',
    en: t('Personal data replaced', 'pieces of personal data replaced by placeholders such as [EMAIL]: {count}', ''),
    ja: t('個人情報を置き換えました', '{count} 個の個人情報を [EMAIL] などの記号に置き換えました', '') },
  ...PREFERENCE_MESSAGES,
} satisfies Record<string, Entry>;

export type MessageCode = keyof typeof CATALOG;

/** Labels of the report itself (headings, table columns), in the same two languages. */
const UI = {
  reportTitle: ['Training data check', '学習データのチェック'],
  // {where} is "above" in the terminal, where the verdict is the last line, and "below" at the top of the HTML page
  verdictOk: ['Ready to train: no blocking errors.', '学習に使えます（止めるべきエラーはありません）。'],
  verdictWarn: ['Ready to train, but read the {count} warning(s) {where}.', '学習に使えますが、{where}の警告（{count} 件）を確認してください。'],
  verdictError: ['Not ready: fix the {count} error(s) {where} first.', 'このままでは学習できません。先に{where}のエラー（{count} 件）を直してください。'],
  verdictSkipped: ['Training files written without the examples that have errors (listed {where}).', 'エラーのある例を除いて学習用ファイルを書き出しました（{where}に一覧があります）。'],
  above: ['above', '上'],
  below: ['below', '下'],
  files: ['Files', 'ファイル'],
  file: ['File', 'ファイル'],
  type: ['Type', '種類'],
  format: ['Format', '形式'],
  encoding: ['Encoding', '文字コード'],
  examples: ['Examples', '例の数'],
  countExamples: ['{count} {count|example|examples}', '{count} 件'],
  stats: ['Statistics', '統計'],
  totalTokens: ['Total tokens', '合計トークン数'],
  totalChars: ['Total characters', '合計文字数'],
  lengthTokens: ['Length (tokens)', '長さ（トークン）'],
  lengthChars: ['Length (characters)', '長さ（文字）'],
  mean: ['mean', '平均'],
  median: ['median', '中央値'],
  p95: ['95th percentile', '95 パーセンタイル'],
  max: ['max', '最大'],
  histogram: ['Length histogram', '長さの分布'],
  categories: ['Categories', '分類'],
  problems: ['Problems', '問題点'],
  noProblems: ['No problems found.', '問題は見つかりませんでした。'],
  errors: ['errors', 'エラー'],
  warnings: ['warnings', '警告'],
  notes: ['notes', 'メモ'],
  error: ['error', 'エラー'],
  warning: ['warning', '警告'],
  info: ['note', 'メモ'],
  where: ['Where', '場所'],
  what: ['What', '内容'],
  todo: ['What to do', '対処'],
  more: ['… and {count} more (all in the JSON report)', '…ほか {count} 件（すべて JSON レポートにあります）'],
  split: ['Split', '分割'],
  train: ['train', '学習用'],
  val: ['validation', '検証用'],
  written: ['Written', '書き出したファイル'],
} satisfies Record<string, [string, string]>;

export type UiKey = keyof typeof UI;

export function ui(key: UiKey, lang: Lang, params: Record<string, ParamValue> = {}): string {
  return fill(UI[key][lang === 'en' ? 0 : 1], params);
}

export const MESSAGE_CODES = Object.keys(CATALOG) as MessageCode[];

export function severityOf(code: MessageCode): Severity {
  return CATALOG[code].severity as Severity;
}

/** {name} is the param; {name|one|many} is the word for its number ("1 example", "2 examples"). */
function fill(template: string, params: Record<string, ParamValue>): string {
  return template.replace(/\{(\w+)(?:\|([^|{}]*)\|([^|{}]*))?\}/g, (m, k: string, one: string | undefined, many: string | undefined) => {
    if (!Object.hasOwn(params, k)) return m;
    return one === undefined ? String(params[k]) : Number(params[k]) === 1 ? one : many!;
  });
}

export function messageTitle(code: MessageCode, lang: Lang): string {
  return CATALOG[code][lang].title;
}

export function messageHint(code: MessageCode, lang: Lang): string {
  return CATALOG[code][lang].hint;
}

/** One occurrence in words; `related` (a Loc) is rendered in the same language, without its file
 *  name when it is in the same file as `here`. */
export function messageDetail(code: MessageCode, lang: Lang, params: Record<string, ParamValue>, related?: Loc, here?: Loc | null): string {
  const p: Record<string, ParamValue> = { ...params };
  // a param given in both languages ({kind_en, kind_ja}) fills {kind} in the chosen one
  for (const [k, v] of Object.entries(params)) if (k.endsWith(`_${lang}`)) p[k.slice(0, -3)] = v;
  if (related) p.related = formatLoc(related, lang, here?.file === related.file);
  return fill(CATALOG[code][lang].detail, p);
}

export function formatLoc(loc: Loc, lang: Lang, sameFile = false): string {
  if (lang === 'ja') return sameFile ? `${loc.n} 行目` : `${loc.file} ${loc.n} 行目`;
  return sameFile ? `${loc.unit} ${loc.n}` : `${loc.file} ${loc.unit} ${loc.n}`;
}

/** --lang wins; then LC_ALL / LC_MESSAGES / LANG; then the system locale. */
export function detectLang(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Lang {
  if (flag === 'ja' || flag === 'en') return flag;
  const envLocale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  if (envLocale && envLocale !== 'C' && envLocale !== 'POSIX') return envLocale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
  return Intl.DateTimeFormat().resolvedOptions().locale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}
