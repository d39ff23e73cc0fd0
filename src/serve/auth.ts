// Bearer API keys: optional; when any are configured, every /v1 and /admin request must carry one. Keys are
// compared through their SHA-256 digests in constant time, so neither length nor content leaks by timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class KeyRing {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((k) => k.length > 0).map(digest);
  }

  get empty(): boolean {
    return this.digests.length === 0;
  }

  has(key: string): boolean {
    const d = digest(key);
    let found = false;
    for (const k of this.digests) found = timingSafeEqual(k, d) || found; // check all: no early exit
    return found;
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
