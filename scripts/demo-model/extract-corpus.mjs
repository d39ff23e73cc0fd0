// Extracts the pre-training corpus of models/shitate-mini from installed Debian packages, offline:
// Japanese manuals (GPL-2+) and the World English Bible (public domain). Writes one JSON record per
// document ({"source", "lang", "text"}) and a manifest with package versions, licences and sizes.
//
// Needs: apt-get install debian-reference-ja developers-reference-ja maint-guide-ja debian-policy-ja \
//        aptitude-doc-ja sword-text-web
// Usage: node scripts/demo-model/extract-corpus.mjs [outDir]   (default tmp/demo-model)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';

/** Every source: its package, licence (from /usr/share/doc/<pkg>/copyright) and how to read it. */
const SOURCES = [
  { id: 'debian-reference-ja', pkg: 'debian-reference-ja', lang: 'ja', license: 'GPL-2.0-or-later', kind: 'wrapped-text',
    files: ['/usr/share/debian-reference/debian-reference.ja.txt.gz'] },
  { id: 'developers-reference-ja', pkg: 'developers-reference-ja', lang: 'ja', license: 'GPL-2.0-or-later', kind: 'wrapped-text',
    files: ['/usr/share/developers-reference/ja/developers-reference.txt.gz'] },
  { id: 'maint-guide-ja', pkg: 'maint-guide-ja', lang: 'ja', license: 'GPL-2.0-or-later', kind: 'wrapped-text',
    files: ['/usr/share/doc/maint-guide-ja/maint-guide.ja.txt.gz'] },
  { id: 'debian-policy-ja', pkg: 'debian-policy-ja', lang: 'ja', license: 'GPL-2.0-or-later', kind: 'html',
    dir: '/usr/share/doc/debian-policy/ja/policy.html', skip: /^(genindex|search|index)\.html$/ },
  { id: 'aptitude-doc-ja', pkg: 'aptitude-doc-ja', lang: 'ja', license: 'GPL-2.0-or-later', kind: 'html',
    dir: '/usr/share/doc/aptitude/html/ja', skip: /^index\.html$/ },
  { id: 'world-english-bible', pkg: 'sword-text-web', lang: 'en', license: 'public-domain', kind: 'sword-ztext',
    dir: '/usr/share/sword/modules/texts/ztext/engWEB2015eb' },
];

const CJK = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/;

/** Joins hard-wrapped lines of one paragraph: no space between Japanese characters, one elsewhere. */
function joinLines(lines) {
  let out = '';
  for (const raw of lines) {
    const l = raw.trim();
    if (!l) continue;
    if (out && !(CJK.test(out.at(-1)) || CJK.test(l[0]))) out += ' ';
    out += l;
  }
  return out;
}

/** Plain text with paragraphs separated by blank lines (as the packages' .txt manuals are). */
function fromWrappedText(text) {
  const paras = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    // tables and code keep their line breaks; prose is re-joined
    const code = lines.some((l) => /[|+]-{3,}|^\s{12,}\S|^\s*[$#] /.test(l))
      || lines.filter((l) => /^\s*(\d+\.)+\s/.test(l)).length * 2 >= lines.length; // a table of contents
    const p = code ? lines.map((l) => l.trim()).filter(Boolean).join('\n') : joinLines(lines);
    if (p) paras.push(p);
  }
  return paras;
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Body text of a Sphinx or DocBook page: navigation removed, block elements become paragraphs. */
function fromHtml(html) {
  let s = html.replace(/<head[\s\S]*?<\/head>/i, '').replace(/<(script|style)[\s\S]*?<\/\1>/gi, '');
  s = s.replace(/<div class="(navheader|navfooter|related|sphinxsidebar|footer|toc)"[\s\S]*?<\/div>\s*(?=<div|<\/body)/gi, '');
  s = s.replace(/<\/?(p|div|h[1-6]|li|dt|dd|tr|pre|br|table|blockquote|section)\b[^>]*>/gi, '\n\n');
  s = decodeEntities(s.replace(/<[^>]*>/g, ''));
  return s.split(/\n\s*\n/).map((b) => joinLines(b.split('\n')).replace(/¶$/, '')).filter((p) => p.length > 1);
}

/** SWORD zText module: zlib blocks listed in <testament>.bzs (offset, size, uncompressed size; u32 LE). */
function fromSword(dir) {
  const books = [];
  for (const t of ['ot', 'nt']) {
    const bzs = fs.readFileSync(path.join(dir, `${t}.bzs`));
    const bzz = fs.readFileSync(path.join(dir, `${t}.bzz`));
    for (let i = 0; i + 12 <= bzs.length; i += 12) {
      const off = bzs.readUInt32LE(i);
      const size = bzs.readUInt32LE(i + 4);
      if (!size) continue;
      let osis = zlib.inflateSync(bzz.subarray(off, off + size)).toString('utf8');
      osis = osis.replace(/<note[\s\S]*?<\/note>/g, '').replace(/<title[\s\S]*?<\/title>/g, '')
        .replace(/<(div|chapter)\b[^>]*eID=[^>]*\/>/g, '\n\n').replace(/<l\b[^>]*eID=[^>]*\/>/g, '\n');
      const text = decodeEntities(osis.replace(/<[^>]*>/g, ''));
      const paras = text.split(/\n\s*\n/).map((b) => b.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean).join('\n')).filter(Boolean);
      if (paras.length) books.push(paras);
    }
  }
  return books;
}

/** Drops boilerplate: paragraphs repeated across a source (navigation, headers) and ones with no letters. */
function dedupe(docs) {
  const count = new Map();
  for (const d of docs) for (const p of d) count.set(p, (count.get(p) ?? 0) + 1);
  return docs.map((d) => d.filter((p) => count.get(p) <= 2 && /[\p{L}]/u.test(p))).filter((d) => d.length);
}

function readSource(src) {
  if (src.kind === 'wrapped-text') return src.files.map((f) => fromWrappedText(zlib.gunzipSync(fs.readFileSync(f)).toString('utf8')));
  if (src.kind === 'html') {
    const files = fs.readdirSync(src.dir).filter((f) => f.endsWith('.html') && !src.skip.test(f)).sort();
    return files.map((f) => fromHtml(fs.readFileSync(path.join(src.dir, f), 'utf8')));
  }
  return fromSword(src.dir);
}

function packageVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  } catch {
    return null;
  }
}

function main() {
  const outDir = process.argv[2] ?? 'tmp/demo-model';
  fs.mkdirSync(outDir, { recursive: true });
  const missing = SOURCES.filter((s) => !packageVersion(s.pkg));
  if (missing.length) {
    console.error(`missing Debian packages: ${missing.map((s) => s.pkg).join(' ')}\ninstall them with: apt-get install ${missing.map((s) => s.pkg).join(' ')}`);
    process.exit(1);
  }
  const out = fs.openSync(path.join(outDir, 'corpus.jsonl'), 'w');
  const manifest = [];
  for (const src of SOURCES) {
    const docs = dedupe(readSource(src));
    let chars = 0;
    for (const d of docs) {
      const text = d.join('\n');
      chars += [...text].length;
      fs.writeSync(out, JSON.stringify({ source: src.id, lang: src.lang, text }) + '\n');
    }
    manifest.push({ source: src.id, package: src.pkg, version: packageVersion(src.pkg), lang: src.lang, license: src.license, documents: docs.length, chars });
    console.log(`${src.id.padEnd(24)} ${src.lang} ${String(docs.length).padStart(4)} documents ${String(chars).padStart(9)} characters`);
  }
  fs.closeSync(out);
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

main();
