// Copies the data files that sit beside TypeScript sources (e.g. src/catalog/models.json) into dist/,
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
    else if (name.endsWith('.json')) cpSync(p, join(dist, relative(src, p)));
  }
}

if (existsSync(dist)) walk(src);
