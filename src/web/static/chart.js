// Line charts on uPlot: several series on one step axis (training loss, validation loss, the learning rate
// on its own right-hand scale), vertical markers where warnings or early stopping happened, resized with
// the page. Data is updated in place, so a live curve does not flicker.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './ui.js';

export const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

/** Series of [x, y] points to uPlot's aligned columns (one shared x, null where a series has no point). */
export function align(series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) col[index.get(x)] = y === undefined ? null : y;
    return col;
  });
  return [xs, ...cols];
}

function markerPlugin(getMarkers) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        for (const m of getMarkers()) {
          if (m.x === null || m.x === undefined) continue;
          const x = Math.round(u.valToPos(m.x, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.save();
          ctx.strokeStyle = m.color;
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = m.color;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
          ctx.restore();
        }
      },
    },
  };
}

function options(props, width, getMarkers) {
  const hasRight = props.series.some((s) => s.scale === 'right');
  return {
    width, height: props.height || 260,
    plugins: [markerPlugin(getMarkers)],
    scales: { x: { time: false }, ...(hasRight ? { right: { auto: true } } : {}) },
    axes: [
      // steps are whole numbers: no 2.5 on the axis
      { label: props.xLabel, stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000] },
      { label: props.yLabel, stroke: '#4b5563', grid: { stroke: '#e5e7eb' } },
      ...(hasRight ? [{ scale: 'right', side: 1, label: props.rightLabel, stroke: '#6b7280', grid: { show: false }, size: 70,
        values: (_u, vals) => vals.map((v) => (v === 0 ? '0' : v.toExponential(1))) }] : []),
    ],
    series: [{ label: props.xLabel }, ...props.series.map((s, i) => ({
      label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: s.width || 2, scale: s.scale === 'right' ? 'right' : 'y',
      spanGaps: true, dash: s.dash, points: { show: s.points !== false && s.dots === true, size: 6 },
      value: (_u, v) => (v === null || v === undefined ? '—' : s.scale === 'right' ? v.toExponential(2) : v.toFixed(4)),
    }))],
    legend: { live: true },
  };
}

export function LineChart(props) {
  const box = useRef(null);
  const plot = useRef(null);
  const markers = useRef(props.markers || []);
  const shape = props.series.map((s) => `${s.label}|${s.scale}|${s.color}`).join(';');
  markers.current = props.markers || [];
  useEffect(() => {
    const el = box.current;
    plot.current = new uPlot(options(props, el.clientWidth || 600, () => markers.current), align(props.series), el);
    const ro = new ResizeObserver(() => plot.current && plot.current.setSize({ width: el.clientWidth || 600, height: props.height || 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, [shape, props.height]);
  useEffect(() => {
    if (plot.current) plot.current.setData(align(props.series));
  });
  return html`<div class="chart" ref=${box} role="img" aria-label=${props.ariaLabel || props.yLabel}></div>`;
}

/** A small inline curve for lists (SVG, no axes). */
export function Sparkline({ points, width = 120, height = 28 }) {
  if (!points || points.length < 2) return html`<span class="muted">—</span>`;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]).filter((y) => Number.isFinite(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => ((x - x0) / Math.max(1e-9, x1 - x0)) * (width - 2) + 1;
  const sy = (y) => height - 1 - ((y - y0) / Math.max(1e-9, y1 - y0)) * (height - 2);
  const d = points.filter((p) => Number.isFinite(p[1])).map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
  return html`<svg class="spark" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} aria-hidden="true"><path d=${d} fill="none" stroke="#2563eb" stroke-width="1.5"/></svg>`;
}
