// Who may use the studio and what it serves: the page and its files from the package (no CDN), a login
// token off loopback, loopback host names only on loopback, no writes from other origins, no paths out of
// the static folder, and errors as messages without stack traces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, makeStudio, type TestStudio } from './helpers.js';

let open: TestStudio;
let guarded: TestStudio;
beforeAll(() => {
  open = makeStudio();
  guarded = makeStudio({ token: 'tok-123', loopbackOnly: false });
});
afterAll(async () => {
  await open.close();
  await guarded.close();
});

const get = (s: TestStudio, url: string, headers: Record<string, string> = {}) => s.handler(new Request(url, { headers }));

describe('the page', () => {
  it('serves the app shell with an import map of local files and a strict CSP', async () => {
    const r = await get(open, 'http://127.0.0.1/');
    const html = await r.text();
    expect(r.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('"preact":"/vendor/preact.mjs"');
    expect(html).not.toMatch(/https?:\/\/(?!127)/);
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
  });

  it('serves the app modules and the vendored libraries, with ETags', async () => {
    for (const p of ['/app/main.js', '/app/app.css', '/vendor/preact.mjs', '/vendor/preact-hooks.mjs', '/vendor/htm.mjs', '/vendor/uplot.mjs', '/vendor/uplot.css']) {
      const r = await get(open, `http://127.0.0.1${p}`);
      expect(r.status, p).toBe(200);
      const again = await get(open, `http://127.0.0.1${p}`, { 'if-none-match': r.headers.get('etag')! });
      expect(again.status, p).toBe(304);
    }
    const js = await get(open, 'http://127.0.0.1/app/main.js');
    expect(js.headers.get('content-type')).toContain('text/javascript');
  });

  it('never serves a file outside the static folder', async () => {
    for (const p of ['/app/../../package.json', '/app/%2e%2e/%2e%2e/package.json', '/app/..%2f..%2fpackage.json', '/vendor/../package.json', '/vendor/nope.mjs']) {
      const r = await get(open, `http://127.0.0.1${p}`);
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('"name": "shitate"');
    }
  });

  it('answers unknown API paths with a JSON error that says where the API is described', async () => {
    const r = await open.req('GET', '/api/nope');
    expect(r.status).toBe(404);
    expect(at<string>(r.json, 'error.hint')).toContain('docs/studio-api.md');
  });
});

describe('on loopback', () => {
  it('refuses requests for another host name (DNS rebinding) and writes from another origin', async () => {
    const rebind = await get(open, 'http://evil.example:8765/api/info', { host: 'evil.example:8765' });
    expect(rebind.status).toBe(403);
    const csrf = await open.req('POST', '/api/memory', { text: 'x' }, { origin: 'http://evil.example' });
    expect(csrf.status).toBe(403);
    expect(at(csrf.json, 'error.code')).toBe('cross_origin');
    expect((await open.req('GET', '/api/info', undefined, { host: 'localhost:8765' })).status).toBe(200);
  });
});

describe('off loopback', () => {
  it('needs the login token: 401 for the API, a login page for the page', async () => {
    const api = await guarded.req('GET', '/api/info');
    expect(api.status).toBe(401);
    expect(at(api.json, 'error.code')).toBe('login_required');
    const page = await get(guarded, 'http://10.0.0.5:8765/', { host: '10.0.0.5:8765' });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('name="token"');
    expect((await guarded.req('GET', '/api/info', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await guarded.req('GET', '/api/info', undefined, { authorization: 'Bearer tok-123' })).status).toBe(200);
  });

  it('turns ?token= into an HttpOnly cookie the page and its event streams then carry', async () => {
    const login = await get(guarded, 'http://10.0.0.5:8765/?token=tok-123', { host: '10.0.0.5:8765' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0];
    expect((await guarded.req('GET', '/api/info', undefined, { cookie: pair })).status).toBe(200);
    expect((await get(guarded, 'http://10.0.0.5:8765/?token=nope', { host: '10.0.0.5:8765' })).status).toBe(401);
  });
});

describe('errors', () => {
  it('become messages with a hint, never a stack trace', async () => {
    const bad = await open.req('POST', '/api/runs', { model: 42 });
    expect(bad.status).toBe(400);
    expect(at<string>(bad.json, 'error.message')).not.toMatch(/\n\s+at /);
    expect(at<string>(bad.json, 'error.hint')).not.toBe('');
  });
});
