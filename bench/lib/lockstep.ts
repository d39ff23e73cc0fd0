// Runs the two sides of a comparison as resident child processes driven one unit of work at a time
// (a training step, a generation), alternately, so that background load on a shared machine hits both
// alike. Protocol, one line each: the child prints `READY {json}` once loaded, reads `go [arg]` and answers
// `STEP {json}`, and on `done` prints `RESULT {json}` (peak RSS, ...) and exits. Progress goes to stderr.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import readline from 'node:readline';
import { REPO_ROOT, type Json } from './harness.js';

type Kind = 'READY' | 'STEP' | 'RESULT';

const SETTLE_MS = 300;

/** The orchestrator's handle on one child. */
export class Worker {
  readonly label: string;
  readonly ready: Json;
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  private readonly exited: Promise<string>;

  private constructor(label: string, child: ChildProcessByStdio<Writable, Readable, null>, lines: AsyncIterator<string>,
    exited: Promise<string>, ready: Json) {
    this.label = label;
    this.child = child;
    this.lines = lines;
    this.exited = exited;
    this.ready = ready;
  }

  /** Spawns `cmd args` in the repository root and waits until it has loaded and says READY. */
  static async start(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Worker> {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] });
    // resolves, never rejects: a failure surfaces as the missing protocol line plus this reason
    const exited = new Promise<string>((resolve) => {
      child.on('error', (e) => resolve(`could not start ${cmd}: ${e.message}`));
      child.on('exit', (code, signal) => resolve(`exit ${code ?? signal}`));
    });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const ready = await expect(label, lines, 'READY', exited);
    return new Worker(label, child, lines, exited, ready);
  }

  /** One unit of work; resolves with the child's STEP report. */
  async next(arg?: string | number): Promise<Json> {
    this.child.stdin.write(arg === undefined ? 'go\n' : `go ${arg}\n`);
    return expect(this.label, this.lines, 'STEP', this.exited);
  }

  /** Ends the child and returns its RESULT report. */
  async finish(): Promise<Json> {
    this.child.stdin.end('done\n');
    const result = await expect(this.label, this.lines, 'RESULT', this.exited);
    const how = await this.exited;
    if (how !== 'exit 0') throw new Error(`${this.label}: ${how}`);
    return result;
  }

  /** Stops a child that will not be finished (an error elsewhere). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}

/** The next protocol line of `kind` (other stdout lines are passed through), or an error once the child's
 *  stdout ends without it (it crashed, or could not start). */
async function expect(label: string, lines: AsyncIterator<string>, kind: Kind, exited: Promise<string>): Promise<Json> {
  for (;;) {
    const next = await lines.next();
    if (next.done) throw new Error(`${label}: ${await exited} while the bench waited for ${kind}`);
    const line: string = next.value;
    if (line.startsWith(`${kind} `)) return JSON.parse(line.slice(kind.length + 1)) as Json;
    if (line.trim()) process.stderr.write(`${label}: ${line}\n`);
  }
}

/** Child side: prints one protocol line. */
export function send(kind: Kind, obj: Json): void {
  process.stdout.write(`${kind} ${JSON.stringify(obj)}\n`);
}

/** Child side: yields the argument of every `go [arg]` ('' without one) until `done` or end of input. */
export async function* commands(): AsyncGenerator<string> {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    if (cmd === 'done') break;
    if (cmd === 'go') yield rest.join(' ');
  }
  rl.close();
}

export interface SideSpec {
  label: string;
  cmd: string;
  args: string[];
  /** this side's environment instead of the one `drive` is given (a scaling run: one thread count per side) */
  env?: NodeJS.ProcessEnv;
}

export interface SideRun {
  ready: Json;
  steps: Json[];
  result: Json;
}

/** Runs every unit of work on every side and collects the reports. Lockstep (default): all sides are
 *  started in order (each waits for the previous READY: shitate writes files the others read), then unit
 *  i runs on side 0, side 1, ... before unit i+1. Sequential: one side at a time, only one resident. */
export async function drive(specs: SideSpec[], units: (string | number | undefined)[], env: NodeJS.ProcessEnv,
  sequential: boolean): Promise<SideRun[]> {
  const live: Worker[] = [];
  try {
    if (sequential) {
      const out: SideRun[] = [];
      for (const s of specs) {
        const w = await Worker.start(s.label, s.cmd, s.args, s.env ?? env);
        live.push(w);
        const steps: Json[] = [];
        for (const u of units) steps.push(await w.next(u));
        out.push({ ready: w.ready, steps, result: await w.finish() });
      }
      return out;
    }
    for (const s of specs) live.push(await Worker.start(s.label, s.cmd, s.args, s.env ?? env));
    const steps: Json[][] = specs.map(() => []);
    for (const u of units) {
      for (const [i, w] of live.entries()) {
        // let the previous side's idle BLAS threads stop spinning (OpenBLAS spins ~2^28 cycles after a
        // call) so they do not eat into this side's time
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        steps[i].push(await w.next(u));
      }
    }
    const results: Json[] = [];
    for (const w of live) results.push(await w.finish());
    return live.map((w, i) => ({ ready: w.ready, steps: steps[i], result: results[i] }));
  } catch (e) {
    for (const w of live) w.kill();
    throw e;
  }
}
