// The `shitate` command line: dispatches to one module per command and turns errors into exit codes.
import { ShitateError } from '../errors.js';
import { packageVersion } from './package-info.js';
import { doctor } from './doctor.js';
import { generateCommand } from './generate.js';
import { chatCommand } from './chat.js';
import { train } from './train.js';
import { merge } from './merge.js';
import { evalCommand } from './eval.js';
import { serveCommand } from './serve.js';
import { data } from './data.js';
import { estimate } from './estimate.js';
import { advise } from './advise.js';
import { demoCommand } from './demo.js';
import { assistantCommand } from './assistant.js';
import { kbCommand } from './kb.js';
import { memoryCommand } from './memory.js';
import { studioCommand } from './studio.js';
import { exportJob } from './export-job.js';
import { importRunCommand } from './import-run.js';
import { exportCommand } from './export.js';
import { embedCommand } from './embed.js';
import { classifyCommand } from './classify.js';

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  doctor,
  train,
  merge,
  generate: generateCommand,
  chat: chatCommand,
  eval: evalCommand,
  serve: serveCommand,
  data,
  estimate,
  advise,
  demo: demoCommand,
  assistant: assistantCommand,
  kb: kbCommand,
  memory: memoryCommand,
  studio: studioCommand,
  'export-job': exportJob,
  'import-run': importRunCommand,
  export: exportCommand,
  embed: embedCommand,
  classify: classifyCommand,
};

/** Names of every command (the studio shows export buttons for the commands this installation has). */
export function commandNames(): string[] {
  return Object.keys(commands);
}

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'shitate — tailor an open LLM to your business on your own machine',
    '',
    'usage: shitate <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'options:',
    '  --help, -h     show help (also `shitate <command> --help`)',
    '  --version, -v  print the version',
    '',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(help());
      return 0;
    }
    if (first === '--version' || first === '-v') {
      process.stdout.write(`shitate ${packageVersion()}\n`);
      return 0;
    }
    const cmd = Object.hasOwn(commands, first) ? commands[first] : undefined; // "constructor" is no command
    if (!cmd) {
      throw new ShitateError('E_USAGE', `unknown command "${first}"; expected one of: ${Object.keys(commands).join(', ')}`,
        'run `shitate --help` for the list of commands');
    }
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof ShitateError) {
      process.stderr.write(e.format() + '\n');
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}
