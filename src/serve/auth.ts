// Bearer API keys and whom they may act for. Keys are optional; when any are configured, every /v1 and
// /admin request must carry one. Keys are compared through their SHA-256 digests in constant time, so
// neither length nor content leaks by timing. A request's `user` field picks whose memory an assistant
// uses, so it counts only when the key is granted that user (key_users); a key without a grant gets no
// memory, and a key granted other users is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ShitateError } from '../errors.js';
import { countControls } from '../data/sanitize.js';
import { ApiError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The users a key may act for: a list (possibly empty), or '*' for a trusted backend that names its users. */
export type Grant = '*' | readonly string[];

/** Who sent a request: the matched key's position and grant, or `open` when the server has no keys. */
export type Principal = { open: true } | { open: false; key: number; grant: Grant };

export class KeyRing {
  private readonly digests: Buffer[];
  private readonly grants: Grant[];

  /** `keys` are accepted with no grant; every key of `grants` is accepted too, with its users. */
  constructor(keys: readonly string[], grants: ReadonlyMap<string, Grant> = new Map()) {
    const all = new Map<string, Grant>(keys.filter((k) => k.length > 0).map((k) => [k, []]));
    for (const [k, g] of grants) if (k.length > 0) all.set(k, g);
    this.digests = [...all.keys()].map(digest);
    this.grants = [...all.values()];
  }

  get empty(): boolean {
    return this.digests.length === 0;
  }

  /** Index of the matching key, or -1; every key is compared (no early exit). */
  private find(key: string): number {
    const d = digest(key);
    let found = -1;
    this.digests.forEach((k, i) => {
      if (timingSafeEqual(k, d) && found < 0) found = i;
    });
    return found;
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  grantOf(key: string): Grant | null {
    const i = this.find(key);
    return i < 0 ? null : this.grants[i];
  }

  /** The principal of a request already admitted by requireKey. */
  principal(req: Request): Principal {
    if (this.empty) return { open: true };
    const key = bearerKey(req) ?? '';
    const i = this.find(key);
    return { open: false, key: i, grant: i < 0 ? [] : this.grants[i] };
  }
}

/** The key of an `Authorization: Bearer KEY` header, or null. */
export function bearerKey(req: Request): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
  return m ? m[1] : null;
}

/** Throws 401 unless the request carries a key of the ring (an empty ring lets everything through). */
export function requireKey(req: Request, ring: KeyRing, what = 'an API key'): void {
  if (ring.empty) return;
  const key = bearerKey(req);
  if (key === null) {
    throw new ApiError(401, `You didn't provide an API key: expected ${what} in an "Authorization: Bearer KEY" header, found none`,
      { code: 'missing_api_key' });
  }
  if (!ring.has(key)) {
    throw new ApiError(401, `Incorrect API key provided: expected ${what} this server was configured with, found another`,
      { code: 'invalid_api_key' });
  }
}

/**
 * The user a request may act for (whose memory it gets), or undefined for none. Open servers (no keys)
 * trust the `user` field only when `trustOpen` (a server on this machine only); '*' keys name any user; a
 * key granted exactly one user acts for it even without the field; a key granted others is refused (403).
 */
export function actingUser(p: Principal, requested: string | undefined, trustOpen: boolean): string | undefined {
  if (p.open) return trustOpen ? requested : undefined;
  const g = p.grant;
  if (g === '*') return requested;
  if (requested === undefined) return g.length === 1 ? g[0] : undefined;
  if (g.length === 0) return undefined; // a key without a grant: the field is only a label, memory stays off
  if (g.includes(requested)) return requested;
  throw new ApiError(403, `user: this API key may act for ${g.map((u) => JSON.stringify(u)).join(', ')}, found ${JSON.stringify(requested)}`,
    { param: 'user', code: 'user_not_permitted' });
}

/** A key shown in messages: its first four characters only. */
const masked = (k: string): string => `${k.slice(0, 4)}…`;

/** key_users as resolved from the config (JSON text of {KEY: [users] | "*"}), checked. */
export function parseKeyUsers(json: string | null, where = 'key_users'): Map<string, Grant> {
  const out = new Map<string, Grant>();
  if (json === null) return out;
  const obj = JSON.parse(json) as Record<string, unknown>; // canonical JSON text from the config resolver
  for (const [key, v] of Object.entries(obj)) {
    const bad = (found: string): never => {
      throw new ShitateError('E_CONFIG', `${where}: the key ${masked(key)} must map to a list of user ids or "*", found ${found}`,
        'e.g. key_users: { "sk-alice-key": [alice], "sk-backend-key": "*" }');
    };
    if (key.trim() === '' || /\s/.test(key)) bad('a key with spaces or empty');
    if (v === '*') {
      out.set(key, '*');
      continue;
    }
    if (!Array.isArray(v)) bad(JSON.stringify(v));
    const users = v as unknown[];
    for (const u of users) {
      if (typeof u !== 'string' || u.trim() === '' || u.length > 200 || countControls(u).count > 0) bad(`the user ${JSON.stringify(u)}`);
    }
    out.set(key, users as string[]);
  }
  return out;
}
