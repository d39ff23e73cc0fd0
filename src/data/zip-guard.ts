// Zip bombs: XLSX and DOCX files are zip archives, and a 1 MB archive can unpack to gigabytes. Before a
// parser inflates anything, the central directory is read (entry count, declared sizes) and every entry
// is inflated once as a stream that only counts bytes, stopping at the limit, so neither a false declared
// size nor overlapping entries get past it. Limits come from options or SHITATE_ZIP_MAX_MB /
// SHITATE_ZIP_MAX_ENTRIES.
import { createInflateRaw } from 'node:zlib';

export interface ZipLimits {
  /** most bytes all entries together may unpack to */
  maxBytes: number;
  /** most entries the archive may hold */
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 10_000 };

/** The limits with SHITATE_ZIP_MAX_MB and SHITATE_ZIP_MAX_ENTRIES applied (ignored unless positive numbers). */
export function zipLimitsFromEnv(env: NodeJS.ProcessEnv = process.env, base: ZipLimits = DEFAULT_ZIP_LIMITS): ZipLimits {
  const mb = Number(env.SHITATE_ZIP_MAX_MB);
  const entries = Number(env.SHITATE_ZIP_MAX_ENTRIES);
  return {
    maxBytes: Number.isFinite(mb) && mb > 0 ? Math.round(mb * 1024 * 1024) : base.maxBytes,
    maxEntries: Number.isInteger(entries) && entries > 0 ? entries : base.maxEntries,
  };
}

/** Why an archive is refused, with the numbers (for messages in either language). */
export interface ZipRefusal {
  what: 'entries' | 'bytes';
  found: number;
  limit: number;
  /** the sizes were checked by unpacking (true) or read from the directory (false) */
  measured: boolean;
}

interface Entry { method: number; compressed: number; size: number; local: number }

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The central directory's entries, or null when the bytes are not a readable zip (the parser says why). */
function centralDirectory(b: Buffer): { count: number; entries: () => Entry[] } | null {
  let at = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === EOCD) { at = i; break; }
  }
  if (at < 0) return null;
  let count = b.readUInt16LE(at + 10);
  let offset = b.readUInt32LE(at + 16);
  if ((count === 0xffff || offset === 0xffffffff) && at >= 20 && b.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
    const z = Number(b.readBigUInt64LE(at - 20 + 8));
    if (z + 56 > b.length) return null;
    count = Number(b.readBigUInt64LE(z + 32));
    offset = Number(b.readBigUInt64LE(z + 48));
  }
  const entries = (): Entry[] => {
    const out: Entry[] = [];
    let p = offset;
    for (let n = 0; n < count && p + 46 <= b.length && b.readUInt32LE(p) === CENTRAL; n++) {
      const e = { method: b.readUInt16LE(p + 10), compressed: b.readUInt32LE(p + 20), size: b.readUInt32LE(p + 24), local: b.readUInt32LE(p + 42) };
      const [nameLen, extraLen, commentLen] = [b.readUInt16LE(p + 28), b.readUInt16LE(p + 30), b.readUInt16LE(p + 32)];
      zip64Sizes(b, p + 46 + nameLen, extraLen, e);
      out.push(e);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return out;
  };
  return { count, entries };
}

/** ZIP64 extra field (id 1): 64-bit sizes and offset for the fields that hold 0xffffffff. */
function zip64Sizes(b: Buffer, start: number, len: number, e: Entry): void {
  for (let p = start; p + 4 <= start + len && p + 4 <= b.length;) {
    const [id, size] = [b.readUInt16LE(p), b.readUInt16LE(p + 2)];
    if (id === 1) {
      let q = p + 4;
      for (const k of ['size', 'compressed', 'local'] as const) {
        if (e[k] === 0xffffffff && q + 8 <= p + 4 + size) {
          e[k] = Number(b.readBigUInt64LE(q));
          q += 8;
        }
      }
    }
    p += 4 + size;
  }
}

/** Bytes one deflated entry unpacks to, counted without keeping them; stops once past `budget`. */
function inflatedSize(data: Buffer, budget: number): Promise<number> {
  return new Promise((resolve) => {
    const z = createInflateRaw();
    let n = 0;
    const done = (): void => resolve(n);
    z.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > budget) {
        z.removeAllListeners('end');
        z.destroy();
        done();
      }
    });
    z.on('end', done);
    z.on('error', done); // damaged data: the parser reports it; only the size matters here
    z.end(data);
  });
}

/** null when the archive stays within `limits`, else what it exceeds. Never inflates more than the limit. */
export async function checkZip(bytes: Uint8Array, limits: ZipLimits): Promise<ZipRefusal | null> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dir = centralDirectory(b);
  if (!dir) return null;
  if (dir.count > limits.maxEntries) return { what: 'entries', found: dir.count, limit: limits.maxEntries, measured: false };
  const entries = dir.entries();
  const declared = entries.reduce((s, e) => s + e.size, 0);
  if (declared > limits.maxBytes) return { what: 'bytes', found: declared, limit: limits.maxBytes, measured: false };
  let total = 0;
  for (const e of entries) {
    if (e.local + 30 > b.length || b.readUInt32LE(e.local) !== LOCAL) continue;
    const start = e.local + 30 + b.readUInt16LE(e.local + 26) + b.readUInt16LE(e.local + 28);
    const data = b.subarray(start, start + e.compressed);
    total += e.method === 8 ? await inflatedSize(data, limits.maxBytes - total) : e.method === 0 ? data.length : e.size;
    if (total > limits.maxBytes) return { what: 'bytes', found: total, limit: limits.maxBytes, measured: true };
  }
  return null;
}

const mb = (n: number): string => (n >= 1024 * 1024 * 1024 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${(n / 1024 ** 2).toFixed(1)} MB`);

/** The refusal in words: "unpacks to more than 256.0 MB (limit 256.0 MB)", "holds 50000 entries (limit 10000)". */
export function describeRefusal(r: ZipRefusal): { en: string; ja: string; hint: string } {
  if (r.what === 'entries') {
    return { en: `the archive holds ${r.found} entries, more than the limit of ${r.limit}`, ja: `アーカイブに ${r.found} 個のファイルがあり、上限 ${r.limit} を超えています`,
      hint: `if the file is genuine, raise the limit with SHITATE_ZIP_MAX_ENTRIES=${r.found}` };
  }
  const en = r.measured ? `the archive unpacks to more than the limit of ${mb(r.limit)} (its directory claims less; counting stopped at the limit)`
    : `the archive unpacks to ${mb(r.found)}, more than the limit of ${mb(r.limit)}`;
  const ja = r.measured ? `展開すると上限 ${mb(r.limit)} を超えます（目録の記載より大きく、上限で数えるのを止めました）`
    : `展開すると ${mb(r.found)} になり、上限 ${mb(r.limit)} を超えます`;
  return { en: `${en}: a zip bomb, or a very large document`, ja: `${ja}。zip 爆弾か、非常に大きな文書です`,
    hint: `if the file is genuine, raise the limit with SHITATE_ZIP_MAX_MB=${Math.ceil((r.measured ? r.limit * 4 : r.found) / 1024 / 1024)}` };
}
