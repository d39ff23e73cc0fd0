// The OpenMP wait policy a process gets: idle workers sleep at once (PASSIVE) unless a training process asked for
// libgomp's short spin before the kernels loaded; asking after the load has no effect and says so.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../../src/kernels/index.js';

const root = path.resolve(__dirname, '../..');

/** OMP_WAIT_POLICY as the addon load left it, in a fresh process that runs `before` first. */
function policyAfterLoad(before: string): { policy: string; late: boolean } {
  const script = `import { nativeStatus, spinOmpThreadsBriefly } from './src/kernels/index.js';
${before}
nativeStatus();
const late = spinOmpThreadsBriefly();
process.stdout.write(JSON.stringify({ policy: process.env.OMP_WAIT_POLICY ?? '(unset)', late }));`;
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { policy: string; late: boolean };
}

describe.runIf(nativeStatus().kernels !== null)('OpenMP wait policy', () => {
  it('is PASSIVE by default and left to libgomp (a short spin) when a training process asks first', () => {
    expect(policyAfterLoad('')).toEqual({ policy: 'PASSIVE', late: false });
    expect(policyAfterLoad('spinOmpThreadsBriefly();')).toEqual({ policy: '(unset)', late: false });
  });
});
