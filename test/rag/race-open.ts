// Child process for the concurrency tests: says it is ready, waits for the shared "go" file, then opens
// (creating) one knowledge base and stores one document in it, so several processes hit schema creation
// and writing together. Imports only the store, so the processes start fast.
import fs from 'node:fs';
import { KnowledgeBase } from '../../src/rag/store.js';

const [home, name, file, go] = process.argv.slice(2);
fs.writeFileSync(`${file}.ready`, '');
const tick = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(go)) Atomics.wait(tick, 0, 0, 1); // 1 ms naps: the processes start within a millisecond of each other
const kb = KnowledgeBase.open(home, name, { create: true });
try {
  const text = fs.readFileSync(file, 'utf8');
  const chunk = { seq: 0, text, section: '', pageStart: null, pageEnd: null, rowStart: null, rowEnd: null, charStart: 0, charEnd: text.length,
    hash: file, norm: text, morph: text, embedding: null, fields: null };
  const r = kb.replaceDocument({ path: file, name: file, kind: 'text', sha256: file, size: text.length, mtimeMs: 0, pages: null, text, chunks: [chunk] });
  process.stdout.write(JSON.stringify(r));
} finally {
  kb.close();
}
