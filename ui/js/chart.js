/**
 * A small time-series chart drawn as inline SVG: one line (with a soft area
 * under it) over a fixed time window, a zero baseline and a max gridline.
 * Gaps (null values) break the line.
 */
import { h, svg, setText } from './dom.js';

const W = 300;
const H = 90;
const PAD_TOP = 8;
const MIN_SPAN_MS = 60_000;

function spanLabel(ms) {
  const min = Math.round(ms / 60_000);
  return min <= 1 ? '1 min ago' : `${min} min ago`;
}

/**
 * @param {{ key: string, label: string, unit: string, format: (v: number) => string, className?: string }} spec
 * @returns {{ el: HTMLElement, update(points: any[], now: number, windowMs: number): void }}
 */
export function createChart(spec) {
  const value = h('span', { class: 'chart-value' }, '—');
  const maxLabel = h('span', { class: 'chart-max muted small' }, '');
  const area = svg('path', { class: 'chart-area', d: '' });
  const line = svg('path', { class: 'chart-line', d: '', 'vector-effect': 'non-scaling-stroke' });
  const grid = svg('line', {
    class: 'chart-grid',
    x1: 0,
    x2: W,
    y1: PAD_TOP,
    y2: PAD_TOP,
    'vector-effect': 'non-scaling-stroke',
  });
  const base = svg('line', { class: 'chart-base', x1: 0, x2: W, y1: H, y2: H, 'vector-effect': 'non-scaling-stroke' });
  const graphic = svg(
    'svg',
    {
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': `${spec.label}: no data yet`,
      class: 'chart-svg',
    },
    grid,
    base,
    area,
    line,
  );
  const el = h(
    'figure',
    { class: `chart ${spec.className ?? ''}`, 'data-metric': spec.key, 'data-points': '0' },
    h('figcaption', {}, h('span', { class: 'chart-label' }, spec.label), value),
    graphic,
    h('div', { class: 'chart-axis muted small' }, h('span', {}, ''), maxLabel),
  );
  const axisStart = el.querySelector('.chart-axis span');

  return {
    el,
    update(points, now, windowMs) {
      // Show at least a minute, growing to the full window as history builds up.
      const span = Math.min(windowMs, Math.max(MIN_SPAN_MS, points.length ? now - points[0].t : 0));
      const values = points.map((p) => p[spec.key]);
      const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
      const max = Math.max(0, ...finite);
      const top = niceCeil(max);
      const x = (t) => ((t - (now - span)) / span) * W;
      const y = (v) => H - (top > 0 ? (v / top) * (H - PAD_TOP) : 0);
      let d = '';
      let areaD = '';
      let segment = [];
      const flush = () => {
        if (!segment.length) return;
        // A lone point becomes a short flat stroke ending at it, so it stays visible.
        const pts = segment.length === 1 ? [[Math.max(0, segment[0][0] - 4), segment[0][1]], segment[0]] : segment;
        d += `M${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}`;
        areaD += `M${pts[0][0].toFixed(1)},${H}L${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}L${pts[pts.length - 1][0].toFixed(1)},${H}Z`;
        segment = [];
      };
      points.forEach((p, i) => {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          flush();
          return;
        }
        segment.push([Math.max(0, x(p.t)), y(v)]);
      });
      flush();
      line.setAttribute('d', d);
      area.setAttribute('d', areaD);
      const last = [...values].reverse().find((v) => typeof v === 'number' && Number.isFinite(v));
      const current = last === undefined ? '—' : spec.format(last);
      setText(value, current);
      setText(maxLabel, top > 0 ? `max ${spec.format(top)}` : '');
      setText(axisStart, spanLabel(span));
      el.dataset.points = String(finite.length);
      el.dataset.last = last === undefined ? '' : String(last);
      graphic.setAttribute(
        'aria-label',
        finite.length
          ? `${spec.label} over the last ${spanLabel(span).replace(' ago', '')}: now ${current}, peak ${spec.format(max)}`
          : `${spec.label}: no data yet`,
      );
    },
  };
}

/** Round up to 1, 2 or 5 × 10^n so the top gridline reads well. */
export function niceCeil(v) {
  if (!(v > 0)) return 0;
  const exp = Math.floor(Math.log10(v));
  const base = 10 ** exp;
  for (const m of [1, 2, 5, 10]) if (v <= m * base * 1.0000001) return m * base;
  return 10 * base;
}
