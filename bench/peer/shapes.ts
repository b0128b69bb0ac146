/**
 * DAG shapes for the side-by-side benchmark against IHME Jobmon (`npm run bench:peer`). A shape is
 * plain data — templates, and tasks as (template, node args, upstream task indexes) — written to a
 * JSON file that both bench/peer/jobmon_side.py and bench/peer/our-side.ts read, so the two systems
 * bind exactly the same DAG.
 *
 * Shapes (N = requested size):
 *   wide       1 → N−1 (one root, everything else depends on it)
 *   chain      20 levels of one task each (N is ignored: it measures latency per level)
 *   layered    1 → 100 → 10,000 → 100,000 → 100 → 1, middle widths scaled so the total is N
 *   realistic  prepare → model (location × year × sex) → aggregate per location → summarise
 *   flat       N independent `true` tasks (for the real-path rows: every task runs)
 *   sleepmix   N independent tasks sleeping (i mod 5) + 1 seconds, the same mix on both sides
 */
import { writeFileSync } from 'node:fs';

export interface ShapeTemplate {
  name: string;
  /** Jobmon-style command template: `{arg}` placeholders filled from the node args. */
  command: string;
  nodeArgs: string[];
}

export interface ShapeTask {
  /** Index into Shape.templates. */
  template: number;
  nodeArgs: Record<string, string | number>;
  /** Indexes into Shape.tasks; always smaller than this task's own index. */
  upstream: number[];
}

export interface Shape {
  name: ShapeName;
  /** The size asked for; `tasks.length` is the size built (chain: 20, realistic: close to N). */
  requestedSize: number;
  templates: ShapeTemplate[];
  tasks: ShapeTask[];
  edges: number;
}

export const SHAPE_NAMES = ['wide', 'chain', 'layered', 'realistic', 'flat', 'sleepmix'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

export const CHAIN_LEVELS = 20;
/** Layer widths of the layered shape at full scale (110,202 tasks). */
export const LAYERED_FULL = [1, 100, 10_000, 100_000, 100, 1];
const REALISTIC_YEARS = 10;
const REALISTIC_SEXES = ['male', 'female'];

class Builder {
  readonly templates: ShapeTemplate[] = [];
  readonly tasks: ShapeTask[] = [];
  edges = 0;

  template(name: string, command: string, nodeArgs: string[]): number {
    this.templates.push({ name, command, nodeArgs });
    return this.templates.length - 1;
  }

  task(template: number, nodeArgs: Record<string, string | number>, upstream: number[] = []): number {
    this.tasks.push({ template, nodeArgs, upstream });
    this.edges += upstream.length;
    return this.tasks.length - 1;
  }

  done(name: ShapeName, requestedSize: number): Shape {
    return { name, requestedSize, templates: this.templates, tasks: this.tasks, edges: this.edges };
  }
}

function wide(n: number): Shape {
  const b = new Builder();
  const root = b.task(b.template('root', 'true root {i}', ['i']), { i: 0 });
  const leaf = b.template('leaf', 'true leaf {i}', ['i']);
  for (let i = 1; i < n; i++) b.task(leaf, { i }, [root]);
  return b.done('wide', n);
}

function chain(n: number): Shape {
  const b = new Builder();
  const step = b.template('step', 'true step {i}', ['i']);
  for (let i = 0; i < CHAIN_LEVELS; i++) b.task(step, { i }, i > 0 ? [i - 1] : []);
  return b.done('chain', n);
}

/** Widths of the layered shape for `n` tasks: the full-scale profile shrunk, summing to exactly n. */
export function layeredWidths(n: number): number[] {
  const full = LAYERED_FULL.reduce((a, b) => a + b, 0);
  if (n >= full) {
    const widths = [...LAYERED_FULL];
    widths[3] += n - full;
    return widths;
  }
  // The single source and sink stay single; the middle layers shrink in proportion, at least 1.
  const scale = (n - 2) / (full - 2);
  const widths = LAYERED_FULL.map((w, i) =>
    i === 0 || i === LAYERED_FULL.length - 1 ? 1 : Math.max(1, Math.round(w * scale)),
  );
  widths[3] += n - widths.reduce((a, b) => a + b, 0);
  if (widths[3] < 1) throw new Error(`layered needs at least ${LAYERED_FULL.length} tasks, got ${n}`);
  return widths;
}

function layered(n: number): Shape {
  const b = new Builder();
  let previous: number[] = [];
  layeredWidths(n).forEach((width, level) => {
    const tt = b.template(`level${level}`, `true level${level} {i}`, ['i']);
    const current: number[] = [];
    for (let i = 0; i < width; i++) {
      let upstream: number[] = [];
      if (previous.length > 0) {
        if (width >= previous.length) upstream = [previous[i % previous.length]];
        else {
          // Fan-in: each task gathers an equal share of the level above (as bench/run.ts does).
          const share = Math.ceil(previous.length / width);
          upstream = previous.slice(i * share, Math.min(previous.length, (i + 1) * share));
        }
      }
      current.push(b.task(tt, { i }, upstream));
    }
    previous = current;
  });
  return b.done('layered', n);
}

/** Locations for a realistic shape of about n tasks: 2 + locations × (years × sexes + 1). */
export function realisticLocations(n: number): number {
  return Math.max(1, Math.floor((n - 2) / (REALISTIC_YEARS * REALISTIC_SEXES.length + 1)));
}

function realistic(n: number): Shape {
  const b = new Builder();
  const prepare = b.task(b.template('prepare', 'echo prepare {release}', ['release']), { release: 'r1' });
  const model = b.template('model', 'echo model --loc {location_id} --year {year_id} --sex {sex}', [
    'location_id',
    'year_id',
    'sex',
  ]);
  const aggregate = b.template('aggregate', 'echo aggregate --loc {location_id}', ['location_id']);
  const aggregates: number[] = [];
  const locations = realisticLocations(n);
  for (let l = 0; l < locations; l++) {
    const location = 100 + l;
    const models: number[] = [];
    for (let y = 0; y < REALISTIC_YEARS; y++)
      for (const sex of REALISTIC_SEXES)
        models.push(b.task(model, { location_id: location, year_id: 1990 + y, sex }, [prepare]));
    aggregates.push(b.task(aggregate, { location_id: location }, models));
  }
  b.task(b.template('summarise', 'echo summarise {release}', ['release']), { release: 'r1' }, aggregates);
  return b.done('realistic', n);
}

function flat(n: number): Shape {
  const b = new Builder();
  const tt = b.template('true', 'true {i}', ['i']);
  for (let i = 0; i < n; i++) b.task(tt, { i });
  return b.done('flat', n);
}

function sleepmix(n: number): Shape {
  const b = new Builder();
  // Both systems run commands through a shell; `i` keeps every task's node args distinct.
  const tt = b.template('sleep', 'sleep {seconds} && true {i}', ['seconds', 'i']);
  for (let i = 0; i < n; i++) b.task(tt, { seconds: (i % 5) + 1, i });
  return b.done('sleepmix', n);
}

const BUILDERS: Record<ShapeName, (n: number) => Shape> = { wide, chain, layered, realistic, flat, sleepmix };

export function buildShape(name: ShapeName, size: number): Shape {
  if (!Number.isInteger(size) || size < 10) throw new Error(`shape size must be an integer ≥ 10, got ${size}`);
  return BUILDERS[name](size);
}

export function isShapeName(name: string): name is ShapeName {
  return (SHAPE_NAMES as readonly string[]).includes(name);
}

/** Write the shape as the JSON file both sides read. */
export function writeShape(shape: Shape, file: string): void {
  writeFileSync(file, JSON.stringify(shape));
}
