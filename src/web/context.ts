// What every part of the studio shares: the workspace folder, how to start `shitate` commands, which
// commands this installation has, where assistants live, and the one-heavy-job-at-a-time rule.
import type { Lang } from '../catalog/types.js';
import type { CliCommand } from './jobs.js';
import { StudioError } from './errors.js';
import type { Workspace } from './workspace.js';

export interface StudioContext {
  ws: Workspace;
  cli: CliCommand;
  /** the folder commands run in (where the studio was started: relative paths mean the same as in a terminal) */
  cwd: string;
  /** command names of the CLI registry (export buttons appear when their command exists) */
  commands: readonly string[];
  /** the project folder of assistants, knowledge bases and memory (SHITATE_HOME, else ./.shitate) */
  home: string;
  /** folders scanned for Hugging Face model folders */
  modelRoots: string[];
  /** language of server-made text when a request does not say */
  lang: Lang;
  /** exits of the processes this studio started, by item id (tests wait on them) */
  exits: Map<string, Promise<void>>;
  /** one line per request or job event; the terminal */
  log: (line: string) => void;
  /** heavy jobs running now; filled in by the modules that own them */
  activity: (() => ActiveJob[])[];
}

export interface ActiveJob {
  kind: 'train' | 'eval' | 'export';
  id: string;
  label: string;
}

export function activeJobs(ctx: StudioContext): ActiveJob[] {
  return ctx.activity.flatMap((f) => f());
}

/**
 * Refuses a second heavy job: on an ordinary CPU two of them only make both slow. Checked and followed by
 * the launch without an await in between, so two requests at once cannot both pass.
 */
export function refuseIfBusy(ctx: StudioContext, kind: ActiveJob['kind']): void {
  const running = activeJobs(ctx);
  const same = running.find((j) => j.kind === kind);
  const any = same ?? running[0];
  if (!any) return;
  const what = { train: 'training run', eval: 'evaluation', export: 'export' }[any.kind];
  if (kind === 'train' && any.kind === 'train') {
    throw new StudioError(409, 'training_running', `another training run is already running: "${any.label}" (${any.id}); one training at a time on this machine`,
      'wait for it to finish, or stop it on the Training page (it keeps a checkpoint you can resume), then start this one');
  }
  throw new StudioError(409, 'busy', `the ${what} "${any.label}" (${any.id}) is running; one heavy job at a time keeps this machine responsive`,
    `wait for it to finish or stop it, then try again`);
}

/** Language from the request (?lang= or Accept-Language), else the studio's. */
export function requestLang(req: Request, fallback: Lang): Lang {
  const q = new URL(req.url).searchParams.get('lang');
  if (q === 'ja' || q === 'en') return q;
  const al = req.headers.get('accept-language');
  if (al) return al.trim().toLowerCase().startsWith('ja') ? 'ja' : 'en';
  return fallback;
}
