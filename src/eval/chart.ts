// Grouped bar charts as inline SVG for the HTML report: one group per metric, one bar per system.
import { FONT_STACK } from '../data/html-fonts.js';

export interface BarGroup {
  label: string;
  /** one value per series (null: not measured) */
  values: (number | null)[];
}

export const SERIES_COLOURS = ['#8c8c8c', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#e377c2'];

export const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x: a round top for the axis. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= x * (1 - 1e-12)) return f * p;
  return 10 * p;
}

/** A grouped bar chart; `max` fixes the top of the axis (else the largest value), `fmt` labels the bars. */
export function barChartSvg(title: string, series: string[], groups: BarGroup[], fmt: (v: number) => string, max?: number): string {
  const legendRows = Math.ceil(series.length / 4);
  const m = { l: 48, r: 16, t: 36, b: 34 + 14 * legendRows };
  const barW = 22;
  const groupW = Math.max(90, series.length * barW + 24);
  const W = Math.max(360, m.l + m.r + groups.length * groupW);
  const H = 250 + 14 * legendRows;
  const found = groups.flatMap((g) => g.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const top = max ?? niceCeil(Math.max(1e-9, ...found) * 1.05);
  const y = (v: number) => m.t + (1 - Math.max(0, Math.min(v, top)) / top) * (H - m.t - m.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${escapeXml(FONT_STACK)}" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    ...ticks.map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>` +
      `<text x="${m.l - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#666">${escapeXml(fmt(v))}</text>`),
  ];
  groups.forEach((g, gi) => {
    const x0 = m.l + gi * groupW + (groupW - series.length * barW) / 2;
    g.values.forEach((v, si) => {
      if (v === null || !Number.isFinite(v)) return;
      const x = x0 + si * barW;
      const yy = y(v);
      parts.push(`<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${barW - 4}" height="${(y(0) - yy).toFixed(1)}" fill="${SERIES_COLOURS[si % SERIES_COLOURS.length]}">` +
        `<title>${escapeXml(`${series[si]}: ${fmt(v)}`)}</title></rect>`);
      parts.push(`<text x="${(x + (barW - 4) / 2).toFixed(1)}" y="${(yy - 3).toFixed(1)}" text-anchor="middle" font-size="9">${escapeXml(fmt(v))}</text>`);
    });
    parts.push(`<text x="${(m.l + gi * groupW + groupW / 2).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  series.forEach((s, si) => {
    const x = m.l + (si % 4) * ((W - m.l) / 4);
    const yy = H - m.b + 34 + Math.floor(si / 4) * 14;
    parts.push(`<rect x="${x.toFixed(1)}" y="${yy - 8}" width="10" height="10" fill="${SERIES_COLOURS[si % SERIES_COLOURS.length]}"/>` +
      `<text x="${(x + 14).toFixed(1)}" y="${yy + 1}">${escapeXml(s.length > 40 ? `…${s.slice(-39)}` : s)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
