// Opens a local HTML file in headless Chromium (Debian's /usr/bin/chromium, installed by
// `scripts/setup.sh --tests`) and reports what a reader would see: the platform fonts that drew a node's text,
// and a screenshot. Chromium never touches the network here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** Runs `f` on the page of `file`. */
export async function withPage<T>(file: string, f: (page: Page) => Promise<T>): Promise<T> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`bash scripts/setup.sh --tests\` (Debian: apt-get install -y chromium)`);
  const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-chromium-')), { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = await ctx.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return await f(page);
  } finally {
    await ctx.close();
  }
}

/** The platform font families that drew the text of the first node matching `selector` (DevTools' CSS domain). */
export async function fontsOf(page: Page, selector: string): Promise<{ familyName: string; glyphCount: number }[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  return fonts.map((f) => ({ familyName: f.familyName, glyphCount: f.glyphCount }));
}
