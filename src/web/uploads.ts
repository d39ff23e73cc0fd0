// Files dropped on the page: the request body is streamed into uploads/<id>/<name> through a temp file and a
// rename (never held in memory whole, never half-written), with a size limit. The studio only reads them
// afterwards; the user's own copies are untouched.
import fs from 'node:fs';
import path from 'node:path';
import type { StudioContext } from './context.js';
import { badField, StudioError } from './errors.js';
import { readJson, writeJson } from './workspace.js';

export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export interface Upload {
  id: string;
  name: string;
  size: number;
  path: string;
  createdAt: string;
}

/** A file name safe to store: the last path segment, no control characters, at most 120 characters. */
export function safeName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? '';
  const clean = [...base].map((ch) => (ch.charCodeAt(0) < 32 || '<>:"|?*'.includes(ch) ? '_' : ch)).join('').replace(/^\.+/, '').trim().slice(-120);
  if (!clean) throw badField('name', 'a file name', raw, 'drop a file with a name, e.g. faq.csv');
  return clean;
}

async function streamToFile(body: ReadableStream<Uint8Array>, file: string, limit: number): Promise<number> {
  const tmp = `${file}.part`;
  const fd = fs.openSync(tmp, 'w');
  let size = 0;
  try {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw new StudioError(413, 'too_large', `upload: expected at most ${limit / 1024 / 1024} MiB, found more`,
          'split the file, or prepare it with `shitate data prepare` on the command line');
      }
      fs.writeSync(fd, value);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return size;
}

export async function receiveUpload(ctx: StudioContext, req: Request, limit = MAX_UPLOAD_BYTES): Promise<Upload> {
  const raw = new URL(req.url).searchParams.get('name') ?? req.headers.get('x-file-name');
  const name = safeName(raw ? decodeURIComponent(raw) : '');
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > limit) throw new StudioError(413, 'too_large', `upload: expected at most ${limit / 1024 / 1024} MiB, found ${(declared / 1024 / 1024).toFixed(0)} MiB`, 'split the file');
  if (!req.body) throw badField('body', 'the file\'s bytes', 'an empty body', 'send the file as the request body');
  const { id, dir } = ctx.ws.create('uploads', 'up');
  try {
    const file = path.join(dir, name);
    const size = await streamToFile(req.body, file, limit);
    if (size === 0) throw badField('body', 'the file\'s bytes', 'an empty file', 'check that the file is not empty');
    const up: Upload = { id, name, size, path: file, createdAt: new Date().toISOString() };
    writeJson(path.join(dir, 'upload.json'), up);
    return up;
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export function getUpload(ctx: StudioContext, id: string): Upload {
  const dir = ctx.ws.item('uploads', id, 'upload');
  const up = readJson<Upload>(path.join(dir, 'upload.json'));
  if (!up) throw new StudioError(404, 'not_found', `upload "${id}" is incomplete`, 'drop the file again');
  return { ...up, path: path.join(dir, up.name) };
}

export function listUploads(ctx: StudioContext): Upload[] {
  return ctx.ws.list('uploads').flatMap((id) => {
    const up = readJson<Upload>(path.join(ctx.ws.kindDir('uploads'), id, 'upload.json'));
    return up ? [up] : [];
  });
}

export function deleteUpload(ctx: StudioContext, id: string): void {
  fs.rmSync(ctx.ws.item('uploads', id, 'upload'), { recursive: true, force: true });
}
