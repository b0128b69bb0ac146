// SVG charts without a charting library: layered template and task DAGs, a histogram and a scatter plot.
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

/** @import { TaskDag as TaskDagView, TemplateDag as TemplateDagView } from '../../contract/types' */

/**
 * Templates in layers by longest path from a source; boxes with a stacked status bar.
 * @param {{ dag: TemplateDagView }} props
 */
// Long: one small chart's layering, layout and SVG, drawn in one pass (TaskDag, larger, is split).
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

// ------------------------------------------------------------------ task-level DAG
const TD = {
  MIN_W: 110, // node box width: fits the longest name, within these bounds
  MAX_W: 230,
  H: 22,
  GY: 6, // between rows
  GX: 52, // between levels: room for the edge curves
  GS: 12, // between the sub-columns of one wrapped level
  ROWS: 24, // a level with more tasks wraps into sub-columns, so 250 fan-out tasks are not a 7,000 px column
};
// Dark fills take white text; the two pale ones keep the page's text colour.
const TEXT_ON = { PENDING: '#1d2430', SCHEDULED: '#1d2430', RUNNING: '#fff', DONE: '#fff', FATAL: '#fff' };

/**
 * Order within each level to reduce crossings: a few alternating barycentre sweeps (each task moves
 * to the mean position of its neighbours in the levels already placed), starting from template
 * then id so that a template's tasks stay together when nothing pulls them apart. Positions are
 * fractions of the level's size, so levels of very different widths still pull on each other.
 */
/** @param {TaskDagView} dag */
function orderLevels(dag) {
  const levels = [];
  for (const t of dag.tasks) (levels[t.level] ??= []).push(t.id);
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  for (const l of levels) l?.sort((a, b) => byId.get(a).template.localeCompare(byId.get(b).template) || a - b);
  const up = new Map(),
    down = new Map();
  for (const e of dag.edges) {
    (up.get(e.to) ?? up.set(e.to, []).get(e.to)).push(e.from);
    (down.get(e.from) ?? down.set(e.from, []).get(e.from)).push(e.to);
  }
  const pos = new Map();
  const place = (l) => l.forEach((id, i) => pos.set(id, (i + 0.5) / l.length));
  levels.forEach((l) => {
    if (l) place(l);
  });
  const sweep = (l, neighbours) => {
    const key = new Map(
      l.map((id) => {
        const ns = (neighbours.get(id) ?? []).filter((n) => pos.has(n));
        return [id, ns.length ? ns.reduce((s, n) => s + pos.get(n), 0) / ns.length : pos.get(id)];
      }),
    );
    l.sort((a, b) => key.get(a) - key.get(b)); // stable: ties keep template/id order
    place(l);
  };
  for (let pass = 0; pass < 4; pass++) {
    if (pass % 2 === 0) {
      for (let i = 1; i < levels.length; i++) if (levels[i]) sweep(levels[i], up);
    } else {
      for (let i = levels.length - 2; i >= 0; i--) if (levels[i]) sweep(levels[i], down);
    }
  }
  return levels.map((l) => l ?? []);
}

/**
 * Cut in the middle: task names share their start (template, first node args) and differ at the
 * end (`model_loc-101_sex-female_year-1997`), so the end is what tells neighbours apart.
 */
function shorten(text, max) {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return text.slice(0, head) + '…' + text.slice(text.length - (max - 1 - head));
}

// Label widths measured with the SVG text's own font (see style.css), so boxes fit their names.
let measure;
function textWidth(text) {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return text.length * 7;
  measure.font = '12px system-ui, sans-serif';
  return measure.measureText(text).width;
}
function fit(text, px) {
  if (textWidth(text) <= px) return text;
  let keep = text.length - 1;
  while (keep > 4 && textWidth(shorten(text, keep)) > px) keep--;
  return shorten(text, keep);
}

/**
 * Every task of a small workflow, left to right in longest-path levels, coloured by status (the
 * progress bar's palette). Failed tasks get a dark border and ✗; tasks waiting on them a red dashed
 * border, and the edges of those paths are drawn red on top. A click opens the task (`hrefFor`).
 */
/** @param {{ dag: TaskDagView, hrefFor: (taskId: number) => string }} props */
export function TaskDag({ dag, hrefFor }) {
  const { labels, W } = taskLabels(dag);
  const { pos, width, height } = layoutTaskDag(orderLevels(dag), W);
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  const edge = (e) => edgePath(pos.get(e.from), pos.get(e.to), W);
  const drawn = dag.edges.filter((e) => pos.has(e.from) && pos.has(e.to) && e.from !== e.to);
  // Many edges fan through the gaps between wrapped sub-columns: fainter, so the boxes stay legible.
  const edgeOpacity = drawn.length > 120 ? 0.3 : 0.6;
  return html`<svg width=${width} height=${height} role="img" aria-label="task DAG">
    <defs>
      <marker
        id="tdag-arrow"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        markerUnits="userSpaceOnUse"
        orient="auto"
      >
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#9aa6b8" />
      </marker>
      <marker
        id="tdag-arrow-red"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        markerUnits="userSpaceOnUse"
        orient="auto"
      >
        <path d="M 0 0 L 10 5 L 0 10 z" fill=${COLORS.FATAL} />
      </marker>
    </defs>
    <g class="edges">
      ${drawn
        .filter((e) => !e.on_failure_path)
        .map(
          (e) =>
            html`<path
              d=${edge(e)}
              fill="none"
              stroke="#9aa6b8"
              stroke-opacity=${edgeOpacity}
              marker-end="url(#tdag-arrow)"
            />`,
        )}
    </g>
    <g class="failure-edges">
      ${drawn
        .filter((e) => e.on_failure_path)
        .map(
          (e) =>
            html`<path
              d=${edge(e)}
              fill="none"
              stroke=${COLORS.FATAL}
              stroke-width="2"
              marker-end="url(#tdag-arrow-red)"
              ><title>${byId.get(e.from).name} → ${byId.get(e.to).name}: on a path to a failed task</title></path
            >`,
        )}
    </g>
    ${dag.tasks.map((t) => taskNode(t, pos.get(t.id), W, labels.get(t.id), hrefFor))}
  </svg>`;
}

/**
 * Each task's box label, and the box width that fits the widest. Names too long for the widest
 * box first lose their template prefix (`model_loc-1_…` → `loc-1_…`; the template is in the
 * tooltip), for every task of that template alike so the column reads evenly, and only then their
 * middle: the node args that tell neighbours apart stay.
 */
/** @param {TaskDagView} dag */
function taskLabels(dag) {
  const mark = (t) => (t.status === 'F' ? '✗ ' : '');
  const room = TD.MAX_W - 14;
  const stripped = (t) => {
    const rest = t.name.slice(t.template.length);
    return t.name.startsWith(t.template) && /^[^A-Za-z0-9]+./.test(rest) ? rest.replace(/^[^A-Za-z0-9]+/, '') : t.name;
  };
  const dropPrefix = new Set(dag.tasks.filter((t) => textWidth(mark(t) + t.name) > room).map((t) => t.template));
  const labels = new Map(
    dag.tasks.map((t) => [t.id, fit(mark(t) + (dropPrefix.has(t.template) ? stripped(t) : t.name), room)]),
  );
  const widest = Math.max(0, ...[...labels.values()].map((l) => textWidth(l)));
  const W = Math.min(TD.MAX_W, Math.max(TD.MIN_W, Math.ceil(widest) + 18));
  return { labels, W };
}

/** Box positions: a level per column (wrapped into sub-columns past TD.ROWS), each centred vertically. */
function layoutTaskDag(levels, W) {
  const { H, GY, GX, GS, ROWS } = TD;
  const cols = levels.map((l) => Math.max(1, Math.ceil(l.length / ROWS)));
  const rowsIn = levels.map((l, i) => Math.ceil(l.length / cols[i]));
  const maxRows = Math.max(1, ...rowsIn);
  const pos = new Map();
  let x = 10;
  levels.forEach((l, i) => {
    // Each level is centred vertically, so a lone source or sink sits level with its fan.
    const top = 10 + ((maxRows - rowsIn[i]) * (H + GY)) / 2;
    l.forEach((id, j) => {
      const c = Math.floor(j / rowsIn[i]),
        r = j % rowsIn[i];
      pos.set(id, { x: x + c * (W + GS), y: top + r * (H + GY) });
    });
    x += cols[i] * (W + GS) - GS + GX;
  });
  return { pos, width: x - GX + 10, height: 20 + maxRows * (H + GY) - GY };
}

/** A curve from the right edge of box `a` to the left edge of box `b`. */
function edgePath(a, b, W) {
  const { H } = TD;
  const x1 = a.x + W,
    y1 = a.y + H / 2,
    x2 = b.x,
    y2 = b.y + H / 2,
    mx = x1 + Math.max(24, (x2 - x1) / 2);
  return `M${x1},${y1} C${mx},${y1} ${x2 - Math.max(24, (x2 - x1) / 2)},${y2} ${x2 - 1},${y2}`;
}

/** One task's box: coloured by bucket, bordered when failed or waiting on a failure, linked to the task. */
function taskNode(t, p, W, label, hrefFor) {
  const { H } = TD;
  const failed = t.status === 'F';
  return html`<a href=${hrefFor(t.id)} class="dag-task" data-task-id=${t.id}>
    <title>
      ${t.name} (task ${t.id}) · ${t.template} · ${t.status} ${t.status_label} · level
      ${t.level}${t.blocked_by_failure ? ' · waits on a failed task' : ''}
    </title>
    <rect
      x=${p.x}
      y=${p.y}
      width=${W}
      height=${H}
      rx="5"
      fill=${COLORS[t.bucket]}
      stroke=${failed ? '#7d1512' : t.blocked_by_failure ? COLORS.FATAL : 'rgba(0,0,0,.12)'}
      stroke-width=${failed || t.blocked_by_failure ? 2 : 1}
      stroke-dasharray=${t.blocked_by_failure ? '4 2' : null}
    />
    <text x=${p.x + 7} y=${p.y + 15} fill=${TEXT_ON[t.bucket]}>${label}</text>
  </a>`;
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
