#!/usr/bin/env node
// Entry point of the `shitate` command: runs the compiled CLI (built by `npm run build`, run by `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('error[E_NOT_BUILT]: shitate is not built (dist/cli/main.js is missing)\n  hint: run `npm ci` (or `npm run build`) in the shitate folder\n');
  process.exit(1);
}
// `shitate ... | head` closes stdout early: that is the reader's choice, not an error
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { run } = await import(pathToFileURL(main).href);
process.exitCode = await run(process.argv.slice(2));
