// SVG charts without a charting library: a layered template DAG, a histogram and a scatter plot.
import { h } from '/ui/vendor/preact.js';
import htm from '/ui/vendor/htm.js';

const html = htm.bind(h);
export const BUCKETS = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];
export const COLORS = {
  PENDING: '#b8c2cf',
  SCHEDULED: '#8fb3e8',
  RUNNING: '#3c7be0',
  DONE: '#2e9e5b',
  FATAL: '#d64541',
};

/** Templates in layers by longest path from a source; boxes with a stacked status bar. */
export function TemplateDag({ dag }) {
  const names = dag.nodes.map((n) => n.template);
  const layer = Object.fromEntries(names.map((n) => [n, 0]));
  // Longest-path layering (templates form a small DAG; bounded passes guard against template cycles).
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const e of dag.edges) {
      if (e.from === e.to) continue;
      if (layer[e.to] < layer[e.from] + 1) {
        layer[e.to] = layer[e.from] + 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const layers = [];
  for (const n of dag.nodes) (layers[layer[n.template]] ??= []).push(n);
  const W = 200,
    H = 54,
    GX = 70,
    GY = 22;
  const pos = {};
  layers.forEach((col, i) =>
    col.forEach((n, j) => {
      pos[n.template] = { x: 10 + i * (W + GX), y: 10 + j * (H + GY) };
    }),
  );
  const width = 20 + layers.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...layers.map((c) => c.length)) * (H + GY) - GY;
  return html`<svg width=${width} height=${height} role="img" aria-label="template DAG">
    <defs>
      <marker
        id="arrow"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        orient="auto-start-reverse"
      >
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a97ab" />
      </marker>
    </defs>
    ${dag.edges
      .filter((e) => e.from !== e.to && pos[e.from] && pos[e.to])
      .map((e) => {
        const a = pos[e.from],
          b = pos[e.to];
        const x1 = a.x + W,
          y1 = a.y + H / 2,
          x2 = b.x,
          y2 = b.y + H / 2,
          mx = (x1 + x2) / 2;
        return html`<path
          d=${`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}
          fill="none"
          stroke="#8a97ab"
          stroke-width="1.5"
          marker-end="url(#arrow)"
          ><title>${e.from} → ${e.to}: ${e.task_edges} task edges</title></path
        >`;
      })}
    ${dag.nodes.map((n) => {
      const p = pos[n.template];
      let x = p.x + 8;
      const bw = W - 16;
      return html`<g>
        <rect
          x=${p.x}
          y=${p.y}
          width=${W}
          height=${H}
          rx="7"
          fill="#fff"
          stroke=${n.buckets.FATAL ? COLORS.FATAL : '#c6cfda'}
          stroke-width=${n.buckets.FATAL ? 2 : 1}
        />
        <text x=${p.x + 8} y=${p.y + 18} font-weight="600"
          >${n.buckets.FATAL ? '✗ ' : ''}${n.template.length > 24 ? n.template.slice(0, 23) + '…' : n.template}</text
        >
        <text x=${p.x + W - 8} y=${p.y + 18} text-anchor="end" fill="#637087">${n.buckets.DONE}/${n.total}</text>
        ${BUCKETS.map((b) => {
          const w = n.total ? (n.buckets[b] / n.total) * bw : 0;
          const r = html`<rect x=${x} y=${p.y + 30} width=${w} height="12" fill=${COLORS[b]}
            ><title>${b}: ${n.buckets[b]}</title></rect
          >`;
          x += w;
          return r;
        })}
        <rect x=${p.x + 8} y=${p.y + 30} width=${bw} height="12" fill="none" stroke="#dde3ea" />
      </g>`;
    })}
  </svg>`;
}

function niceTicks(max, n = 4) {
  if (!(max > 0)) return [0];
  const step = Math.pow(10, Math.floor(Math.log10(max / n)));
  const s = [1, 2, 5, 10].map((m) => m * step).find((v) => max / v <= n) ?? step * 10;
  const out = [];
  for (let v = 0; v <= max + 1e-9; v += s) out.push(v);
  return out;
}

/** Histogram of values, with a dashed line at `marker` (e.g. the requested amount). */
export function Histogram({ values, label, format, marker, markerLabel, width = 420, height = 170 }) {
  if (!values.length) return html`<p class="muted small">No data for ${label}.</p>`;
  const max = Math.max(...values, marker ?? 0) || 1;
  const bins = 20;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
  const top = Math.max(...counts);
  const L = 40,
    B = 28,
    plotW = width - L - 10,
    plotH = height - B - 10;
  return html`<svg width=${width} height=${height} role="img" aria-label=${label}>
    ${counts.map((c, i) => html`<rect x=${L + (i * plotW) / bins + 1} y=${10 + plotH - (c / top) * plotH} width=${plotW / bins - 2} height=${(c / top) * plotH} fill="#3c7be0"><title>${c} tasks</title></rect>`)}
    <line x1=${L} y1=${10 + plotH} x2=${L + plotW} y2=${10 + plotH} stroke="#8a97ab" />
    ${niceTicks(max).map((t) => html`<text x=${L + (t / max) * plotW} y=${height - 10} text-anchor="middle" fill="#637087">${format(t)}</text>`)}
    <text x=${L - 6} y=${16} text-anchor="end" fill="#637087">${top}</text>
    ${marker ? html`<line x1=${L + (marker / max) * plotW} x2=${L + (marker / max) * plotW} y1="8" y2=${10 + plotH} stroke="#d64541" stroke-dasharray="4 3" /><text x=${L + (marker / max) * plotW - 4} y="20" text-anchor="end" fill="#d64541">${markerLabel}</text>` : null}
    <text x=${L + 6} y=${16} font-weight="600">${label}</text>
  </svg>`;
}

/** Runtime (x) against max RSS (y), one dot per DONE instance. */
export function Scatter({ points, fx, fy, width = 420, height = 200 }) {
  if (!points.length) return html`<p class="muted small">No DONE instances yet.</p>`;
  const mx = Math.max(...points.map((p) => p.x)) || 1;
  const my = Math.max(...points.map((p) => p.y)) || 1;
  const L = 52,
    B = 28,
    plotW = width - L - 10,
    plotH = height - B - 10;
  return html`<svg width=${width} height=${height} role="img" aria-label="runtime vs memory">
    <line x1=${L} y1=${10 + plotH} x2=${L + plotW} y2=${10 + plotH} stroke="#8a97ab" />
    <line x1=${L} y1="10" x2=${L} y2=${10 + plotH} stroke="#8a97ab" />
    ${points.slice(0, 3000).map((p) => html`<circle cx=${L + (p.x / mx) * plotW} cy=${10 + plotH - (p.y / my) * plotH} r="3" fill="#2457c5" fill-opacity="0.55"><title>task ${p.id}: ${fx(p.x)}, ${fy(p.y)}</title></circle>`)}
    ${niceTicks(mx).map((t) => html`<text x=${L + (t / mx) * plotW} y=${height - 10} text-anchor="middle" fill="#637087">${fx(t)}</text>`)}
    ${niceTicks(my, 3).map((t) => html`<text x=${L - 5} y=${14 + plotH - (t / my) * plotH} text-anchor="end" fill="#637087">${fy(t)}</text>`)}
  </svg>`;
}
