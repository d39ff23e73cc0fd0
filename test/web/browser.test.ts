// The whole story in real Chromium (playwright-core, Debian's /usr/bin/chromium): drop the Shift_JIS FAQ
// files, see the planted problems, prepare, train on the bundled model while the curve updates, stop,
// reload, resume, compare base and tuned, chat with both and give a 👍, export the adapter. A screenshot of
// every page goes to test-output/studio/ (set STUDIO_SCREENSHOTS to write them elsewhere).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/serve/index.js';
import { tempDir } from '../helpers/tiny-model.js';
import { fakeRun, FAQ, makeStudio, ROOT, type TestStudio } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.STUDIO_SCREENSHOTS ?? path.join(ROOT, 'test-output', 'studio');

let s: TestStudio;
let server: RunningServer;
let ctx: BrowserContext;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`bash scripts/setup.sh --tests\``);
  fs.mkdirSync(SHOTS, { recursive: true });
  s = makeStudio();
  server = await listen(s.handler, { host: '127.0.0.1', port: 0 });
  ctx = await chromium.launchPersistentContext(tempDir('shitate-chromium-'), {
    executablePath: CHROMIUM, headless: true, locale: 'ja-JP', viewport: { width: 1360, height: 900 }, acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = ctx.pages()[0] ?? await ctx.newPage();
  page.setDefaultTimeout(90_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // the browser logs every 4xx/5xx fetch; those the tests provoke are checked where they happen
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push(`request off the studio: ${r.url()}`);
  });
}, 120_000);

afterAll(async () => {
  await ctx?.close();
  await server?.close();
  for (const id of s?.ctx.exits.keys() ?? []) await s.ctx.exits.get(id);
  await s?.close();
});

/** expect.poll with room for a busy 2-core machine (its default gives up after one second). */
const poll = <T>(f: () => Promise<T> | T, timeout = 60_000, message?: string) => expect.poll(f, { timeout, interval: 250, message });
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const go = async (hash: string) => {
  await page.goto(`${server.url}/#/${hash}`);
  await page.waitForLoadState('networkidle');
};

/** Drops a file on the drop zone the way a browser does (a DataTransfer with a File in a drop event). */
async function dropFile(file: string): Promise<void> {
  const bytes = fs.readFileSync(file).toString('base64');
  await page.evaluate(({ b64, name }) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bin], name, { type: 'text/csv' }));
    document.querySelector('[data-testid=dropzone]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { b64: bytes, name: path.basename(file) });
}

describe('shitate studio in Chromium', { timeout: 300_000 }, () => {
  it('opens in the browser\'s language, switches language, and works from the keyboard', async () => {
    await go('data');
    await poll(() => page.locator('[data-testid=nav-data]').innerText()).toContain('データ');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
    await page.locator('[data-testid=nav-method]').focus();
    await page.keyboard.press('Enter');
    await poll(() => page.evaluate(() => location.hash)).toBe('#/method');
    await page.getByRole('button', { name: 'English' }).click();
    await poll(() => page.locator('[data-testid=nav-data]').innerText()).toContain('Data');
  });

  it('shows the planted problems of the Shift_JIS sheet with row links, then prepares the FAQ', async () => {
    await go('data');
    await dropFile(path.join(FAQ, 'problems.csv'));
    await page.locator('[data-testid=report]').waitFor();
    for (const code of ['empty_question', 'empty_answer', 'duplicate', 'conflict', 'pii_email', 'pii_phone', 'pii_card', 'mojibake', 'ragged_row']) {
      await poll(() => page.locator(`li[data-code=${code}]`).count(), 60_000, code).toBe(1);
    }
    await page.locator('li[data-code=pii_email] summary').click();
    await page.locator('li[data-code=pii_email] button.link').first().click();
    await poll(() => page.locator('[data-testid=row-detail]').innerText()).toContain('morino.k@example.com');
    await shot('1-data-report');
    await page.locator('.upload input[type=checkbox]').first().uncheck();
    await page.locator('[data-testid=file-input]').setInputFiles(path.join(FAQ, 'faq.csv'));
    await poll(() => page.locator('.report .stats .big').first().innerText()).toBe('163');
    await page.locator('[data-testid=prepare]').click();
    await poll(() => page.locator('[data-testid=split]').innerText()).toMatch(/training 14\d/);
    await page.getByRole('button', { name: 'Show tokens' }).click();
    await page.locator('.tok.target').first().waitFor();
    expect(await page.locator('.tok.target').count()).toBeGreaterThan(10);
    await shot('2-data-prepared');
  });

  it('picks the model with its licence verdict, gets advice and an estimate', async () => {
    await go('method');
    await poll(() => page.locator('[data-testid=models]').innerText()).toContain('shitate-mini');
    await page.locator('[data-testid=advise]').click();
    await page.locator('[data-testid=advice] li').first().waitFor();
    await page.locator('[data-testid=estimate]').click();
    await page.locator('[data-testid=estimate-result]').waitFor();
    await shot('3-method');
  });

  it('trains with a live curve, stops, survives a reload, resumes and completes', async () => {
    await go('training');
    for (const [k, v] of Object.entries({ max_steps: '16', eval_every: '4', batch_tokens: '1024', max_seq_len: '256', learning_rate: '0.003', lora_r: '16', lora_alpha: '32' })) {
      await page.locator(`#set-${k}`).fill(v);
    }
    await page.locator('#start-name').fill('FAQ v1');
    await page.locator('[data-testid=start]').click();
    const view = page.locator('[data-testid=run-view]');
    await poll(() => view.getAttribute('data-status')).toBe('running');
    await poll(async () => Number((await page.locator('[data-testid=stat-step]').innerText()).split('/')[0]), 120_000).toBeGreaterThanOrEqual(4);
    const drawn = await page.evaluate(() => document.querySelectorAll('.chart canvas').length);
    expect(drawn).toBeGreaterThan(0);
    await shot('4-training-live');
    await page.locator('[data-testid=stop]').click();
    await poll(() => view.getAttribute('data-status'), 120_000).toBe('stopped');
    const stoppedAt = await page.locator('[data-testid=stat-step]').innerText();
    await page.reload();
    await poll(() => page.locator('[data-testid=run-view]').getAttribute('data-status')).toBe('stopped');
    expect(await page.locator('[data-testid=stat-step]').innerText()).toBe(stoppedAt);
    await page.locator('[data-testid=resume]').click();
    await poll(() => page.locator('[data-testid=run-view]').getAttribute('data-status'), 180_000).toBe('completed');
    await poll(() => page.locator('[data-testid=stat-step]').innerText()).toBe('16 / 16');
    await poll(() => page.locator('[data-testid=runs] tbody tr').count()).toBe(1);
    await shot('5-training-done');
    // a second run that over-fitted and stopped early: its warnings sit on its curve, and the two compare
    fakeRun(s, { train: path.join(FAQ, 'heldout.jsonl'), val: null }, 2, true);
    await poll(() => page.locator('[data-testid=runs] tbody tr').count()).toBe(2);
    await page.locator('[data-testid=runs] a', { hasText: 'fake 2' }).click();
    await poll(() => page.locator('[data-testid=run-notices]').innerText()).toMatch(/over-fitting @ 12[\s\S]*early stop @ 16/);
    await page.locator('[data-testid=runs] tbody input[type=checkbox]').nth(0).check();
    await page.locator('[data-testid=runs] tbody input[type=checkbox]').nth(1).check();
    await poll(() => page.locator('[data-testid=compare]').innerText()).toContain('learningRate');
    await shot('5b-training-compare');
  });

  it('compares base and tuned on the held-out questions', async () => {
    await go('evaluation');
    await page.locator('#eval-data').selectOption({ index: 1 });
    await page.locator('#eval-limit').fill('3');
    await page.locator('#eval-max').fill('48');
    await page.locator('[data-testid=start-eval]').click();
    await poll(() => page.locator('[data-testid=eval-view]').getAttribute('data-status'), 180_000).toBe('completed');
    await page.locator('[data-testid=metrics]').waitFor();
    expect(await page.locator('[data-testid=questions] > li').count()).toBe(3);
    await shot('6-evaluation');
  });

  it('chats with both side by side and saves a 👍 as preference data', async () => {
    await go('playground');
    await page.locator('#pg-max_tokens').fill('24');
    await page.locator('#pg-prompt').fill('送料はいくらですか？');
    await page.locator('[data-testid=send]').click();
    for (const side of ['base', 'tuned']) {
      await page.locator(`[data-testid=pane-${side}] .msg.assistant [data-testid=thumb-up]`).waitFor();
    }
    await page.locator('[data-testid=pane-tuned] [data-testid=thumb-up]').click();
    await poll(() => page.locator('[data-testid=feedback-count]').innerText()).toMatch(/: 1,/);
    const saved = fs.readFileSync(path.join(s.dir, 'feedback', 'preferences.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: boolean; prompt: { content: string }[] });
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ label: true, prompt: [{ role: 'user', content: '送料はいくらですか？' }] });
    await shot('7-playground');
  });

  it('manages assistants, grounded in a knowledge base and quoting it', async () => {
    // a knowledge base for the assistant to draw on (added through the studio's API; the page lists it)
    const kb = await s.req('POST', `/api/kb/faq/files?file=${encodeURIComponent('配送.md')}`, '# 配送\n送料は全国一律550円（税込）です。\n');
    expect(kb.status).toBe(201);
    await go('assistants');
    await page.getByRole('button', { name: 'New assistant' }).click();
    await page.locator('#as-id').fill('support');
    await page.locator('#as-instructions').fill('You answer for Morinos support.');
    expect(await page.locator('#as-quote').count()).toBe(0); // quoting needs a knowledge base
    await page.locator('label.check', { hasText: 'faq' }).locator('input').check();
    await page.locator('#as-quote').fill('10');
    await page.locator('#as-kind').selectOption('openai');
    await poll(() => page.locator('#as-quote').count()).toBe(0); // and a local model: a hosted one gives no logits
    await page.locator('#as-kind').selectOption('local');
    await page.locator('#as-quote').fill('10');
    await page.getByRole('button', { name: 'Save' }).click();
    await poll(() => page.locator('ul.plain').first().innerText()).toContain('support');
    await poll(() => page.locator('[data-testid=as-budgets]').innerText()).toMatch(/^Context \d+ tokens: system prompt \d+, reply \d+, each turn \d+/);
    const saved = await s.req('GET', '/api/assistants/support');
    expect((saved.json.profile as { knowledge: unknown }).knowledge).toMatchObject({ bases: ['faq'], quote: 10 });
    await shot('8-assistants');
  });

  it('exports the adapter and downloads it', async () => {
    await go('export');
    await page.locator('[data-testid=export-adapter] button').click();
    const link = page.locator('[data-testid=exports] [data-testid=download]').first();
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/-adapter\.tar\.gz$/);
    await shot('9-export');
    await page.getByRole('button', { name: '日本語' }).click();
    await go('training');
    await poll(() => page.locator('[data-testid=run-view]').innerText()).toContain('ステップ');
    await shot('10-training-ja');
  });

  it('shows server errors as messages with what to do, never a stack trace', async () => {
    await go('data');
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.alloc(0) });
    const notice = page.locator('[data-testid=notice].error').first();
    await notice.waitFor();
    const text = await notice.innerText();
    expect(text).toMatch(/body: expected/);
    expect(text).toMatch(/What to do|対処/);
    expect(text).not.toMatch(/\n\s+at |Error:/);
    expect(problems).toEqual([]);
  });
});
