// Summary of a V8 .cpuprofile (node --cpu-prof): where the time went, by function. Native kernel time is
// charged to the JS function that called into the addon, so `matmul ops/matmul.ts` includes its sgemm.
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(n: ProfileNode): string {
  const file = n.callFrame.url.split('/').slice(-2).join('/');
  return `${n.callFrame.functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
}

/** [label, self seconds, inclusive seconds] sorted by self time, and the profile's total seconds. */
export function summarizeProfile(file: string): { total: number; rows: [string, number, number][] } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ticks = new Map<number, number>(); // node id -> microseconds
  p.samples.forEach((id, i) => ticks.set(id, (ticks.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (const [id, us] of ticks) {
    total += us;
    const leaf = byId.get(id);
    if (!leaf) continue;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + us);
    const seen = new Set<string>(); // recursion: count each label once per sample
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const l = label(node);
      if (!seen.has(l)) incl.set(l, (incl.get(l) ?? 0) + us);
      seen.add(l);
    }
  }
  const rows = [...self].sort((a, b) => b[1] - a[1])
    .map(([l, us]): [string, number, number] => [l, us / 1e6, (incl.get(l) ?? us) / 1e6]);
  return { total: total / 1e6, rows };
}

/** The busiest profile written to `dir` since `since` (ms epoch): the main thread, not the loader's. */
export function latestProfile(dir: string, since: number): string | null {
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).mtimeMs >= since);
  let best: string | null = null;
  let bestBusy = -1;
  for (const f of files) {
    const { total, rows } = summarizeProfile(f);
    const idle = rows.find(([l]) => l === '(idle)')?.[1] ?? 0;
    if (total - idle > bestBusy) [best, bestBusy] = [f, total - idle];
  }
  return best;
}

/** Prints the top `n` functions by self time of the shitate child's profile. */
export function printProfileSummary(dir: string, since: number, n = 12): void {
  const file = latestProfile(dir, since);
  if (!file) {
    console.log(`\nno CPU profile found in ${dir}`);
    return;
  }
  const { total, rows } = summarizeProfile(file);
  // (idle) is the time spent waiting for the other side's turn: left out, percentages are of busy time
  const idle = rows.find(([l]) => l === '(idle)')?.[1] ?? 0;
  const busy = total - idle;
  console.log(`\nCPU profile of the shitate side: ${file} (${busy.toFixed(1)} s busy, model load included)`);
  console.log('   self s  self %  incl. s  function');
  for (const [l, s, inc] of rows.filter(([l]) => l !== '(idle)').slice(0, n)) {
    console.log(`${s.toFixed(2).padStart(9)}  ${((100 * s) / busy).toFixed(1).padStart(5)}%  ${inc.toFixed(2).padStart(7)}  ${l}`);
  }
}
