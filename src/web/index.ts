// Public surface of web/: the studio's request handler and what its command needs to run and stop it.
import { activeJobs, type StudioContext } from './context.js';
import { stopEval } from './evals.js';
import { stopRun } from './runs.js';

export { createStudio, type Studio, type StudioOptions } from './app.js';
export { newToken } from './auth.js';
export type { CliCommand } from './jobs.js';
export type { StudioContext } from './context.js';

/** Ctrl-C for every training and evaluation this studio's folder has running (training writes a checkpoint). */
export function stopRunningJobs(ctx: StudioContext): string[] {
  const stopped: string[] = [];
  for (const j of activeJobs(ctx)) {
    if (j.kind === 'train') stopRun(ctx, j.id);
    else if (j.kind === 'eval') stopEval(ctx, j.id);
    else continue;
    stopped.push(`${j.kind} ${j.label} (${j.id})`);
  }
  return stopped;
}

/** Resolves once none of those jobs runs any more, or after `ms`. */
export async function waitForJobs(ctx: StudioContext, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (activeJobs(ctx).some((j) => j.kind !== 'export')) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}
