// The company's own public contacts, which are not personal data: e-mail addresses, whole domains and phone
// numbers that check leaves unreported and prepare --redact-pii leaves in place. Card numbers and My Numbers
// are never allowed. Entries come from --pii-allow and the `pii_allow` list of a --config YAML file.
import { ShitateError } from '../errors.js';
import { foldWidth, type PiiHit } from './pii.js';

export interface PiiAllowlist {
  /** the entries as the user wrote them, in order (shown in the report) */
  entries: string[];
  /** canonical e-mail address -> entry */
  emails: Map<string, string>;
  /** domain without "@" (lower case) -> entry; a subdomain matches too */
  domains: Map<string, string>;
  /** canonical phone digits -> entry */
  phones: Map<string, string>;
}

export const EMPTY_ALLOWLIST: PiiAllowlist = { entries: [], emails: new Map(), domains: new Map(), phones: new Map() };

const EMAIL = /^[a-z0-9._%+-]+@([a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,})$/;
const DOMAIN = /^@?([a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,})$/;

/** A phone number as digits, with a Japanese +81 number written the domestic way (+81 3 ... = 03 ...). */
export function phoneKey(s: string): string {
  const folded = foldWidth(s.normalize('NFKC'));
  const digits = folded.replace(/\D/g, '');
  if (/^\s*\+/.test(folded)) {
    // +81 (0)3-1234-5678 and +81 3-1234-5678 are both 03-1234-5678
    return digits.startsWith('81') ? `0${digits.slice(2).replace(/^0/, '')}` : `+${digits}`;
  }
  return digits;
}

const emailKey = (s: string): string => foldWidth(s.normalize('NFKC')).trim().toLowerCase();

/** Reads the entries; a value that is neither an address, a domain nor a phone number is refused. */
export function parseAllowlist(entries: readonly string[], where = '--pii-allow'): PiiAllowlist {
  const out: PiiAllowlist = { entries: [], emails: new Map(), domains: new Map(), phones: new Map() };
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const key = emailKey(entry);
    const digits = phoneKey(entry).replace(/\D/g, '').length;
    if (EMAIL.test(key)) out.emails.set(key, entry);
    else if (DOMAIN.test(key)) out.domains.set(key.replace(/^@/, ''), entry);
    else if (/^[+\d\s()\-.\u2010-\u2015\u2212\u30fc\uff0b\uff08\uff09\uff10-\uff19\uff0d]+$/.test(entry) && digits >= 8 && digits <= 15) out.phones.set(phoneKey(entry), entry);
    else {
      throw new ShitateError('E_USAGE', `${where}: expected an e-mail address, a domain or a phone number of the company, found "${entry}"`,
        'e.g. --pii-allow info@example.co.jp --pii-allow example.co.jp --pii-allow 03-1234-5678');
    }
    if (!out.entries.includes(entry)) out.entries.push(entry);
  }
  return out;
}

/** The allowlist entry that covers this hit, or null (cards and My Numbers: always null). */
export function allowedBy(h: PiiHit, a: PiiAllowlist): string | null {
  if (h.kind === 'email') {
    const key = emailKey(h.value);
    const exact = a.emails.get(key);
    if (exact !== undefined) return exact;
    let domain = key.slice(key.indexOf('@') + 1);
    for (;;) {
      const entry = a.domains.get(domain);
      if (entry !== undefined) return entry;
      const dot = domain.indexOf('.');
      if (dot < 0) return null;
      domain = domain.slice(dot + 1);
    }
  }
  if (h.kind === 'phone') return a.phones.get(phoneKey(h.value)) ?? null;
  return null;
}
