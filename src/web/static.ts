// The page and its files, all served from this package (no CDN, works offline): the app's own ES modules
// and CSS from web/static/, and Preact, htm and uPlot straight from their installed npm packages, wired
// together with an import map. A Content-Security-Policy keeps everything same-origin.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

export const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

const require = createRequire(import.meta.url);
const pkgDir = (name: string): string => path.dirname(require.resolve(`${name}/package.json`));

/** URL → file of the vendored libraries (ES module builds). */
export function vendorFiles(): Record<string, string> {
  const htmDist = path.dirname(require.resolve('htm'));
  return {
    'preact.mjs': path.join(pkgDir('preact'), 'dist', 'preact.module.js'),
    'preact-hooks.mjs': path.join(pkgDir('preact'), 'hooks', 'dist', 'hooks.module.js'),
    'htm.mjs': path.join(htmDist, 'htm.module.js'),
    'uplot.mjs': path.join(pkgDir('uplot'), 'dist', 'uPlot.esm.js'),
    'uplot.css': path.join(pkgDir('uplot'), 'dist', 'uPlot.min.css'),
  };
}

const IMPORT_MAP = JSON.stringify({
  imports: { preact: '/vendor/preact.mjs', 'preact/hooks': '/vendor/preact-hooks.mjs', htm: '/vendor/htm.mjs', uplot: '/vendor/uplot.mjs' },
});
const MAP_HASH = createHash('sha256').update(IMPORT_MAP).digest('base64');

export const CSP = [
  "default-src 'self'", `script-src 'self' 'sha256-${MAP_HASH}'`, "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
].join('; ');

export function indexHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shitate studio</title>
<link rel="icon" href="/app/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/vendor/uplot.css">
<link rel="stylesheet" href="/app/app.css?v=${version}">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/app/main.js?v=${version}"></script>
</head>
<body>
<noscript>shitate studio needs JavaScript. / shitate studio には JavaScript が必要です。</noscript>
<div id="root"></div>
</body>
</html>
`;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.html': 'text/html; charset=utf-8', '.json': 'application/json',
};

function fileResponse(req: Request, file: string): Response {
  const st = fs.statSync(file);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers = { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', etag, 'cache-control': 'no-cache' };
  if (req.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers });
  return new Response(fs.readFileSync(file), { headers });
}

const notFound = () => new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });

export function staticRoutes(app: Hono, version: string): void {
  const vendor = vendorFiles();
  app.get('/', () => new Response(indexHtml(version), { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP, 'cache-control': 'no-cache' } }));
  app.get('/vendor/:name', (c) => {
    const file = vendor[c.req.param('name')];
    return file ? fileResponse(c.req.raw, file) : notFound();
  });
  app.get('/app/*', (c) => {
    const rel = decodeURIComponent(new URL(c.req.url).pathname.slice('/app/'.length));
    const file = path.resolve(STATIC_DIR, rel);
    // only files inside the static folder, never a path that climbs out of it
    if (!file.startsWith(STATIC_DIR + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return notFound();
    return fileResponse(c.req.raw, file);
  });
}
