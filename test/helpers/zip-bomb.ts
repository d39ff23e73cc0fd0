// Small generated zip bombs for the archive guards: a deflate stream of N MiB of zeros built from one
// repeated 1 KB block (so a 1 GB bomb takes a millisecond and a megabyte to make), wrapped in a zip whose
// directory may declare the true sizes or lie about them; plus archives with many tiny entries.
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** Raw deflate data that inflates to `mib` MiB of zero bytes. */
export function zerosDeflated(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: constants.Z_SYNC_FLUSH }); // byte-aligned, not final
  return Buffer.concat([...Array<Buffer>(mib).fill(block), Buffer.from([0x03, 0x00])]); // then an empty final block
}

export interface ZipEntry {
  name: string;
  /** raw deflate data */
  data: Buffer;
  /** the uncompressed size the directory states */
  size: number;
  crc?: number;
}

export const deflated = (name: string, content: string | Buffer): ZipEntry => {
  const raw = typeof content === 'string' ? Buffer.from(content) : content;
  return { name, data: deflateRawSync(raw), size: raw.length, crc: crc32(raw) };
};

/** A zip archive of the entries as given (sizes and CRCs as stated, true or not). */
export function zipOf(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(e.crc ?? 0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(8, 10);
    cen.writeUInt32LE(e.crc ?? 0, 16);
    cen.writeUInt32LE(e.data.length, 20);
    cen.writeUInt32LE(e.size, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    parts.push(local, name, e.data);
    central.push(cen, name);
    offset += 30 + name.length + e.data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

const CONTENT_TYPES = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>';

/** An .xlsx-looking archive whose first sheet inflates to `mib` MiB; `lie` declares 1 KB instead. */
export function xlsxBomb(mib: number, lie = false): Buffer {
  return zipOf([deflated('[Content_Types].xml', CONTENT_TYPES),
    { name: 'xl/worksheets/sheet1.xml', data: zerosDeflated(mib), size: lie ? 1024 : mib * 1024 * 1024 }]);
}

/** A .docx-looking archive whose document inflates to `mib` MiB. */
export function docxBomb(mib: number, lie = false): Buffer {
  return zipOf([deflated('[Content_Types].xml', CONTENT_TYPES),
    { name: 'word/document.xml', data: zerosDeflated(mib), size: lie ? 1024 : mib * 1024 * 1024 }]);
}

/** An archive of `n` empty entries. */
export function manyEntries(n: number): Buffer {
  const empty = deflated('x', '');
  return zipOf(Array.from({ length: n }, (_, i) => ({ ...empty, name: `f/${i}.xml` })));
}
