// Step 3 of the demo: LoRA training on the prepared files with the demo's settings.
import path from 'node:path';
import { runTraining, type RunResult } from '../train/session.js';
import type { TrainEvent } from '../train/trainer.js';
import { demoTrainConfig, type DemoOptions } from './options.js';

export interface TrainHooks {
  onEvent?: (e: TrainEvent) => void;
  stopRequested?: () => boolean;
}

/** `trainTokens`: tokens of the training examples (an estimate is enough; it sets the validation interval). */
export async function trainAdapter(o: DemoOptions, train: string, val: string | null, trainTokens: number, hooks: TrainHooks = {}): Promise<RunResult> {
  const config = demoTrainConfig(o, train, val, path.join(o.out, 'run'), trainTokens);
  return runTraining({ config, sources: { command: 'demo' }, onEvent: hooks.onEvent, stopRequested: hooks.stopRequested });
}
