// Font stacks of the HTML reports, so Japanese shows in real glyphs (not boxes) on every desktop: the UI
// font first, then a Japanese font each system ships — macOS (Hiragino), Windows (Yu Gothic UI, Meiryo),
// Debian/Ubuntu (Noto Sans CJK JP from fonts-noto-cjk) — and the generic family last. Browsers fall back per
// character, so Latin text keeps the UI font and each kana or kanji takes the first Japanese font present.

export const FONT_STACK = 'system-ui,-apple-system,"Segoe UI","Hiragino Sans","Hiragino Kaku Gothic ProN","Yu Gothic UI","Yu Gothic",Meiryo,'
  + '"Noto Sans CJK JP","Noto Sans JP","Source Han Sans JP","IPAexGothic",sans-serif';

export const MONO_STACK = 'ui-monospace,SFMono-Regular,Menlo,Consolas,"Noto Sans Mono CJK JP","BIZ UDGothic",monospace';
