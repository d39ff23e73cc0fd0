// Output of full fine-tuning: a complete HF model folder in the base's dtype.
import type { CausalLM } from '../models/index.js';
import { baseDtype, saveModelFolder } from '../models/save.js';

export function writeFullModel(dir: string, model: CausalLM, baseDir: string): void {
  saveModelFolder(dir, model, baseDir, baseDtype(baseDir));
}
