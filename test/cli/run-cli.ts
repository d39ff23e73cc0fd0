// Runs the real `shitate` CLI in a child process (node --import tsx on the sources) with piped stdin, and
// collects its exit code, stdout and stderr.
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..', '..');
const ENTRY = path.join(import.meta.dirname, 'entry.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** written to stdin, which is then closed (stdin is closed at once without it) */
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, SHITATE_QUIET_FALLBACK: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(opts.input ?? '');
  });
}
