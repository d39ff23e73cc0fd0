// `shitate memory`: what assistants remember about a user — list it, add to it, forget it (for real:
// forgotten facts are overwritten on disk).
import os from 'node:os';
import type { Command } from './main.js';
import { flagBool, flagStr, parseFlags, type Parsed } from './args.js';
import { ShitateError } from '../errors.js';
import { MemoryStore } from '../memory/index.js';
import { projectHome } from '../rag/index.js';

const usage = `usage: shitate memory <list|add|forget> [--user ID] [--assistant NAME] ...

Long-term memory per user, stored in <project>/memory.sqlite. Each user sees only their own facts.
Without --assistant, commands cover everything the user has; facts added without one are shared by
all of the user's assistants.

  shitate memory list [--json]
  shitate memory add TEXT
  shitate memory forget ID...       forget facts by their id (see list)
  shitate memory forget --all       forget everything in scope

options:
  --user ID          whose memory (default: $SHITATE_USER, else the login name)
  --assistant NAME   limit to one assistant's memory
`;

export function defaultUser(p: Parsed): string {
  return flagStr(p, 'user') ?? process.env.SHITATE_USER ?? os.userInfo().username;
}

export const memoryCommand: Command = {
  summary: 'long-term memory per user: list, add, forget',
  async run(argv) {
    const p = parseFlags('memory', argv, { user: { type: 'string', short: 'u' }, assistant: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } }, true);
    const [sub, ...rest] = p.positionals;
    if (flagBool(p, 'help') || sub === undefined) {
      process.stdout.write(usage);
      return 0;
    }
    const store = MemoryStore.open(projectHome());
    try {
      const mem = store.forUser(defaultUser(p), flagStr(p, 'assistant') ?? null);
      switch (sub) {
        case 'list': {
          const items = mem.list();
          if (flagBool(p, 'json')) process.stdout.write(JSON.stringify(items, null, 2) + '\n');
          else if (items.length === 0) process.stderr.write(`nothing remembered for ${mem.userId}\n`);
          else for (const m of items) process.stdout.write(`${m.id}\t${m.assistant || '(shared)'}\t${m.source}\t${m.text}\n`);
          return 0;
        }
        case 'add': {
          const added = mem.add(rest.join(' '), 'user');
          process.stderr.write(added ? `remembered #${added.id} for ${mem.userId}\n` : 'already remembered\n');
          return 0;
        }
        case 'forget': {
          if (flagBool(p, 'all')) {
            process.stderr.write(`forgot ${mem.forgetAll()} facts of ${mem.userId}\n`);
            return 0;
          }
          const ids = rest.map(Number);
          if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 1)) {
            throw new ShitateError('E_USAGE', `memory forget: expected fact ids (whole numbers) or --all, found ${JSON.stringify(rest.join(' '))}`, 'see the ids with: shitate memory list');
          }
          const n = mem.forget(ids);
          process.stderr.write(`forgot ${n} of ${ids.length} facts${n < ids.length ? ' (the others are not this user\'s or do not exist)' : ''}\n`);
          return n === ids.length ? 0 : 1;
        }
        default:
          throw new ShitateError('E_USAGE', `memory: unknown subcommand "${sub}"; expected list, add or forget`, 'run `shitate memory --help`');
      }
    } finally {
      store.close();
    }
  },
};
