// Checks of one example on its own: conversation structure (roles, order, empty turns) and its text
// (personal data, mojibake, lost characters). Pure: a record in, issues out.
import { severityOf, type MessageCode } from './messages.js';
import { countReplacement, findMojibake } from './mojibake.js';
import { findPii, maskValue, type PiiKind } from './pii.js';
import { allowedBy, EMPTY_ALLOWLIST, type PiiAllowlist } from './pii-allow.js';
import { excerpt, type DataRecord, type Issue } from './types.js';
import { countControls } from './sanitize.js';

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

const PII_CODE: Record<PiiKind, MessageCode> = { email: 'pii_email', phone: 'pii_phone', card: 'pii_card', my_number: 'pii_my_number' };

/** Roles that may come right after each role (undefined: the start of the conversation). */
function allowedAfter(prev: string | undefined, role: string): boolean {
  switch (role) {
    case 'system': return prev === undefined;
    case 'user': return prev === undefined || prev === 'system' || prev === 'assistant' || prev === 'tool';
    case 'assistant': return prev === 'user' || prev === 'tool';
    case 'tool': return prev === 'assistant' || prev === 'tool';
    default: return true;
  }
}

function structure(r: DataRecord, push: (code: MessageCode, params?: Issue['params']) => void): void {
  const msgs = r.messages;
  if (msgs.length === 0) { push('missing_field', { field: 'messages' }); return; }
  let prev: string | undefined;
  let orderReported = false;
  for (const [i, m] of msgs.entries()) {
    if (!ROLES.has(m.role)) push('unknown_role', { turn: i + 1, role: m.role.slice(0, 40) });
    else if (!orderReported && !allowedAfter(prev, m.role)) {
      push('role_order', { turn: i + 1, role: m.role, previous: prev ?? '(start)' });
      orderReported = true;
    }
    prev = m.role;
  }
  const assistants = msgs.filter((m) => m.role === 'assistant');
  if (assistants.length === 0) push('no_assistant');
  else if (assistants.some((m) => m.content.trim() === '')) push('empty_answer');
  if (msgs.some((m) => m.role === 'user' && m.content.trim() === '')) push('empty_question');
  if (assistants.length > 0 && msgs[msgs.length - 1].role === 'user') push('last_turn_user');
}

function textChecks(texts: string[], push: (code: MessageCode, params?: Issue['params']) => void, allow: PiiAllowlist, allowed: string[]): void {
  const seen = new Set<PiiKind>();
  let lost = 0;
  let garbled: string | null = null;
  const controls = countControls(texts.join('\n'));
  if (controls.count > 0) push('control_chars', { count: controls.count, names: controls.names });
  for (const t of texts) {
    for (const h of findPii(t)) {
      const entry = allowedBy(h, allow);
      if (entry !== null) {
        if (!allowed.includes(entry)) allowed.push(entry);
        continue;
      }
      if (seen.has(h.kind)) continue; // one warning per kind and example is enough to act on
      seen.add(h.kind);
      push(PII_CODE[h.kind], { value: maskValue(h) });
    }
    lost += countReplacement(t);
    garbled ??= findMojibake(t);
  }
  if (lost > 0) push('replacement_char', { count: lost });
  if (garbled !== null) push('mojibake', { sample: garbled });
}

/** Issues of one example, whether any of them blocks training, and the allowlist entries it contains. */
export function checkRecord(r: DataRecord, allow: PiiAllowlist = EMPTY_ALLOWLIST): { issues: Issue[]; blocking: boolean; allowed: string[] } {
  const issues: Issue[] = [];
  const allowed: string[] = [];
  const ex = excerpt(r.kind === 'text' ? r.text : r.messages.find((m) => m.role === 'user')?.content ?? r.messages[0]?.content ?? '');
  const push = (code: MessageCode, params: Issue['params'] = {}): void => {
    issues.push({ code, loc: r.loc, params, excerpt: ex });
  };
  if (r.kind === 'chat') structure(r, push);
  else if (r.text.trim() === '') push('missing_field', { field: 'text' });
  textChecks(r.kind === 'text' ? [r.text] : r.messages.map((m) => m.content), push, allow, allowed);
  return { issues, blocking: issues.some((i) => severityOf(i.code) === 'error'), allowed };
}
