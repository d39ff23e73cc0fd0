// A self-contained SVG of the training and validation loss curves, written next to metrics.jsonl.

export interface Point {
  step: number;
  value: number;
}

function path(points: Point[], x: (s: number) => number, y: (v: number) => number): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
}

export function lossCurveSvg(train: Point[], val: Point[], title = 'loss'): string {
  const W = 640;
  const H = 360;
  const m = { l: 56, r: 16, t: 32, b: 40 };
  const all = [...train, ...val].filter((p) => Number.isFinite(p.value));
  const maxStep = Math.max(1, ...all.map((p) => p.step));
  const lo = Math.min(...all.map((p) => p.value), Infinity);
  const hi = Math.max(...all.map((p) => p.value), -Infinity);
  const [vmin, vmax] = all.length ? (hi > lo ? [lo, hi] : [lo - 1, hi + 1]) : [0, 1];
  const x = (s: number) => m.l + (s / maxStep) * (W - m.l - m.r);
  const y = (v: number) => m.t + (1 - (v - vmin) / (vmax - vmin)) * (H - m.t - m.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => vmin + f * (vmax - vmin));
  const esc = (s: string) => s.replace(/[<&>]/g, (c) => ({ '<': '&lt;', '&': '&amp;', '>': '&gt;' })[c] ?? c);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    ...ticks.map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>` +
      `<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(3)}</text>`),
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">step (max ${maxStep})</text>`,
    train.length ? `<path d="${path(train, x, y)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>` : '',
    val.length ? `<path d="${path(val, x, y)}" fill="none" stroke="#d62728" stroke-width="2"/>` : '',
    ...val.map((p) => `<circle cx="${x(p.step).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="#d62728"/>`),
    `<text x="${W - m.r - 140}" y="${m.t + 14}" fill="#1f77b4">— train</text>`,
    `<text x="${W - m.r - 70}" y="${m.t + 14}" fill="#d62728">— validation</text>`,
    '</svg>',
  ].join('\n');
}
