// Who may use the studio. On loopback (the default) only this machine can reach it, and requests must name
// a loopback host (a web page elsewhere cannot reach it through DNS rebinding). On any other address a
// login token printed in the terminal is required: `/?token=T` once sets an HttpOnly cookie, API clients
// may send `Authorization: Bearer T`. Writes from another origin are refused either way.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StudioError } from './errors.js';

export const COOKIE = 'shitate_studio';

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function cookieToken(req: Request): string | null {
  for (const part of (req.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return null;
}

function hostName(hostHeader: string): string {
  return hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.split(':')[0];
}

const LOOPBACK_NAMES = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/i;

export interface Gate {
  token: string | null;
  /** only loopback host names are accepted (the studio listens on loopback) */
  loopbackOnly: boolean;
}

export type GateResult = { ok: true } | { ok: false; response: Response };

function loginPage(): Response {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><title>shitate studio — login</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input{font:inherit;width:100%;padding:.5rem;margin:.5rem 0}button{font:inherit;padding:.5rem 1rem}</style>
<h1>shitate studio</h1><p>Paste the login token printed in the terminal where <code>shitate studio</code> runs.<br>ターミナルに表示されたログイン用トークンを貼り付けてください。</p>
<form method="get" action="/"><label for="t">Token / トークン</label><input id="t" name="token" autocomplete="off" required autofocus><button>Log in / ログイン</button></form></html>`;
  return new Response(html, { status: 401, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

export function checkRequest(req: Request, gate: Gate): GateResult {
  const url = new URL(req.url);
  const host = req.headers.get('host') ?? url.host;
  if (gate.loopbackOnly && !LOOPBACK_NAMES.test(hostName(host))) {
    throw new StudioError(403, 'bad_host', `expected a request to this machine (localhost), found one for ${host}`, 'open the address `shitate studio` printed');
  }
  const origin = req.headers.get('origin');
  if (req.method !== 'GET' && req.method !== 'HEAD' && origin && origin !== 'null' && new URL(origin).host !== host) {
    throw new StudioError(403, 'cross_origin', `expected a request from the studio's own page, found one from ${origin}`, 'use the studio page itself');
  }
  if (!gate.token) return { ok: true };
  const query = url.searchParams.get('token');
  if (url.pathname === '/' && query !== null) {
    if (!sameToken(query, gate.token)) return { ok: false, response: loginPage() };
    const cookie = `${COOKIE}=${encodeURIComponent(gate.token)}; Path=/; HttpOnly; SameSite=Strict`;
    return { ok: false, response: new Response(null, { status: 302, headers: { location: '/', 'set-cookie': cookie } }) };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1] ?? null;
  const given = bearer ?? cookieToken(req);
  if (given !== null && sameToken(given, gate.token)) return { ok: true };
  if (url.pathname.startsWith('/api/')) {
    throw new StudioError(401, 'login_required', 'expected the studio\'s login token, found none or another', 'open the address with ?token=... that `shitate studio` printed in the terminal');
  }
  return { ok: false, response: loginPage() };
}
