// Prompt templates with variables: "{{ company }}" is replaced by its value, once, and nothing else is
// evaluated — values are never re-scanned, so a value (or a user's message) containing "{{ x }}" stays text.
// "\{{" writes a literal "{{". An unknown variable is an error, not a silent blank.
import { ShitateError } from '../errors.js';

const TOKEN = /\\\{\{|\{\{([^{}]*)\}\}/g;
const IDENT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;

export function renderTemplate(src: string, vars: Readonly<Record<string, string>>, where: string): string {
  return src.replace(TOKEN, (whole: string, inner: string | undefined) => {
    if (inner === undefined) return '{{'; // the escape \{{
    const m = IDENT.exec(inner);
    if (!m) {
      throw new ShitateError('E_TEMPLATE', `${where}: expected a variable name inside {{ }}, found ${JSON.stringify(whole)}`,
        'templates only substitute variables, e.g. {{ company }}; write \\{{ for a literal {{');
    }
    const v = vars[m[1]];
    if (v === undefined) {
      throw new ShitateError('E_TEMPLATE', `${where}: unknown variable {{ ${m[1]} }}; known: ${Object.keys(vars).sort().join(', ')}`,
        `add it under variables: in the profile (e.g. ${m[1]}: ...) or pass --var ${m[1]}=...`);
    }
    return v;
  });
}

const pad = (n: number): string => String(n).padStart(2, '0');
const WEEKDAYS_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEKDAYS_JA = ['日曜日', '月曜日', '火曜日', '水曜日', '木曜日', '金曜日', '土曜日'];

/** Variables every template has: today, now, weekday (in the profile's language), assistant, user. */
export function builtinVars(now: Date, language: string, assistant: string, user: string): Record<string, string> {
  const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  return {
    today,
    now: `${today} ${pad(now.getHours())}:${pad(now.getMinutes())}`,
    weekday: (language.startsWith('ja') ? WEEKDAYS_JA : WEEKDAYS_EN)[now.getDay()],
    assistant,
    user,
  };
}
