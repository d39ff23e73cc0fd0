// The HTML reports name a font stack that has Japanese glyphs on Debian/Ubuntu, macOS and Windows: in headless
// Chromium on this Debian machine the Japanese headings are drawn with Noto Sans CJK JP (fonts-noto-cjk), not
// with a Latin font's missing-glyph boxes; a screenshot of the page is written.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/data/html.js';
import { FONT_STACK } from '../../src/data/html-fonts.js';
import { fontsOf, withPage } from '../helpers/chromium.js';
import { check, cleanFaq, csv, tempDir } from './helpers.js';

describe('HTML report fonts', () => {
  it('the stack names a Japanese font of each desktop system, before the generic family', () => {
    for (const family of ['Hiragino Sans', 'Yu Gothic UI', 'Meiryo', 'Noto Sans CJK JP']) expect(FONT_STACK).toContain(family);
    expect(FONT_STACK.endsWith('sans-serif')).toBe(true);
  });

  it('draws the Japanese report with a CJK font, and a screenshot shows it', async () => {
    const report = (await check('faq.csv', csv([['質問', '回答', '分類'], ...cleanFaq(30)]), { lang: 'ja' })).report;
    const dir = tempDir('shitate-fonts-');
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderHtml(report));
    const shot = path.join(dir, 'report.png');
    const fonts = await withPage(file, async (page) => {
      await page.screenshot({ path: shot, fullPage: true });
      return fontsOf(page, 'h1');
    });
    const cjk = fonts.filter((f) => /CJK|Hiragino|Yu Gothic|Meiryo|Source Han|IPA/.test(f.familyName));
    expect(cjk.length, `fonts used for the heading: ${JSON.stringify(fonts)}; install fonts-noto-cjk (scripts/setup.sh --tests)`).toBeGreaterThan(0);
    expect(cjk.reduce((s, f) => s + f.glyphCount, 0)).toBeGreaterThanOrEqual('学習データのチェック'.length);
    expect(fs.readFileSync(shot).subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
