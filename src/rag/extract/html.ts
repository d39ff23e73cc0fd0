// HTML (and DOCX, which mammoth turns into HTML): headings h1-h6, paragraphs, list items and table rows
// become blocks; scripts, styles and navigation are dropped.
import { parse, NodeType, type HTMLElement, type Node } from 'node-html-parser';
import type { Block, Extracted } from './types.js';

const DROP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'nav', 'head', 'iframe', 'button', 'form']);
const LEAF = new Set(['p', 'li', 'pre', 'blockquote', 'dt', 'dd', 'figcaption', 'caption', 'address', 'summary']);

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

function walk(node: Node, out: Block[], loose: string[]): void {
  if (node.nodeType === NodeType.TEXT_NODE) {
    const t = squash(node.text);
    if (t) loose.push(t);
    return;
  }
  if (node.nodeType !== NodeType.ELEMENT_NODE) return;
  const el = node as HTMLElement;
  const tag = el.tagName?.toLowerCase() ?? '';
  if (DROP.has(tag)) return;
  const h = /^h([1-6])$/.exec(tag);
  const flushLoose = () => {
    if (loose.length) out.push({ kind: 'text', text: loose.join(' ') });
    loose.length = 0;
  };
  if (h) {
    flushLoose();
    const t = squash(el.text);
    if (t) out.push({ kind: 'heading', text: t, level: Number(h[1]) });
  } else if (tag === 'tr') {
    flushLoose();
    const cells = el.querySelectorAll('th,td').map((c) => squash(c.text)).filter(Boolean);
    if (cells.length) out.push({ kind: 'text', text: cells.join(' | ') });
  } else if (LEAF.has(tag)) {
    flushLoose();
    const t = tag === 'pre' ? el.text.trim() : squash(el.text);
    if (t) out.push({ kind: 'text', text: t });
  } else if (tag === 'br') {
    // a line break inside loose text: keep the words apart
  } else {
    const inline = ['a', 'span', 'em', 'strong', 'b', 'i', 'u', 'code', 'small', 'sup', 'sub', 'mark', 'abbr', 'time', 'label'].includes(tag);
    if (!inline) flushLoose();
    for (const c of el.childNodes) walk(c, out, loose);
    if (!inline) flushLoose();
  }
}

export function htmlBlocks(html: string): Block[] {
  const root = parse(html, { comment: false });
  const body = root.querySelector('body') ?? root;
  const out: Block[] = [];
  const loose: string[] = [];
  walk(body, out, loose);
  if (loose.length) out.push({ kind: 'text', text: loose.join(' ') });
  return out;
}

export function parseHtml(text: string): Extracted {
  return { blocks: htmlBlocks(text) };
}
