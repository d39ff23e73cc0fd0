// Crash points for fault-injection tests and bench/faults.ts: with SHITATE_FAULT=name[@n] in the
// environment, this process kills itself with SIGKILL the n-th time (default the first) it reaches
// faultPoint(name), exactly as a power cut or `kill -9` would stop it there. Unset, it does nothing.

const seen = new Map<string, number>();

/** The crash points, in the order a checkpoint swap passes them. */
export const SWAP_POINTS = ['swap-filled', 'swap-moved-old', 'swap-renamed-new', 'swap-done'] as const;

export function faultPoint(name: string): void {
  const spec = process.env.SHITATE_FAULT;
  if (!spec) return;
  const [want, nth] = spec.split('@');
  if (want !== name) return;
  const n = (seen.get(name) ?? 0) + 1;
  seen.set(name, n);
  if (n === Math.max(1, Number(nth ?? 1) || 1)) process.kill(process.pid, 'SIGKILL');
}
