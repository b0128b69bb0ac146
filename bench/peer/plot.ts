/**
 * The tasks/s-vs-DAG-size plot of `npm run bench:peer`: an SVG drawn here (log-log, one line per
 * shape and system), rendered to PNG by headless Chromium through playwright-core.
 */
import { writeFileSync } from 'node:fs';

export interface PlotPoint {
  system: 'ours' | 'jobmon';
  shape: string;
  tasks: number;
  tasksPerSecond: number;
  /** A run stopped by the time limit: its tasks / the limit, an upper bound on its rate. */
  timedOut?: boolean;
}

const WIDTH = 900;
const HEIGHT = 560;
const MARGIN = { left: 80, right: 220, top: 50, bottom: 60 };
const COLOURS: Record<string, string> = {
  wide: '#1f77b4',
  layered: '#d62728',
  realistic: '#2ca02c',
  chain: '#9467bd',
};

const decades = (lo: number, hi: number): number[] => {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
};

const label = (v: number): string => (v >= 1000 ? `${v / 1000}k` : String(v));

export function plotSvg(points: PlotPoint[], title: string): string {
  const xs = decades(Math.min(...points.map((p) => p.tasks)), Math.max(...points.map((p) => p.tasks)));
  const ys = decades(
    Math.min(...points.map((p) => p.tasksPerSecond)),
    Math.max(...points.map((p) => p.tasksPerSecond)),
  );
  const [x0, x1] = [Math.log10(xs[0]), Math.log10(xs[xs.length - 1])];
  const [y0, y1] = [Math.log10(ys[0]), Math.log10(ys[ys.length - 1])];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (v: number) => MARGIN.left + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (v: number) => MARGIN.top + plotH - ((Math.log10(v) - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="28" font-size="18" font-weight="bold" text-anchor="middle">${title}</text>`);
  for (const x of xs)
    parts.push(
      `<line x1="${px(x)}" y1="${MARGIN.top}" x2="${px(x)}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`,
      `<text x="${px(x)}" y="${MARGIN.top + plotH + 20}" font-size="13" text-anchor="middle">${label(x)}</text>`,
    );
  for (const y of ys)
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py(y)}" x2="${MARGIN.left + plotW}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(y) + 4}" font-size="13" text-anchor="end">${label(y)}</text>`,
    );
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 15}" font-size="14" text-anchor="middle">tasks in the DAG (log)</text>`,
    `<text transform="translate(22 ${MARGIN.top + plotH / 2}) rotate(-90)" font-size="14" text-anchor="middle">tasks per second of run time (log)</text>`,
  );
  const series = new Map<string, PlotPoint[]>();
  for (const p of points) {
    const key = `${p.system} ${p.shape}`;
    series.set(key, [...(series.get(key) ?? []), p]);
  }
  let legendY = MARGIN.top + 10;
  for (const [key, pts] of [...series.entries()].sort()) {
    const [system, shape] = key.split(' ');
    const colour = COLOURS[shape] ?? '#333';
    const dash = system === 'jobmon' ? ' stroke-dasharray="7 5"' : '';
    const sorted = [...pts].sort((a, b) => a.tasks - b.tasks);
    const d = sorted.map(
      (p, i) => `${i === 0 ? 'M' : 'L'}${px(p.tasks).toFixed(1)},${py(p.tasksPerSecond).toFixed(1)}`,
    );
    parts.push(`<path d="${d.join(' ')}" fill="none" stroke="${colour}" stroke-width="2.5"${dash}/>`);
    for (const p of sorted) {
      const [cx, cy] = [px(p.tasks), py(p.tasksPerSecond)];
      if (p.timedOut) {
        parts.push(
          `<path d="M${cx - 6},${cy - 5} L${cx + 6},${cy - 5} L${cx},${cy + 6} Z" fill="white" stroke="${colour}" stroke-width="2"/>`,
        );
        continue;
      }
      parts.push(
        system === 'jobmon'
          ? `<rect x="${cx - 4}" y="${cy - 4}" width="8" height="8" fill="white" stroke="${colour}" stroke-width="2"/>`
          : `<circle cx="${cx}" cy="${cy}" r="4.5" fill="${colour}"/>`,
      );
    }
    const lx = MARGIN.left + plotW + 20;
    parts.push(
      `<line x1="${lx}" y1="${legendY}" x2="${lx + 36}" y2="${legendY}" stroke="${colour}" stroke-width="2.5"${dash}/>`,
      `<text x="${lx + 44}" y="${legendY + 5}" font-size="13">${system === 'ours' ? 'ours' : 'Jobmon'} ${shape}</text>`,
    );
    legendY += 24;
  }
  if (points.some((p) => p.timedOut))
    parts.push(
      `<text x="${MARGIN.left + plotW + 20}" y="${legendY + 10}" font-size="12">▽ timed out: tasks in the</text>`,
      `<text x="${MARGIN.left + plotW + 20}" y="${legendY + 26}" font-size="12">DAG / time limit (an upper</text>`,
      `<text x="${MARGIN.left + plotW + 20}" y="${legendY + 42}" font-size="12">bound on its rate)</text>`,
    );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Render the SVG to a PNG file with headless Chromium. */
export async function renderPng(svg: string, file: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    writeFileSync(file, await page.locator('svg').screenshot());
  } finally {
    await browser.close();
  }
}
