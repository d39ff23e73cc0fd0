// `shitate studio`: the local web app (data, method, training, evaluation, playground, assistants, export)
// on the same HTTP stack as `shitate serve`. Loopback by default; on any other address a login token is
// printed. Ctrl-C stops running training (with a checkpoint) and evaluations, then the server.
import path from 'node:path';
import type { Command } from './main.js';
import { flagBool, flagList, flagStr, parseFlags } from './args.js';
import { packageVersion } from './package-info.js';
import { untilSignal } from './serve.js';
import { ShitateError } from '../errors.js';
import { detectLang } from '../data/messages.js';
import { isLoopback, listen } from '../serve/index.js';
import { createStudio, newToken, stopRunningJobs, waitForJobs, type CliCommand } from '../web/index.js';
import { packageRoot } from '../demo/paths.js';

export const DEFAULT_STUDIO_PORT = 8765;

const usage = `usage: shitate studio [--port N] [--host 127.0.0.1] [--dir DIR] [--models DIR]... [--lang ja|en]

Opens shitate studio, a web app for the whole story in the browser: upload and check data (CSV/TSV/XLSX/
JSONL, Shift_JIS too), pick a model and a method, train with live curves (stop and resume), compare base and
tuned, chat with both, manage assistants, export. Everything runs on this machine; the page needs no
network. The API it uses is described in docs/studio-api.md.

options:
  --port N        port (default ${DEFAULT_STUDIO_PORT}; 0 picks a free one)
  --host ADDR     address to listen on (default 127.0.0.1: this machine only). Any other address needs
                  the login token printed at start (or SHITATE_STUDIO_TOKEN)
  --dir DIR       the studio's folder: uploads, datasets, runs, evaluations, exports (default ./studio)
  --models DIR    also list the model folders in DIR (repeatable); ./models, the bundled model and the
                  Hugging Face cache are always listed
  --lang ja|en    language of server-made text (default: from the locale; the page follows the browser)
`;

/** The command that started this process (node + its flags + the entry script), to start jobs the same way. */
export function selfCommand(): CliCommand {
  const entry = process.argv[1] ?? path.join(packageRoot(), 'bin', 'shitate.js');
  return { command: process.execPath, args: [...process.execArgv, entry] };
}

const note = (s: string): void => {
  process.stderr.write(s + '\n');
};

export const studioCommand: Command = {
  summary: 'the web app: data, training with live curves, base vs tuned, chat, assistants, export',
  async run(argv) {
    const p = parseFlags('studio', argv, {
      port: { type: 'string' }, host: { type: 'string' }, dir: { type: 'string' }, models: { type: 'string', multiple: true }, lang: { type: 'string' },
    });
    if (flagBool(p, 'help')) {
      process.stdout.write(usage);
      return 0;
    }
    const portRaw = flagStr(p, 'port') ?? String(DEFAULT_STUDIO_PORT);
    const port = Number(portRaw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ShitateError('E_USAGE', `studio: --port expects a whole number from 0 to 65535, found "${portRaw}"`, `e.g. --port ${DEFAULT_STUDIO_PORT}`);
    }
    const lang = flagStr(p, 'lang');
    if (lang !== undefined && lang !== 'ja' && lang !== 'en') throw new ShitateError('E_USAGE', `studio: --lang expects ja or en, found "${lang}"`, 'leave it out to follow the locale');
    const host = flagStr(p, 'host') ?? '127.0.0.1';
    const loopback = isLoopback(host);
    const token = loopback ? null : (process.env.SHITATE_STUDIO_TOKEN || newToken());
    const { commandNames } = await import('./main.js');
    const studio = createStudio({
      dir: flagStr(p, 'dir') ?? 'studio', cli: selfCommand(), commands: commandNames(), version: packageVersion(), models: flagList(p, 'models'),
      token, loopbackOnly: loopback, lang: detectLang(lang), log: (line) => note(`${new Date().toISOString()} ${line}`),
    });
    const stopped = untilSignal();
    const server = await listen(studio.handler, { host, port });
    note(`studio folder: ${studio.ctx.ws.dir}`);
    if (token) {
      note(`listening on ${host}, reachable from other machines: the login token is required`);
      process.stdout.write(`shitate studio: ${server.url}/?token=${token}\nlogin token: ${token}\n`);
    } else {
      process.stdout.write(`shitate studio: ${server.url}/\n`);
    }
    const sig = await stopped;
    const jobs = stopRunningJobs(studio.ctx);
    if (jobs.length) note(`${sig}: stopping ${jobs.join(', ')} (training keeps a checkpoint: resume it from the page)`);
    if (!(await waitForJobs(studio.ctx, 60_000))) note('some jobs are still finishing in the background');
    await studio.close();
    await server.close();
    return 0;
  },
};
