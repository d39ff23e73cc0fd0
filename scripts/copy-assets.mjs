// Copies the data files that sit beside TypeScript sources (e.g. src/catalog/models.json, src/export/jobs/train.py) into dist/,
// which tsc does not do: the compiled package reads them next to its modules.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const dist = join(root, 'dist');

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    // .py: the GPU job's train.py (src/export/jobs/), written into job folders from beside its module
    else if (name.endsWith('.json') || name.endsWith('.py')) cpSync(p, join(dist, relative(src, p)));
  }
}

if (existsSync(dist)) walk(src);
// the studio's page (ES modules, CSS, icon) is served from dist/web/static as it is
if (existsSync(dist)) cpSync(join(src, 'web', 'static'), join(dist, 'web', 'static'), { recursive: true });
