// A folder as a .tar.gz download, streamed (a merged model is gigabytes: never built in memory). POSIX
// ustar: a 512-byte header per entry (name, mode, size, mtime in octal, checksum), the data padded to 512
// bytes, two zero blocks at the end; names over 100 bytes go into the 155-byte prefix field.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** Splits a path into ustar's prefix (<=155 bytes) and name (<=100 bytes) at a slash. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new Error(`tar: the path ${name} is too long for a ustar archive`);
}

export function tarHeader(name: string, size: number, mtime: number, dir: boolean): Buffer {
  const h = Buffer.alloc(BLOCK);
  const n = splitName(dir ? `${name}/` : name);
  h.write(n.name, 0, 100, 'utf8');
  h.write(octal(dir ? 0o755 : 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(dir ? 0 : size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum counted as spaces
  h.write(dir ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(n.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function* entries(root: string, rel = ''): Generator<{ rel: string; abs: string; dir: boolean }> {
  const abs = path.join(root, rel);
  for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      yield { rel: r, abs: path.join(root, r), dir: true };
      yield* entries(root, r);
    } else if (e.isFile()) {
      yield { rel: r, abs: path.join(root, r), dir: false };
    }
  }
}

async function* tarBytes(folder: string, top: string): AsyncGenerator<Buffer> {
  yield tarHeader(top, 0, fs.statSync(folder).mtimeMs, true);
  for (const e of entries(folder)) {
    const st = fs.statSync(e.abs);
    yield tarHeader(`${top}/${e.rel}`, st.size, st.mtimeMs, e.dir);
    if (e.dir) continue;
    for await (const chunk of fs.createReadStream(e.abs, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    const pad = (BLOCK - (st.size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** `folder` as a gzip-compressed tar whose entries sit under `top/`. */
export function tarGzStream(folder: string, top: string): ReadableStream<Uint8Array> {
  const gz = Readable.from(tarBytes(folder, top)).pipe(zlib.createGzip({ level: 6 }));
  return Readable.toWeb(gz) as ReadableStream<Uint8Array>;
}
