// HTTP routes of the Data page: uploads (the dropped file is the body), the check with mapping preview, the
// examples at a reported row, prepare, the prepared datasets and their tokenized preview for a model.
import type { Hono } from 'hono';
import { requestLang, type StudioContext } from './context.js';
import { checkData, deleteDataset, getDataset, listDatasets, prepareDataset, rowDetail } from './datasets.js';
import { badField } from './errors.js';
import { readBodyJson } from './fields.js';
import { checkModelDir } from './models.js';
import { tokenPreview } from './token-preview.js';
import { deleteUpload, listUploads, receiveUpload } from './uploads.js';

function intQuery(v: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw badField(name, `a whole number from ${min} to ${max}`, v);
  return n;
}

export function dataRoutes(app: Hono, ctx: StudioContext): void {
  app.get('/api/uploads', () => Response.json({ uploads: listUploads(ctx) }));
  app.post('/api/uploads', async (c) => Response.json({ upload: await receiveUpload(ctx, c.req.raw) }, { status: 201 }));
  app.delete('/api/uploads/:id', (c) => {
    deleteUpload(ctx, c.req.param('id'));
    return Response.json({ deleted: c.req.param('id') });
  });
  app.post('/api/data/check', async (c) => Response.json(await checkData(ctx, await readBodyJson(c.req.raw), requestLang(c.req.raw, ctx.lang))));
  app.post('/api/data/row', async (c) => Response.json(await rowDetail(ctx, await readBodyJson(c.req.raw), requestLang(c.req.raw, ctx.lang))));
  app.post('/api/data/prepare', async (c) => {
    const r = await prepareDataset(ctx, await readBodyJson(c.req.raw), requestLang(c.req.raw, ctx.lang));
    return Response.json(r, { status: r.written ? 201 : 422 });
  });
  app.get('/api/datasets', () => Response.json({ datasets: listDatasets(ctx) }));
  app.get('/api/datasets/:id', (c) => Response.json({ dataset: getDataset(ctx, c.req.param('id')) }));
  app.delete('/api/datasets/:id', (c) => {
    deleteDataset(ctx, c.req.param('id'));
    return Response.json({ deleted: c.req.param('id') });
  });
  app.get('/api/datasets/:id/tokens', (c) => {
    const ds = getDataset(ctx, c.req.param('id'));
    const model = checkModelDir(c.req.query('model') ?? '');
    const n = intQuery(c.req.query('n'), 'n', 1, 20, 3);
    const maxSeqLen = intQuery(c.req.query('max_seq_len'), 'max_seq_len', 2, 1 << 20, 1024);
    return Response.json(tokenPreview(model, ds.train, n, maxSeqLen));
  });
}
