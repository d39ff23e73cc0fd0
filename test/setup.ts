// Property tests run with a fixed seed so CI is repeatable; set FC_SEED to explore other inputs locally.
// A test that forgets to name its project folder must not write ./.shitate into the checkout: default
// SHITATE_HOME to a fresh temporary folder per test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261129) });

if (!process.env.SHITATE_HOME) process.env.SHITATE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-home-'));
