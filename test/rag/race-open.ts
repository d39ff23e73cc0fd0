// Child process for the concurrency tests: waits until a shared start time, then opens (creating) one
// knowledge base and indexes one file, so several processes hit schema creation and ingestion together.
import fs from 'node:fs';
import path from 'node:path';
import { ingest, KnowledgeBase } from '../../src/rag/index.js';

const [home, name, file, startAt] = process.argv.slice(2);
fs.writeFileSync(`${file}.ready`, '');
while (Date.now() < Number(startAt)) { /* spin until the shared start: the processes must collide */ }
const kb = KnowledgeBase.open(home, name, { create: true });
try {
  const r = await ingest(kb, [path.basename(file)], { cwd: path.dirname(file) });
  process.stdout.write(JSON.stringify(r.files.map((f) => f.status)));
} finally {
  kb.close();
}
